// Model presets for make-model and inspect: the config.json files under configs/models/,
// embedded into the binary at build time so the program needs no data directory.
#ifndef DYSCO_PRESETS_H
#define DYSCO_PRESETS_H

#include <cJSON.h>

typedef struct {
    const char *name;         // file name without .json, e.g. "qwen3-8b"
    const char *config_json;  // the file's text
} dy_preset;

extern const dy_preset dy_presets[];
extern const int dy_n_presets;

// NULL when there is no preset of that name.
const dy_preset *dy_preset_find(const char *name);

// After a preset's vocab_size is overridden (test models with small vocabularies): drops the
// bos_token_id / eos_token_id values the smaller vocabulary no longer holds (a config.json
// naming ids outside its vocabulary is refused when read; such ids could never be produced).
void dy_preset_fit_token_ids(cJSON *config_json);

#endif

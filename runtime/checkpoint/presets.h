// Model presets for make-model and inspect: the config.json files under configs/models/,
// embedded into the binary at build time so the program needs no data directory.
#ifndef DYSCO_PRESETS_H
#define DYSCO_PRESETS_H

typedef struct {
    const char *name;         // file name without .json, e.g. "qwen3-8b"
    const char *config_json;  // the file's text
} dy_preset;

extern const dy_preset dy_presets[];
extern const int dy_n_presets;

// NULL when there is no preset of that name.
const dy_preset *dy_preset_find(const char *name);

#endif

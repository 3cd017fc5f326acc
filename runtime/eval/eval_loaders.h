// The loaders of each dataset family behind dy_eval_data_load, and the file reading they share;
// private to runtime/eval.
#ifndef DYSCO_EVAL_LOADERS_H
#define DYSCO_EVAL_LOADERS_H

#include <cJSON.h>

#include "kernels/base/error.h"

// The JSON list in path, parsed: a missing file is "PATH: missing (SOURCE)", where source says
// where the reference gets it.
cJSON *dy_eval_read_list(const char *path, const char *source, dy_error *err);
// list[i][key] when it is a string, else NULL with "PATH: [i].key: ..." in err.
const char *dy_eval_record_string(const cJSON *record, const char *path, int i, const char *key, dy_error *err);

// LongProc's path_walking_{4k..32k}: DIR/longproc/path_walking/NAME.json and its prompts.yaml.
cJSON *dy_eval_load_path_walking(const char *name, const char *data_dir, dy_error *err);
// MRCR's mrcr_{N}needle_{L}: DIR/mrcr/{N}needle_{L}.json, records as they are.
cJSON *dy_eval_load_mrcr(const char *name, const char *data_dir, dy_error *err);

#endif

#include "eval_data.h"

#include "eval_loaders.h"

int dy_eval_data_load(const char *name, dy_eval_family family, const char *data_dir, const char *truncation_tokenizer,
                      dy_eval_data *out, dy_error *err) {
    *out = (dy_eval_data){.filter = family != DY_EVAL_MRCR && family != DY_EVAL_CLIPPER, .shuffle = family != DY_EVAL_CLIPPER};
    if (family == DY_EVAL_PATH_WALKING) out->examples = dy_eval_load_path_walking(name, data_dir, err);
    else if (family == DY_EVAL_MRCR) out->examples = dy_eval_load_mrcr(name, data_dir, err);
    else if (family == DY_EVAL_LONGBENCH_V2) out->examples = dy_eval_load_longbench_v2(name, data_dir, err);
    else if (family == DY_EVAL_CLIPPER) out->examples = dy_eval_load_clipper(name, data_dir, err);
    else if (family == DY_EVAL_HOTPOT) out->examples = dy_eval_load_hotpot(name, data_dir, err);
    else out->examples = dy_eval_load_infbench(name, data_dir, truncation_tokenizer, err);
    return out->examples ? 0 : -1;
}

void dy_eval_data_free(dy_eval_data *d) {
    cJSON_Delete(d->examples);
    d->examples = NULL;
}

const cJSON *dy_eval_example_prompt(const cJSON *example) { return cJSON_GetObjectItemCaseSensitive(example, "input_prompt"); }

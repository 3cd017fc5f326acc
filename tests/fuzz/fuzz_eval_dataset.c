// The data file of one evaluation dataset through dy_eval_data_load, the loader `dysco eval`
// calls. The first byte picks the dataset ('0' + i picks DATASETS[i]; any byte picks one, by its
// distance from '0' modulo their number); the rest is its data file, written where the loader
// looks in this process's data folder. For a dataset of two files (path_walking's data and
// prompts.yaml, hotpot_nocot's questions and demos) the rest is the first file, a NUL byte, then
// the second (further NUL bytes are its own, which its reader must refuse). A load either
// succeeds, each example with a prompt (a string, or MRCR's list of messages), or fails with
// one line naming one of the files.
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "runtime/eval/eval_data.h"
#include "runtime/util/file_util.h"

typedef struct {
    const char *name, *file;  // the dataset name, and its data file under the data folder
    dy_eval_family family;
    const char *second;  // the second file the loader reads, or NULL
} dataset;

static const char PROMPTS[] = "longproc/path_walking/prompts.yaml";
static const char HOTPOT[] = "helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl";

// Every loader, and LongBench v2's three prompt variants (one data file).
static const dataset DATASETS[] = {
    {"path_walking_4k", "longproc/path_walking/path_walking_4k.json", DY_EVAL_PATH_WALKING, PROMPTS},
    {"mrcr_2needle_8k", "mrcr/2needle_8k.json", DY_EVAL_MRCR},
    {"longbenchv2_8k", "lbv2_qr/data_8k.json", DY_EVAL_LONGBENCH_V2},
    {"clipper", "clipper/test-400.json", DY_EVAL_CLIPPER},
    {"longbenchv2_cot_8k", "lbv2_qr/data_8k.json", DY_EVAL_LONGBENCH_V2},
    {"longbenchv2_original_cot_8k", "lbv2_qr/data_8k.json", DY_EVAL_LONGBENCH_V2},
    {"hotpot_cot_8k", HOTPOT, DY_EVAL_HOTPOT},
    {"hotpot_nocot_8k", HOTPOT, DY_EVAL_HOTPOT, "helmet/kilt/hotpotqa-train-multikilt_1000_k3_dep3.jsonl"},
};
enum { N_DATASETS = sizeof DATASETS / sizeof DATASETS[0] };

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    static const char *const dirs[] = {"longproc/path_walking", "mrcr", "lbv2_qr", "clipper", "helmet/kilt"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char path[PATH_MAX];
        dy_error err;
        if (dy_path_join(path, sizeof path, fuzz_temp_dir(), dirs[i], &err) || dy_make_dirs(path, &err)) fuzz_die(err.msg);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const dataset *d = &DATASETS[(uint8_t)(data[0] - '0') % N_DATASETS];
    data++, size--;
    size_t json_len = size;
    char path[PATH_MAX], second[PATH_MAX] = "";
    if (d->second) {
        const uint8_t *nul = memchr(data, '\0', size);
        json_len = nul ? (size_t)(nul - data) : size;
        const size_t second_at = nul ? json_len + 1 : size;
        fuzz_write(d->second, data + second_at, size - second_at, second);
    }
    fuzz_write(d->file, data, json_len, path);
    dy_eval_data out;
    dy_error err;
    if (dy_eval_data_load(d->name, d->family, fuzz_temp_dir(), NULL, &out, &err)) {
        const char *const names[] = {path, second[0] ? second : path, NULL};
        fuzz_check_error(&err, names);
        return 0;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, out.examples) {
        const cJSON *prompt = dy_eval_example_prompt(e);
        if (!cJSON_IsString(prompt) && !cJSON_IsArray(prompt)) abort();
    }
    dy_eval_data_free(&out);
    return 0;
}

// The loaders of each dataset family behind dy_eval_data_load (eval_load_*.c), and the file
// reading they share (eval_read.c); private to runtime/eval.
#ifndef DYSCO_EVAL_LOADERS_H
#define DYSCO_EVAL_LOADERS_H

#include <cJSON.h>

#include "kernels/base/error.h"

// The longest prompt a loader builds: 16 MiB. A loader's template can multiply its fields' text
// (LongBench v2's chained replace fills in marks that earlier fields put in, a prompts.yaml can
// name a field many times, CLIPPER repeats the last text of an idx at each of its paragraphs), so
// a data file of a megabyte could ask for gigabytes, as it would of the reference. A longer
// prompt is an error naming the example: it holds more than 128K tokens of Llama-3.1's tokenizer
// (the length filter's, whose longest token is 128 bytes), more than the longest context of the
// reference's datasets and of the models it runs. (The bound is per example: many examples near
// it still take memory in proportion, as they would in the reference.)
#define DY_EVAL_MAX_PROMPT ((size_t)16 << 20)

// The bytes of the file at path (*len of them, NUL-terminated, malloc'd): a missing file is
// "PATH: missing (SOURCE)", where source says where the reference gets it.
char *dy_eval_read_source(const char *path, const char *source, size_t *len, dy_error *err);
// The JSON value in path, parsed (a missing file as above).
cJSON *dy_eval_read_json(const char *path, const char *source, dy_error *err);
// The JSON list in path, parsed (a missing file as above).
cJSON *dy_eval_read_list(const char *path, const char *source, dy_error *err);
// The records of the JSON Lines file at path, one JSON value per line (blank lines skipped, as
// datasets' json loader skips them), as a list, with the line of each in *lines (malloc'd). A
// missing file is "PATH: missing (SOURCE)", a bad line "PATH: line N: PROBLEM".
cJSON *dy_eval_read_jsonl(const char *path, const char *source, int **lines, dy_error *err);
// One record of a data file as the loader's example, or NULL with err set.
typedef cJSON *dy_eval_example_fn(const cJSON *record, const char *path, int i, const void *ctx, dy_error *err);
// The examples of records (which it frees) through example, in order; NULL at the first error.
cJSON *dy_eval_map_records(cJSON *records, const char *path, dy_eval_example_fn *example, const void *ctx, dy_error *err);
// list[i][key] when it is a string, else NULL with "PATH: [i].key: ..." in err.
const char *dy_eval_record_string(const cJSON *record, const char *path, int i, const char *key, dy_error *err);

// LongProc's path_walking_{4k..32k}: DIR/longproc/path_walking/NAME.json and its prompts.yaml.
cJSON *dy_eval_load_path_walking(const char *name, const char *data_dir, dy_error *err);
// MRCR's mrcr_{N}needle_{L}: DIR/mrcr/{N}needle_{L}.json, records as they are.
cJSON *dy_eval_load_mrcr(const char *name, const char *data_dir, dy_error *err);

// LongBench v2's longbenchv2_[cot_|original_cot_]{L}, longbenchv2_128k_sp1/sp2: DIR/lbv2_qr/data_{L}.json.
cJSON *dy_eval_load_longbench_v2(const char *name, const char *data_dir, dy_error *err);
// HELMET's hotpot_nocot_{L}, hotpot_cot_{L} (L 8k..128k): DIR/helmet/kilt/hotpotqa-*.jsonl.
cJSON *dy_eval_load_hotpot(const char *name, const char *data_dir, dy_error *err);
// HELMET's infbench_qa_eng_{L}, infbench_choice_eng_{L}: the datasets folder
// DIR/helmet/longqa/infbench, contexts cut with the Llama-2 tokenizer in truncation_tokenizer.
cJSON *dy_eval_load_infbench(const char *name, const char *data_dir, const char *truncation_tokenizer, dy_error *err);
// CLIPPER's clipper[_sp1|_sp2]: DIR/clipper/test-400[_sp1|_sp2].json.
cJSON *dy_eval_load_clipper(const char *name, const char *data_dir, dy_error *err);

#endif

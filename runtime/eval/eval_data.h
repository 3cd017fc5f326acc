// The examples of a dataset as the reference's loaders return them (data_utils.load_eval_data),
// read from its layout under a data folder (run_eval.py's data_eval/), and what run_eval.py does
// with each family: which ones the length filter applies to and which ones --test-size shuffles.
#ifndef DYSCO_EVAL_DATA_H
#define DYSCO_EVAL_DATA_H

#include <stdbool.h>

#include <cJSON.h>

#include "eval_dataset.h"
#include "kernels/base/error.h"

typedef struct {
    cJSON *examples;  // a list of the loader's examples: {input_prompt, reference_output, item}, or MRCR's records
    bool filter;      // run_eval.py's length filter applies (every family but MRCR and CLIPPER)
    bool shuffle;     // --test-size shuffles before it truncates (every family but CLIPPER)
} dy_eval_data;

// The dataset's examples (name as --dataset gives it, family its scorer's). A missing file is
// one error naming the path and where the reference gets it. truncation_tokenizer is the folder
// of the Llama-2 tokenizer.json that InfiniteBench's contexts are cut with (read for infbench_*
// only).
int dy_eval_data_load(const char *name, dy_eval_family family, const char *data_dir, const char *truncation_tokenizer,
                      dy_eval_data *out, dy_error *err);
void dy_eval_data_free(dy_eval_data *d);

// An example's prompt: input_prompt, a string (one user message) or MRCR's list of messages.
const cJSON *dy_eval_example_prompt(const cJSON *example);

#endif

// The examples of a dysco eval run, in run_eval.py's order of steps: the dataset's examples (its
// loader), the length filter (the prompt as Llama-3.1-8B-Instruct's tokenizer and chat template
// count it must leave max_tokens + 16 of max_model_len), --test-size's shuffle (random.seed(seed),
// random.shuffle) and cut, then each chosen example's prompt as the model's own token ids.
#ifndef DYSCO_CLI_EVAL_EXAMPLES_H
#define DYSCO_CLI_EVAL_EXAMPLES_H

#include <stdbool.h>
#include <stdint.h>

#include <cJSON.h>

#include "cli_session.h"
#include "runtime/eval/eval_data.h"

typedef struct {
    const char *dataset, *data_dir;
    const char *filter_tokenizer;      // the folder of the length filter's tokenizer.json and tokenizer_config.json
    const char *truncation_tokenizer;  // the folder of InfiniteBench's Llama-2 tokenizer.json
    dy_eval_family family;
    int64_t max_model_len, max_tokens, test_size, seed;
    bool think;
} dy_cli_eval_select;

typedef struct {
    dy_eval_data data;
    int n_loaded, n_kept;   // the loader's examples, and those the length filter kept
    int n;                  // the run's examples:
    const cJSON **chosen;   // (n) into data.examples, in run order
    int *index;             // (n) each one's position in the data file
    dy_tokens *prompts;     // (n) its prompt through the model's tokenizer and chat template
} dy_cli_eval_examples;

int dy_cli_eval_examples_load(const dy_cli_eval_select *o, dy_cli_session *model, dy_cli_eval_examples *ex,
                              dy_error *err);
void dy_cli_eval_examples_free(dy_cli_eval_examples *ex);

#endif

// The logits fixtures of tests/hf_reference_dumps.py (logits_*.json: transformers in fp32 on the
// CPU; bf16_logits_*.json: in bf16 on the GPU): reading them, rebuilding their checkpoint with
// make-model, and feeding a backend their prompt and cached steps. Shared by test_reference.c
// and gpu/test_cuda_reference.c. A problem ends the running cmocka test with one line naming the
// file and the field.
#ifndef DYSCO_REFERENCE_FIXTURE_H
#define DYSCO_REFERENCE_FIXTURE_H

#include <cJSON.h>

#include "runtime/model/model.h"

// The parsed JSON file (cJSON_Delete it).
cJSON *fixture_load(const char *path);

// Runs `dysco make-model DIR <make_model_args>` and checks every file against checkpoint_sha256.
void fixture_make_checkpoint(const char *dysco_bin, const cJSON *fixture, const char *dir);

// One logits row of a logits fixture next to the model's.
typedef struct {
    const char *path;       // the fixture file
    const cJSON *fixture;   // its parsed JSON
    const char *what;       // "position 63" or "step 2 (position 302)"
    int row;                // 0.. over the positions, then the steps
    int step;               // -1 for prompt positions
    const float *got, *want;
    int vocab;
} fixture_row;

typedef void (*fixture_row_fn)(const fixture_row *row, void *ctx);

// Rebuilds the checkpoint of the logits fixture at path, loads it on be and feeds it the fixture's
// tokens: a prefill up to each recorded position (whose logits come out last), then the steps one
// token each through the KV cache; calls fn on every row. Returns the number of rows.
int fixture_run_logits(const char *dysco_bin, const char *path, dy_backend *be, fixture_row_fn fn, void *ctx);

// ||got - want|| / ||want|| over n values, summed in double.
double logits_rel_error(const float *got, const float *want, int n);

#endif

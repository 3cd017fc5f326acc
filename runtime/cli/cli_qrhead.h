// What dysco detect-heads and dysco retrieve share: the checkpoint and its tokenizer, the scoring
// prompts of every example (query and null query) built before the model loads, so that a span
// that cannot be found fails before any work, and the model sized for the longest of them.
#ifndef DYSCO_CLI_QRHEAD_H
#define DYSCO_CLI_QRHEAD_H

#include "cli_session.h"
#include "runtime/qrhead/qrhead_data.h"
#include "runtime/qrhead/qrhead_prompt.h"

typedef struct {
    dy_cli_session s;
    dy_qr_data data;    // the examples (retrieve: one, the query over the docs file)
    dy_qr_pair *pairs;  // (data.n), after dy_cli_qrhead_start
} dy_cli_qrhead;

// With rc, this rank's result so far (reading the data): opens the checkpoint, builds the pairs
// (errors name data_path and the example), starts the backend on every rank and loads the model
// (its shard). Returns the exit status, the ranks agreeing on it.
int dy_cli_qrhead_start(dy_cli_qrhead *q, const char *model_dir, const char *data_path, const char *null_query,
                        const char *device, dy_comm *comm, int rc, dy_error *err);
void dy_cli_qrhead_close(dy_cli_qrhead *q);

// The DySCO settings a detected head list goes with when no base config is given: the
// reference's values for Qwen3-8B and Llama-3.1-8B (configs/dysco/*.yaml: hybrid selection,
// nucleus 0.975 capped at 4096 tokens, strength 2, decay 0.75, Wc 8, Wi 'auto'), and the model's
// chat-template headers, tokenized, as the sequences never up-weighted.
int dy_cli_qrhead_default_dysco(dy_cli_session *s, dy_dysco_config *c, dy_error *err);

#endif

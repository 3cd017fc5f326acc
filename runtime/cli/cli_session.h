// The model side of a run that generate, score and eval share: the method options (the same rows
// in each verb's table), the checkpoint folder's tokenizer and chat template, prompts through
// them, DySCO's settings resolved against the model, the stop ids, and the model loaded on its
// backend (its shard on each rank under tensor parallelism).
#ifndef DYSCO_CLI_SESSION_H
#define DYSCO_CLI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cli_args.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/dysco/dysco_config.h"
#include "runtime/generate/generate.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

// --method, --attn-temperature, --dysco-config and the DySCO overrides, as the verbs read them.
typedef struct {
    const char *method, *dysco_config, *dysco_heads, *interv_warmup;
    double attn_temperature;
    bool dysco_static, rescale_template;
    bool has_select_top_k, has_select_top_p, has_strength, has_decay, has_ctx_warmup;
    int64_t select_top_k, ctx_warmup;
    double select_top_p, strength, decay;
} dy_cli_method_opts;

enum { DY_CLI_METHOD_ROWS = 14 };  // the rows dy_cli_method_rows writes
// The rows of those options (two headings among them) for a verb's table, pointing into o.
void dy_cli_method_rows(dy_cli_method_opts *o, dy_option rows[DY_CLI_METHOD_ROWS]);
// What the table cannot say (method named, attnsharp's temperature, the overrides' ranges), with
// the method parsed into *method.
int dy_cli_method_check(const dy_cli_method_opts *o, const char *verb, dy_method *method, dy_error *err);

typedef struct {
    const char *dir;        // the checkpoint folder
    dy_checkpoint ck;
    dy_tokenizer *tok;      // NULL when the folder has no tokenizer.json
    dy_chat_template tmpl;  // when chat
    bool chat;
    dy_dysco_config dysco;  // after dy_cli_session_dysco
    int interv_warmup;      // Wi, 'auto' counted
    dy_tokens stops;        // after dy_cli_session_stops
    dy_comm *comm;          // the job's, and
    dy_comm *ops;           // the one for the backend's memory (comm itself, or NCCL's): after dy_cli_session_backend
    dy_backend *be;
    dy_model model;         // after dy_cli_session_load
} dy_cli_session;

// Opens the checkpoint, its tokenizer when the folder has one, and with chat its template.
// Free with dy_cli_session_close also on failure.
int dy_cli_session_open(dy_cli_session *s, const char *dir, bool chat, dy_error *err);
// The prompt's ids: through the chat template (generation prompt on; enable_thinking = think),
// or without chat the one message's text as is.
int dy_cli_session_encode(dy_cli_session *s, const dy_chat_message *msgs, int n, bool think, dy_tokens *out,
                          dy_error *err);
// DySCO's config: the YAML, then the overrides, validated against the model; Wi 'auto' from the
// chat template (2 without one, as run_eval).
int dy_cli_session_dysco(dy_cli_session *s, const dy_cli_method_opts *o, bool think, dy_error *err);
// The stop ids: config.json's and generation_config.json's EOS, stop_ids ("1,2" or NULL), and
// with stop_on_newline the tokens of "\n" and "\n\n".
int dy_cli_session_stops(dy_cli_session *s, const char *stop_ids, bool stop_on_newline, dy_error *err);
// The backend of device on this rank and the communicator for its memory, once every rank agrees
// on rc, its preparation so far (dy_cli_job_backend). Returns the exit status.
int dy_cli_session_backend(dy_cli_session *s, dy_comm *comm, const char *device, bool nccl, int rc, dy_error *err);
// The model (this rank's shard) with room for a prompt of prompt_len tokens and new_tokens more;
// what names the prompt in the error when they exceed the model's max_position_embeddings ("prompt").
int dy_cli_session_load(dy_cli_session *s, int prompt_len, int new_tokens, const char *what, dy_error *err);
void dy_cli_session_close(dy_cli_session *s);

#endif

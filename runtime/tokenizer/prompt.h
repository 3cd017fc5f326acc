// Prompts as token ids: a chat rendered by the model's template and tokenized the way
// transformers' apply_chat_template does (special-token text matched, no post-processor tokens),
// the JSON message lists that scripts pass, and DySCO's `intervention_warmup: auto`.
#ifndef DYSCO_PROMPT_H
#define DYSCO_PROMPT_H

#include <cJSON.h>

#include "chat_template.h"
#include "tokenizer.h"

int dy_prompt_encode_chat(dy_tokenizer *tok, const dy_chat_template *tmpl, const dy_chat_message *msgs, int n,
                          bool add_generation_prompt, int enable_thinking, dy_tokens *out, dy_error *err);

// Number of generation-prompt tokens: ids of [{"role": "user", "content": "Hi"}] with the
// generation prompt minus ids without it (runtime/dysco/README.md §8). enable_thinking as in
// dy_chat_render.
int dy_prompt_auto_warmup(dy_tokenizer *tok, const dy_chat_template *tmpl, int enable_thinking, int *n, dy_error *err);

// A JSON list of {"role", "content"[, "reasoning_content"]} as chat messages pointing into the
// cJSON tree (which must outlive them); *msgs is malloc'd. `where` names the source in errors.
int dy_prompt_messages_from_json(const cJSON *list, const char *where, dy_chat_message **msgs, int *n, dy_error *err);

// Token ids from {"input_ids": [...]} or a bare JSON array (whole numbers below 2^31; the model
// checks its vocabulary), appended to out. json is len bytes (a NUL byte among them is an error).
// `where` names the source and the entry ("[3]") in errors.
int dy_prompt_ids_from_json(const char *json, size_t len, const char *where, bool allow_empty, dy_tokens *out,
                            dy_error *err);

#endif

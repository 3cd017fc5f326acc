// One line of `dysco tokenize --batch`: a JSON object {"text": ..., "add_special_tokens": bool} or
// {"messages": [...], "add_generation_prompt": bool, "enable_thinking": bool}, turned into token
// ids. Apart from the verb so that the fuzz target of the format (tests/fuzz) runs the same code.
#ifndef DYSCO_CLI_BATCH_H
#define DYSCO_CLI_BATCH_H

#include <stddef.h>

#include "runtime/tokenizer/prompt.h"

// Appends the ids of the line (len bytes, the whole line as read) to ids. tmpl is the model's chat
// template, or NULL when it has none that is recognised (a "messages" line is then an error).
// `where` ("FILE:LINE") prefixes the error.
int dy_cli_batch_line(dy_tokenizer *tok, const dy_chat_template *tmpl, const char *line, size_t len, const char *where,
                      dy_tokens *ids, dy_error *err);

#endif

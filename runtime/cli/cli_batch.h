// JSONL input of the verbs: the line loop that `dysco tokenize --batch` and `dysco eval score
// --input` share, and one line of `dysco tokenize --batch`: a JSON object {"text": ...,
// "add_special_tokens": bool} or {"messages": [...], "add_generation_prompt": bool,
// "enable_thinking": bool}, turned into token ids. Apart from the verbs so that the fuzz target of
// the format (tests/fuzz) runs the same code.
#ifndef DYSCO_CLI_BATCH_H
#define DYSCO_CLI_BATCH_H

#include <stddef.h>

#include "runtime/tokenizer/prompt.h"

// What is done with one line: len bytes as read (its newline included), `where` is "FILE:LINE".
typedef int (*dy_cli_jsonl_line)(const char *line, size_t len, const char *where, void *ctx, dy_error *err);

// Calls each(line, ..., ctx) for every line of the file at path that is not blank (spaces, tabs,
// CR), in order, and stops at the first that fails. A line is passed whole, so a NUL byte in it
// is the line's parser's to refuse (dy_json_parse names its byte), not the end of the line.
int dy_cli_jsonl_each_line(const char *path, dy_cli_jsonl_line each, void *ctx, dy_error *err);

// Appends the ids of the line (len bytes, the whole line as read) to ids. tmpl is the model's chat
// template, or NULL when it has none that is recognised (a "messages" line is then an error).
// `where` ("FILE:LINE") prefixes the error.
int dy_cli_batch_line(dy_tokenizer *tok, const dy_chat_template *tmpl, const char *line, size_t len, const char *where,
                      dy_tokens *ids, dy_error *err);

#endif

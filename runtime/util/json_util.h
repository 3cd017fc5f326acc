// Parsing JSON text with cJSON and saying why it failed, for the one-line errors of every reader.
#ifndef DYSCO_JSON_UTIL_H
#define DYSCO_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

#include "kernels/base/error.h"

// The parsed text (len bytes, no NUL needed), or NULL with why in problem (n bytes). One rule for
// every JSON file the runtime reads: the value is the whole text (whitespace may follow, as the
// spaces that pad a safetensors header); the text holds no NUL byte; strings are UTF-8 without
// raw control characters and hold no U+0000 (escaped) and no lone UTF-16 surrogate; no object
// names a key twice. Errors name the byte where the parser stopped, or the byte, escape, key or
// trailing bytes at fault.
cJSON *dy_json_parse(const char *text, size_t len, char *problem, size_t n);

// The JSON file at path read and parsed by that rule, or NULL with err "PATH: why".
cJSON *dy_json_read_file(const char *path, dy_error *err);


// Whether v is a token id below limit: a JSON number that is a whole number in [0, limit). The one
// test every reader of ids applies (config.json, generation_config.json, tokenizer.json, prompt
// ids). On false, why (n bytes) is the problem, for a line "FILE: FIELD: <why>"; limit_name says
// what the limit is ("vocab_size"): "expected a token id (a whole number >= 0), got a string",
// "... got 1.5", "1e+300 is not below vocab_size 1000".
bool dy_json_token_id(const cJSON *v, long limit, const char *limit_name, long *id, char *why, size_t n);

#endif

// Parsing JSON text with cJSON and saying why it failed, for the one-line errors of every reader.
#ifndef DYSCO_JSON_UTIL_H
#define DYSCO_JSON_UTIL_H

#include <stddef.h>

#include <cJSON.h>

// The parsed text (len bytes, no NUL needed), or NULL with why in problem (n bytes). One rule for
// every JSON file the runtime reads: the value is the whole text (whitespace may follow, as the
// spaces that pad a safetensors header), the text holds no NUL byte, no string holds U+0000 or a
// lone UTF-16 surrogate, and no object names a key twice. Errors name the byte where the parser stopped, or the escape, key
// or trailing bytes at fault.
cJSON *dy_json_parse(const char *text, size_t len, char *problem, size_t n);

#endif

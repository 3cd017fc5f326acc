// Parsing JSON text with cJSON and saying why it failed, for the one-line errors of every reader.
#ifndef DYSCO_JSON_UTIL_H
#define DYSCO_JSON_UTIL_H

#include <stddef.h>

#include <cJSON.h>

// The parsed text (len bytes, no NUL needed), or NULL with why in problem (n bytes): "not valid
// JSON at byte B", or the lone UTF-16 surrogate escape that cJSON refuses without saying so.
cJSON *dy_json_parse(const char *text, size_t len, char *problem, size_t n);

#endif

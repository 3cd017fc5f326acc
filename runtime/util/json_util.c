#include "json_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>

// The 16-bit value of the escape "\uXXXX" at s (6 bytes available), or -1.
static long escape_at(const char *s, size_t avail) {
    if (avail < 6 || s[0] != '\\' || s[1] != 'u') return -1;
    long v = 0;
    for (int i = 2; i < 6; i++) {
        if (!isxdigit((unsigned char)s[i])) return -1;
        v = v * 16 + (isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
    }
    return v;
}

// The first escape in [0, end) that is a surrogate without its partner, or -1. Escaped
// backslashes ("\\\\u...") are skipped, as the parser skips them.
static long lone_surrogate(const char *text, size_t len, size_t end, long *value) {
    for (size_t i = 0; i < end && i < len; i++) {
        if (text[i] != '\\') continue;
        const long v = escape_at(text + i, len - i);
        if (v < 0) {
            i++;  // "\\x": the escaped character is not the start of another escape
            continue;
        }
        const bool high = v >= 0xD800 && v <= 0xDBFF, low = v >= 0xDC00 && v <= 0xDFFF;
        if (high) {
            const long next = escape_at(text + i + 6, len - i - 6);  // i + 6 <= len: the escape at i is whole;
            if (next >= 0xDC00 && next <= 0xDFFF) {
                i += 11;
                continue;
            }
        }
        if (high || low) {
            *value = v;
            return (long)i;
        }
        i += 5;
    }
    return -1;
}

cJSON *dy_json_parse(const char *text, size_t len, char *problem, size_t n) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (root) return root;
    const size_t at = end && end >= text ? (size_t)(end - text) : len;
    long value;
    const long s = lone_surrogate(text, len, at + 1, &value);
    if (s >= 0)
        snprintf(problem, n, "not valid JSON: the escape \\u%04lx at byte %ld is a lone UTF-16 surrogate (not a character)",
                 value, s);
    else
        snprintf(problem, n, "not valid JSON at byte %zu", at);
    return NULL;
}

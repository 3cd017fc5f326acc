#include "json_util.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash_map.h"
#include "huge_pages.h"

// The 16-bit value of the escape "\uXXXX" at s (avail bytes there), or -1.
static long escape_at(const char *s, size_t avail) {
    if (avail < 6 || s[0] != '\\' || s[1] != 'u') return -1;
    long v = 0;
    for (int i = 2; i < 6; i++) {
        if (!isxdigit((unsigned char)s[i])) return -1;
        v = v * 16 + (isdigit((unsigned char)s[i]) ? s[i] - '0' : (tolower((unsigned char)s[i]) - 'a' + 10));
    }
    return v;
}

// The byte offset of the first escape in [0, end) that is not a character a C string can hold:
// a UTF-16 surrogate without its partner (cJSON refuses those without saying why) or U+0000
// (which cJSON stores as the end of the string, so "name\u0000junk" would read as "name").
// -1 when there is none. Escaped backslashes are skipped as the parser skips them.
static long bad_escape(const char *text, size_t len, size_t end, long *value) {
    for (size_t i = 0; i < end && i < len; i++) {
        if (text[i] != '\\') continue;
        const long v = escape_at(text + i, len - i);
        if (v < 0) {
            i++;  // "\x": the escaped character does not start another escape
            continue;
        }
        const bool high = v >= 0xD800 && v <= 0xDBFF, low = v >= 0xDC00 && v <= 0xDFFF;
        if (high) {
            const long next = escape_at(text + i + 6, len - i - 6);  // i + 6 <= len: the escape at i is whole
            if (next >= 0xDC00 && next <= 0xDFFF) {
                i += 11;
                continue;
            }
        }
        if (high || low || v == 0) {
            *value = v;
            return (long)i;
        }
        i += 5;
    }
    return -1;
}

// The first member of object o (n members) whose key an earlier member has, or NULL. The keys go
// through a table of their hashes: sorting them made this check the slowest part of loading a
// tokenizer.json (an object of 151k keys). Out of memory counts as none found.
static const char *repeated_key(const cJSON *o, size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    struct {
        uint64_t hash;
        const char *key;
    } *seen = calloc(cap, sizeof *seen);
    if (!seen) return NULL;
    dy_advise_huge_pages(seen, cap * sizeof *seen);
    const char *dup = NULL;
    for (const cJSON *c = o->child; c && !dup; c = c->next) {
        const uint64_t h = dy_hash_bytes(c->string, strlen(c->string));
        for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1)) {
            if (!seen[i].key) {
                seen[i].hash = h;
                seen[i].key = c->string;
                break;
            }
            if (seen[i].hash == h && strcmp(seen[i].key, c->string) == 0) {
                dup = c->string;
                break;
            }
        }
    }
    free(seen);
    return dup;
}

// The first key found twice in one object of the tree (cJSON keeps both and lookups see the
// first: the second would be silently ignored), or NULL.
static const char *duplicate_key(const cJSON *item) {
    for (; item; item = item->next) {
        if (cJSON_IsObject(item) && item->child && item->child->next) {
            size_t n = 0;
            for (const cJSON *c = item->child; c; c = c->next) n++;
            const char *dup = repeated_key(item, n);
            if (dup) return dup;
        }
        if (item->child) {
            const char *dup = duplicate_key(item->child);
            if (dup) return dup;
        }
    }
    return NULL;
}

cJSON *dy_json_parse(const char *text, size_t len, char *problem, size_t n) {
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    const size_t at = end && end >= text ? (size_t)(end - text) : len;
    long value;
    const long bad = bad_escape(text, len, root ? len : at + 1, &value);
    if (bad >= 0) {
        snprintf(problem, n, "not valid JSON: the escape \\u%04lx at byte %ld is %s", value, bad,
                 value == 0 ? "a NUL character (not allowed in names or values)"
                            : "a lone UTF-16 surrogate (not a character)");
        cJSON_Delete(root);
        return NULL;
    }
    if (!root) {
        snprintf(problem, n, "not valid JSON at byte %zu", at);
        return NULL;
    }
    size_t rest = at;
    while (rest < len && (text[rest] == ' ' || text[rest] == '\t' || text[rest] == '\n' || text[rest] == '\r')) rest++;
    if (rest < len) {
        snprintf(problem, n, "not valid JSON: bytes after the JSON value (from byte %zu)", rest);
        cJSON_Delete(root);
        return NULL;
    }
    const char *dup = duplicate_key(root);
    if (dup) {
        snprintf(problem, n, "not valid JSON: key \"%.60s\" appears twice in one object", dup);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

#include "json_util.h"

#include "file_util.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/base/error.h"
#include "utf8.h"
#include "hash_map.h"
#include "kernels/base/huge_pages.h"

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

// Whether a string in [0, end) holds a byte or escape that no reader could take as written, with
// why in problem (n bytes). cJSON takes most of them without a word, and C strings then say
// something else: an escaped U+0000 or a raw NUL byte ends the string early ("name\u0000junk"
// reads as "name"), raw control characters and invalid UTF-8 pass into names and messages. A
// UTF-16 surrogate escape without its partner makes cJSON fail without saying why. Strings are
// followed as the parser reads them (end is where it stopped); bytes between values are its own
// to judge.
static bool string_problem(const char *text, size_t len, size_t end, char *problem, size_t n) {
    bool in_string = false;
    for (size_t i = 0; i < end && i < len; i++) {
        const unsigned char c = (unsigned char)text[i];
        if (c == '"') {
            in_string = !in_string;
            continue;
        }
        if (!in_string) continue;
        if (c < 0x20) {
            snprintf(problem, n, "not valid JSON: a raw control character (byte 0x%02x) in a string at byte %zu", c, i);
            return true;
        }
        if (c >= 0x80) {
            int prefix;
            const int k = dy_utf8_sequence((const unsigned char *)text + i, len - i, &prefix);
            if (k == 0) {
                snprintf(problem, n, "not valid JSON: invalid UTF-8 at byte %zu", i);
                return true;
            }
            i += (size_t)k - 1;
            continue;
        }
        if (c != '\\') continue;
        const long v = escape_at(text + i, len - i);
        if (v < 0) {
            i++;  // "\x": the escaped character ends nothing and starts no other escape
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
            snprintf(problem, n, "not valid JSON: the escape \\u%04lx at byte %zu is %s", v, i,
                     v == 0 ? "a NUL character (not allowed in names or values)"
                            : "a lone UTF-16 surrogate (not a character)");
            return true;
        }
        i += 5;
    }
    return false;
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
    // cJSON takes a NUL byte inside a string for part of it, where C then ends the string
    // ("name<NUL>junk" read as "name"); JSON text holds none anywhere.
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        snprintf(problem, n, "not valid JSON: a NUL byte at byte %zu", (size_t)(nul - text));
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    const size_t at = end && end >= text ? (size_t)(end - text) : len;
    if (string_problem(text, len, root ? at : at + 1, problem, n)) {
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
        char quoted[61];  // a key may hold a newline
        snprintf(problem, n, "not valid JSON: key \"%s\" appears twice in one object", dy_error_text(dup, quoted, sizeof quoted));
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

// The shortest of %.15g and %.17g that reads back as d (cJSON prints numbers the same way).
static void format_number(double d, char *out, size_t n) {
    snprintf(out, n, "%.15g", d);
    if (strtod(out, NULL) != d) snprintf(out, n, "%.17g", d);
}

static const char *type_name(const cJSON *v) {
    return cJSON_IsString(v) ? "a string" : cJSON_IsTrue(v) ? "true" : cJSON_IsFalse(v) ? "false"
           : cJSON_IsNull(v) ? "null" : cJSON_IsArray(v) ? "a list" : cJSON_IsObject(v) ? "an object" : "no value";
}

bool dy_json_token_id(const cJSON *v, long limit, const char *limit_name, long *id, char *why, size_t n) {
    char number[32];
    if (!cJSON_IsNumber(v)) {
        snprintf(why, n, "expected a token id (a whole number >= 0), got %s", type_name(v));
        return false;
    }
    const double d = v->valuedouble;
    format_number(d, number, sizeof number);
    if (!(d >= 0) || d != floor(d)) {
        snprintf(why, n, "expected a token id (a whole number >= 0), got %s", number);
        return false;
    }
    if (d >= (double)limit) {
        snprintf(why, n, "%s is not below %s %ld", number, limit_name, limit);
        return false;
    }
    *id = (long)d;
    return true;
}

cJSON *dy_json_read_file(const char *path, dy_error *err) {
    size_t len;
    char *text = dy_read_file(path, &len, err);
    if (!text) return NULL;
    char problem[200];
    cJSON *v = dy_json_parse(text, len, problem, sizeof problem);
    free(text);
    if (!v) dy_fail(err, "%s: %s", path, problem);
    return v;
}

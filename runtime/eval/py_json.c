#include "py_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

typedef struct {
    char *s;
    size_t n, cap;
    bool failed;
} text;

static void put(text *t, const char *s, size_t len) {
    if (t->failed) return;
    if (t->n + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + len + 1) cap *= 2;
        char *p = realloc(t->s, cap);
        if (!p) {
            t->failed = true;
            return;
        }
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->n, s, len);
    t->n += len;
    t->s[t->n] = '\0';
}

static void puts_text(text *t, const char *s) { put(t, s, strlen(s)); }

// One code point of well-formed UTF-8 at s (cJSON strings that dy_json_parse accepted, or text
// the tokenizer decoded): *len gets its bytes.
static unsigned decode(const unsigned char *s, int *len) {
    if (s[0] < 0x80) return *len = 1, s[0];
    if (s[0] < 0xE0) return *len = 2, (s[0] & 0x1Fu) << 6 | (s[1] & 0x3Fu);
    if (s[0] < 0xF0) return *len = 3, (s[0] & 0x0Fu) << 12 | (s[1] & 0x3Fu) << 6 | (s[2] & 0x3Fu);
    return *len = 4, (s[0] & 0x07u) << 18 | (s[1] & 0x3Fu) << 12 | (s[2] & 0x3Fu) << 6 | (s[3] & 0x3Fu);
}

// py_encode_basestring_ascii: \" \\ \n \r \t \b \f, every other character outside ' '..'~' as
// \uXXXX (lowercase hex), characters above U+FFFF as their UTF-16 surrogate pair.
static void put_string(text *t, const char *s) {
    put(t, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len;
        const unsigned c = decode(p, &len);
        p += len;
        char esc[16];
        const char *short_form = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (short_form) puts_text(t, short_form);
        else if (c >= ' ' && c <= '~') put(t, (const char *)p - 1, 1);
        else if (c < 0x10000) snprintf(esc, sizeof esc, "\\u%04x", c), puts_text(t, esc);
        else {
            const unsigned v = c - 0x10000;
            snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            puts_text(t, esc);
        }
    }
    put(t, "\"", 1);
}

static void put_number(text *t, double v) {
    char s[40];
    if (v == floor(v) && fabs(v) < 9007199254740992.0) snprintf(s, sizeof s, "%.0f", v);
    else dy_py_float_repr(v, s, sizeof s);
    puts_text(t, s);
}

static void newline(text *t, int indent, int depth) {
    if (indent < 1) return;
    put(t, "\n", 1);
    for (int i = 0; i < indent * depth; i++) put(t, " ", 1);
}

static void put_value(text *t, const cJSON *v, int indent, int depth) {
    if (cJSON_IsRaw(v)) puts_text(t, v->valuestring);
    else if (cJSON_IsString(v)) put_string(t, v->valuestring);
    else if (cJSON_IsNumber(v)) put_number(t, v->valuedouble);
    else if (cJSON_IsTrue(v)) puts_text(t, "true");
    else if (cJSON_IsFalse(v)) puts_text(t, "false");
    else if (cJSON_IsNull(v)) puts_text(t, "null");
    else {
        const bool object = cJSON_IsObject(v);
        put(t, object ? "{" : "[", 1);
        const cJSON *item = v->child;
        for (int i = 0; item; item = item->next, i++) {
            if (i) puts_text(t, indent < 1 ? ", " : ",");
            newline(t, indent, depth + 1);
            if (object) {
                put_string(t, item->string);
                puts_text(t, ": ");
            }
            put_value(t, item, indent, depth + 1);
        }
        if (v->child) newline(t, indent, depth);
        put(t, object ? "}" : "]", 1);
    }
}

char *dy_py_json_dumps(const cJSON *v, int indent) {
    text t = {0};
    put_value(&t, v, indent, 0);
    if (!t.failed && !t.s) puts_text(&t, "");
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    return t.s;
}

cJSON *dy_py_json_float(double v) {
    char s[40];
    dy_py_float_repr(v, s, sizeof s);
    return cJSON_CreateRaw(s);
}

#include "py_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"
#include "runtime/util/text_buffer.h"

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
static void put_string(dy_text_buffer *t, const char *s) {
    dy_text_put(t, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int len;
        const unsigned c = decode(p, &len);
        p += len;
        char esc[16];
        const char *short_form = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                                 : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
        if (short_form) dy_text_puts(t, short_form);
        else if (c >= ' ' && c <= '~') dy_text_put(t, (const char *)p - 1, 1);
        else if (c < 0x10000) snprintf(esc, sizeof esc, "\\u%04x", c), dy_text_puts(t, esc);
        else {
            const unsigned v = c - 0x10000;
            snprintf(esc, sizeof esc, "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            dy_text_puts(t, esc);
        }
    }
    dy_text_put(t, "\"", 1);
}

static void put_number(dy_text_buffer *t, double v) {
    char s[40];
    if (v == floor(v) && fabs(v) < 9007199254740992.0) snprintf(s, sizeof s, "%.0f", v);
    else dy_py_float_repr(v, s, sizeof s);
    dy_text_puts(t, s);
}

static void newline(dy_text_buffer *t, int indent, int depth) {
    if (indent < 1) return;
    dy_text_put(t, "\n", 1);
    for (int i = 0; i < indent * depth; i++) dy_text_put(t, " ", 1);
}

static void put_value(dy_text_buffer *t, const cJSON *v, int indent, int depth) {
    if (cJSON_IsRaw(v)) dy_text_puts(t, v->valuestring);
    else if (cJSON_IsString(v)) put_string(t, v->valuestring);
    else if (cJSON_IsNumber(v)) put_number(t, v->valuedouble);
    else if (cJSON_IsTrue(v)) dy_text_puts(t, "true");
    else if (cJSON_IsFalse(v)) dy_text_puts(t, "false");
    else if (cJSON_IsNull(v)) dy_text_puts(t, "null");
    else {
        const bool object = cJSON_IsObject(v);
        dy_text_put(t, object ? "{" : "[", 1);
        const cJSON *item = v->child;
        for (int i = 0; item; item = item->next, i++) {
            if (i) dy_text_puts(t, indent < 1 ? ", " : ",");
            newline(t, indent, depth + 1);
            if (object) {
                put_string(t, item->string);
                dy_text_puts(t, ": ");
            }
            put_value(t, item, indent, depth + 1);
        }
        if (v->child) newline(t, indent, depth);
        dy_text_put(t, object ? "}" : "]", 1);
    }
}

char *dy_py_json_dumps(const cJSON *v, int indent) {
    dy_text_buffer t = {0};
    put_value(&t, v, indent, 0);
    return dy_text_take(&t);
}

cJSON *dy_py_json_float(double v) {
    char s[40];
    dy_py_float_repr(v, s, sizeof s);
    return cJSON_CreateRaw(s);
}

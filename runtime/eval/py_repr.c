#include "py_repr.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py_text.h"
#include "runtime/util/text_buffer.h"

// repr(s) appended: s as code points, utf8 its UTF-8 text.
static void put_repr(dy_text_buffer *t, const dy_ustr *s, const char *utf8) {
    bool single = false, dbl = false;
    for (size_t i = 0; i < s->n; i++) single |= s->cp[i] == '\'', dbl |= s->cp[i] == '"';
    const char quote = single && !dbl ? '"' : '\'';
    dy_text_put(t, &quote, 1);
    const char *p = utf8;
    for (size_t i = 0; i < s->n; i++) {
        const uint32_t c = s->cp[i];
        const int bytes = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        char esc[12];
        if (c == (uint32_t)quote || c == '\\') snprintf(esc, sizeof esc, "\\%c", (char)c);
        else if (c == '\n') strcpy(esc, "\\n");
        else if (c == '\r') strcpy(esc, "\\r");
        else if (c == '\t') strcpy(esc, "\\t");
        else if (c < ' ' || c == 0x7f) snprintf(esc, sizeof esc, "\\x%02x", (unsigned)c);
        else if (c < 0x7f || dy_py_isprintable(c)) esc[0] = '\0';
        else if (c < 0x100) snprintf(esc, sizeof esc, "\\x%02x", (unsigned)c);
        else if (c < 0x10000) snprintf(esc, sizeof esc, "\\u%04x", (unsigned)c);
        else snprintf(esc, sizeof esc, "\\U%08x", (unsigned)c);
        if (esc[0]) dy_text_puts(t, esc);
        else dy_text_put(t, p, (size_t)bytes);
        p += bytes;
    }
    dy_text_put(t, &quote, 1);
}

char *dy_py_str_of_list(const cJSON *list) {
    dy_text_buffer t = {0};
    dy_text_puts(&t, "[");
    const cJSON *v;
    bool ok = cJSON_IsArray(list);
    if (ok) cJSON_ArrayForEach(v, list) {
        dy_ustr s = {0};
        dy_error err;
        if (!cJSON_IsString(v) || dy_ustr_from_utf8(v->valuestring, strlen(v->valuestring), "item", &s, &err)) {
            ok = false;
            break;
        }
        if (v != list->child) dy_text_puts(&t, ", ");
        put_repr(&t, &s, v->valuestring);
        dy_ustr_free(&s);
    }
    dy_text_puts(&t, "]");
    char *text = dy_text_take(&t);
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}

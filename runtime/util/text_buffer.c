#include "text_buffer.h"

#include <stdlib.h>
#include <string.h>

void dy_text_put(dy_text_buffer *t, const char *s, size_t len) {
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

void dy_text_puts(dy_text_buffer *t, const char *s) { dy_text_put(t, s, strlen(s)); }

char *dy_text_take(dy_text_buffer *t) {
    if (!t->failed && !t->s) dy_text_put(t, "", 0);
    char *s = t->failed ? NULL : t->s;
    if (t->failed) free(t->s);
    *t = (dy_text_buffer){0};
    return s;
}

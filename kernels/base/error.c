#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int dy_fail(dy_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

const char *dy_error_text(const char *s, char *out, size_t n) {
    size_t k = 0;
    for (; *s; s++) {
        const unsigned char c = (unsigned char)*s;
        char esc[5] = {(char)c, '\0'};
        if (c == '\n' || c == '\r' || c == '\t') snprintf(esc, sizeof esc, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        else if (c < 0x20 || c == 0x7f) snprintf(esc, sizeof esc, "\\x%02x", c);
        const size_t len = strlen(esc);
        if (k + len >= n) break;
        memcpy(out + k, esc, len);
        k += len;
    }
    out[k] = '\0';
    return out;
}

#include "nfc_unicode9.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static int by_value(const void *a, const void *b) { return *(const int32_t *)a - *(const int32_t *)b; }

bool dy_nfc_unicode9_is_inert(int32_t cp) {
    return cp >= 0x300 && bsearch(&cp, dy_nfc_unicode9_inert, (size_t)dy_n_nfc_unicode9_inert, sizeof cp, by_value);
}

static int append(char **buf, size_t *len, size_t *cap, const void *data, size_t n) {
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n) c *= 2;
        char *grown = realloc(*buf, c);
        if (!grown) return -1;
        *buf = grown;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    return 0;
}

static int append_nfc(char **buf, size_t *len, size_t *cap, const char *s, size_t n) {
    if (n == 0) return 0;
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t m = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (m < 0) return -1;
    int rc = append(buf, len, cap, nfc, (size_t)m);
    free(nfc);
    return rc;
}

int dy_nfc_unicode9(const char *s, size_t len, char **out, size_t *out_len) {
    char *buf = NULL;
    size_t n = 0, cap = 0, piece = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0) goto fail;
        if (dy_nfc_unicode9_is_inert(cp)) {
            if (append_nfc(&buf, &n, &cap, s + piece, i - piece) || append(&buf, &n, &cap, s + i, (size_t)k)) goto fail;
            piece = i + (size_t)k;
        }
        i += (size_t)k;
    }
    if (append_nfc(&buf, &n, &cap, s + piece, len - piece) || append(&buf, &n, &cap, "", 1)) goto fail;
    *out = buf;
    *out_len = n - 1;
    return 0;
fail:
    free(buf);
    return -1;
}

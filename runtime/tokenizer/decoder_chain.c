// The decode chain (decoder_chain.h). Tokens are kept as a list of strings between the steps
// because ByteFallback and Strip act per token: Strip before a Fuse would cut every token.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoder_chain.h"
#include "runtime/util/utf8.h"

typedef struct {
    char **s;
    int n;
} pieces;

static void pieces_free(pieces *p) {
    for (int i = 0; i < p->n; i++) free(p->s[i]);
    free(p->s);
}

static char *replace_all(const char *t, const char *pattern, const char *content) {
    const size_t p = strlen(pattern), k = strlen(content);
    size_t count = 0;
    for (const char *at = t; p && (at = strstr(at, pattern)); at += p) count++;
    char *out = malloc(strlen(t) + count * k + 1), *w = out;
    if (!out) return NULL;
    for (const char *at; p && (at = strstr(t, pattern)); t = at + p) {
        memcpy(w, t, (size_t)(at - t));
        w += at - t;
        memcpy(w, content, k);
        w += k;
    }
    strcpy(w, t);
    return out;
}

static int hex_digit(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

// "<0xXX>" -> the byte, as HF's ByteFallback reads it (hex digits of either case); -1 otherwise.
static int fallback_byte(const char *t) {
    if (strlen(t) != 6 || strncmp(t, "<0x", 3) != 0 || t[5] != '>') return -1;
    const int hi = hex_digit(t[3]), lo = hex_digit(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// A run of byte tokens becomes its UTF-8 text when the bytes are valid UTF-8 as a whole, else
// one U+FFFD per byte (HF's rule, not lossy decoding's one per maximal invalid subpart).
static char *bytes_text(const unsigned char *b, size_t n) {
    bool valid = true;
    for (size_t i = 0; i < n && valid;) {
        int prefix, k = dy_utf8_sequence(b + i, n - i, &prefix);
        valid = k > 0;
        i += (size_t)k;
    }
    char *out = malloc(valid ? n + 1 : 3 * n + 1);
    if (!out) return NULL;
    if (valid) memcpy(out, b, n);
    else
        for (size_t i = 0; i < n; i++) memcpy(out + 3 * i, "\xEF\xBF\xBD", 3);
    out[valid ? n : 3 * n] = '\0';
    return out;
}

static int byte_fallback(pieces *p) {
    unsigned char *run = malloc((size_t)p->n + 1);
    if (!run) return -1;
    int w = 0;
    size_t n_run = 0;
    for (int i = 0; i <= p->n; i++) {
        const int b = i < p->n ? fallback_byte(p->s[i]) : -1;
        if (b >= 0) {
            run[n_run++] = (unsigned char)b;
            free(p->s[i]);
            continue;
        }
        if (n_run) {  // the run ended: its text takes a slot already freed (w < i)
            if (!(p->s[w++] = bytes_text(run, n_run))) {
                for (int j = i; j < p->n; j++) free(p->s[j]);
                p->n = w - 1;
                free(run);
                return -1;
            }
            n_run = 0;
        }
        if (i < p->n) p->s[w++] = p->s[i];
    }
    p->n = w;
    free(run);
    return 0;
}

static int fuse(pieces *p) {
    if (p->n == 0) return 0;
    size_t total = 0;
    for (int i = 0; i < p->n; i++) total += strlen(p->s[i]);
    char *all = malloc(total + 1), *w = all;
    if (!all) return -1;
    for (int i = 0; i < p->n; i++) {
        size_t k = strlen(p->s[i]);
        memcpy(w, p->s[i], k);
        w += k;
        free(p->s[i]);
    }
    *w = '\0';
    p->s[0] = all;
    p->n = 1;
    return 0;
}

static void strip(char *t, const dy_dec_step *d) {
    const size_t c = strlen(d->content);
    size_t len = strlen(t), cut = 0;
    for (int i = 0; i < d->start && len - cut >= c && memcmp(t + cut, d->content, c) == 0; i++) cut += c;
    for (int i = 0; i < d->stop && len - cut >= c && memcmp(t + len - c, d->content, c) == 0; i++) len -= c;
    memmove(t, t + cut, len - cut);
    t[len - cut] = '\0';
}

char *dy_decode_chain(const dy_dec_step *steps, int n_steps, const char *const *tokens, int n) {
    pieces p = {calloc((size_t)n + 1, sizeof *p.s), 0};
    if (!p.s) return NULL;
    for (; p.n < n; p.n++)
        if (!(p.s[p.n] = strdup(tokens[p.n]))) goto oom;
    for (int s = 0; s < n_steps; s++) {
        const dy_dec_step *d = &steps[s];
        if (d->kind == DY_DEC_REPLACE) {
            for (int i = 0; i < p.n; i++) {
                char *r = replace_all(p.s[i], d->pattern, d->content);
                if (!r) goto oom;
                free(p.s[i]);
                p.s[i] = r;
            }
        } else if (d->kind == DY_DEC_BYTE_FALLBACK ? byte_fallback(&p) : d->kind == DY_DEC_FUSE ? fuse(&p) : 0) {
            goto oom;
        } else if (d->kind == DY_DEC_STRIP) {
            for (int i = 0; i < p.n; i++) strip(p.s[i], d);
        }
    }
    if (fuse(&p)) goto oom;
    char *text = p.n ? p.s[0] : strdup("");
    free(p.s);
    return text;
oom:
    pieces_free(&p);
    return NULL;
}

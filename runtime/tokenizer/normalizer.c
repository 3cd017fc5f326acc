// Prepend and Replace over a normalized string with origins (normalizer.h). Each step reads one
// buffer and writes the other, so a long text costs a few linear passes and no per-character
// allocation. The alignments follow the `tokenizers` library's NormalizedString::transform: a
// character that replaces another keeps that character's origin, inserted characters take the
// origin of the character before them, and Prepend's characters that of the first character.
// The first step reads the caller's text itself (origins are then its byte offsets): a 10 MB text
// is not copied once more before the work starts.
#include <stdlib.h>
#include <string.h>

#include "normalizer.h"
#include "kernels/base/huge_pages.h"
#include "runtime/util/utf8.h"

void dy_normalized_free(dy_normalized *n) {
    free(n->bytes);
    free(n->origin);
    memset(n, 0, sizeof *n);
}

int dy_normalized_reserve(dy_normalized *n, size_t bytes, size_t chars) {
    if (bytes > n->cap_bytes) {
        char *grown = realloc(n->bytes, bytes);
        if (!grown) return -1;
        n->bytes = grown;
        n->cap_bytes = bytes;
        dy_advise_huge_pages(grown, bytes);
    }
    if (chars > n->cap_chars) {
        uint32_t *grown = realloc(n->origin, chars * sizeof *grown);
        if (!grown) return -1;
        n->origin = grown;
        n->cap_chars = chars;
        dy_advise_huge_pages(grown, chars * sizeof *grown);
    }
    return 0;
}

// The input of a step: a normalized string, or the caller's text (origin NULL: byte offsets).
typedef struct {
    const char *bytes;
    size_t n_bytes, n_chars;
    const uint32_t *origin;
} step_input;

static size_t char_count(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

// Appends the characters of s (len bytes), every one with origin `origin`.
static void put(dy_normalized *out, const char *s, size_t len, uint32_t origin) {
    memcpy(out->bytes + out->n_bytes, s, len);
    out->n_bytes += len;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) out->origin[out->n_chars++] = origin;
}

// HF's Prepend adds its text only to a non-empty string.
static int prepend(const dy_norm_step *step, const step_input *in, dy_normalized *out) {
    const size_t k = strlen(step->content);
    out->n_bytes = out->n_chars = 0;
    if (in->n_chars == 0) return 0;
    if (dy_normalized_reserve(out, in->n_bytes + k, in->n_chars + char_count(step->content, k))) return -1;
    put(out, step->content, k, in->origin ? in->origin[0] : 0);
    memcpy(out->bytes + out->n_bytes, in->bytes, in->n_bytes);
    if (in->origin) {
        memcpy(out->origin + out->n_chars, in->origin, in->n_chars * sizeof *in->origin);
    } else {
        size_t c = out->n_chars;
        for (size_t i = 0; i < in->n_bytes; i += dy_utf8_length((unsigned char)in->bytes[i])) out->origin[c++] = (uint32_t)i;
    }
    out->n_bytes += in->n_bytes;
    out->n_chars += in->n_chars;
    return 0;
}

static int replace(const dy_norm_step *step, const step_input *in, dy_normalized *out) {
    const size_t p = strlen(step->pattern), k = strlen(step->content), grow = k > p ? k - p : 0;
    const size_t k_chars = char_count(step->content, k);
    out->n_bytes = out->n_chars = 0;
    if (dy_normalized_reserve(out, in->n_bytes + in->n_chars * grow, in->n_chars * (k_chars > 1 ? k_chars : 1))) return -1;
    size_t c = 0;  // character index in `in`
    for (size_t i = 0, n; i < in->n_bytes; i += n, c++) {
        n = dy_utf8_length((unsigned char)in->bytes[i]);
        const uint32_t origin = in->origin ? in->origin[c] : (uint32_t)i;
        if (n == p && memcmp(in->bytes + i, step->pattern, p) == 0) put(out, step->content, k, origin);
        else put(out, in->bytes + i, n, origin);
    }
    return 0;
}

int dy_normalize(const dy_norm_step *steps, int n_steps, const char *text, size_t len, dy_normalized *out,
                 dy_normalized *tmp) {
    step_input in = {text, len, char_count(text, len), NULL};
    if (n_steps == 0) {  // the text as it is
        if (dy_normalized_reserve(out, len ? len : 1, len ? len : 1)) return -1;
        out->n_bytes = out->n_chars = 0;
        for (size_t i = 0; i < len; i += dy_utf8_length((unsigned char)text[i]))
            put(out, text + i, dy_utf8_length((unsigned char)text[i]), (uint32_t)i);
        return 0;
    }
    // The steps alternate between the buffers; start in the one that makes `out` hold the result.
    dy_normalized *next = n_steps % 2 ? out : tmp, *other = n_steps % 2 ? tmp : out;
    for (int s = 0; s < n_steps; s++) {
        int rc = steps[s].kind == DY_NORM_PREPEND ? prepend(&steps[s], &in, next) : replace(&steps[s], &in, next);
        if (rc) return -1;
        in = (step_input){next->bytes, next->n_bytes, next->n_chars, next->origin};
        dy_normalized *t = next;
        next = other;
        other = t;
    }
    return 0;
}

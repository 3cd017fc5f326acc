// The SentencePiece-style normalizers of a tokenizer.json (Llama-2: Prepend "▁", then Replace
// " " -> "▁"), run as the `tokenizers` library runs them, keeping for every normalized character
// the original character it comes from, so that token offsets point into the caller's text.
#ifndef DYSCO_NORMALIZER_H
#define DYSCO_NORMALIZER_H

#include <stddef.h>
#include <stdint.h>

typedef enum { DY_NORM_PREPEND, DY_NORM_REPLACE } dy_norm_kind;

typedef struct {
    dy_norm_kind kind;
    char *pattern;  // REPLACE: the one character replaced
    char *content;  // what is prepended, or what replaces the pattern (may be empty)
} dy_norm_step;

enum { DY_MAX_NORM_STEPS = 8 };

typedef struct {
    char *bytes;  // UTF-8, n_bytes long
    size_t n_bytes, cap_bytes;
    // Per normalized character: the byte offset, in the text given to dy_normalize, of the
    // original character it comes from (a prepended character: the first character's).
    uint32_t *origin;
    size_t n_chars, cap_chars;
} dy_normalized;

// Runs the steps over text (len bytes of valid UTF-8, len < 2^32) into out; tmp is a second
// buffer for the steps to alternate with. Both are reused across calls. -1 when out of memory.
int dy_normalize(const dy_norm_step *steps, int n_steps, const char *text, size_t len, dy_normalized *out,
                 dy_normalized *tmp);
void dy_normalized_free(dy_normalized *n);
// Room for at least bytes bytes and chars origins (kept contents); -1 when out of memory.
int dy_normalized_reserve(dy_normalized *n, size_t bytes, size_t chars);

#endif

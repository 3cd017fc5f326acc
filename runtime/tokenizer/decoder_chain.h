// The decoders of a SentencePiece-style tokenizer.json (Llama-2: Replace "▁" -> " ", ByteFallback,
// Fuse, Strip " " once at the start), run over the token strings in order as the `tokenizers`
// library's decode_chain does.
#ifndef DYSCO_DECODER_CHAIN_H
#define DYSCO_DECODER_CHAIN_H

#include <stdbool.h>

typedef enum { DY_DEC_REPLACE, DY_DEC_BYTE_FALLBACK, DY_DEC_FUSE, DY_DEC_STRIP } dy_dec_kind;

typedef struct {
    dy_dec_kind kind;
    char *pattern, *content;  // REPLACE: every pattern -> content; STRIP: content is one character
    int start, stop;          // STRIP: at most this many content characters off each token's ends
} dy_dec_step;

enum { DY_MAX_DEC_STEPS = 8 };

// The text of n token strings after the steps (malloc'd, NUL-terminated), or NULL when out of memory.
char *dy_decode_chain(const dy_dec_step *steps, int n_steps, const char *const *tokens, int n);

#endif

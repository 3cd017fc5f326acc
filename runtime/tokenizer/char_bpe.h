// The SentencePiece-style BPE of a tokenizer.json without a pre-tokenizer (Llama-2): the text
// between two added tokens is normalized (normalizer.h) and merged as one word that starts as one
// symbol per character, as the `tokenizers` library's BPE model does with byte_fallback and
// fuse_unk. Each token's span in the original text is kept for offsets.
#ifndef DYSCO_CHAR_BPE_H
#define DYSCO_CHAR_BPE_H

#include "bpe.h"
#include "kernels/base/error.h"
#include "normalizer.h"
#include "tokenizer.h"

typedef struct {  // working memory, grown as needed and reused
    dy_bpe_symbol *sym;
    uint32_t *start, *end;  // per symbol: the byte span of its characters in the segment
    size_t cap;
    dy_normalized text, tmp;
} dy_char_bpe_scratch;

// Appends the ids of the segment s (len bytes of valid UTF-8) to out and, when offsets is not
// NULL, each token's span as byte offsets in the caller's text (the segment starts at byte base).
int dy_char_bpe_segment(dy_tokenizer *tok, const char *s, size_t len, size_t base, dy_tokens *out,
                        dy_token_offsets *offsets, dy_error *err);
// Appends one offset; -1 when out of memory.
int dy_token_offsets_push(dy_token_offsets *o, int64_t start, int64_t end);
void dy_char_bpe_scratch_free(dy_char_bpe_scratch *s);

#endif

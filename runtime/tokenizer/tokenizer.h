// BPE tokenizer read from a Hugging Face tokenizer.json, with the behaviour of the `tokenizers`
// library: added tokens matched first (leftmost, longest), then one of two models.
//  - Byte-level (Qwen3, Llama-3.x): NFC normalisation when configured, the pre-tokenizer's Split
//    regex run with PCRE2, byte-level mapping, rank-ordered merges, lossy UTF-8 decoding.
//  - SentencePiece-style, no pre-tokenizer (Llama-2): the Prepend / Replace normalizers, the whole
//    text between added tokens merged as one word starting from characters, byte fallback to
//    <0xXX> tokens, fused <unk>, and the Replace / ByteFallback / Fuse / Strip decoders.
// Both add the post-processor's special tokens.
// An encoder keeps a word cache, so one dy_tokenizer must not be used by two threads at once.
#ifndef DYSCO_TOKENIZER_H
#define DYSCO_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/base/error.h"
#include "runtime/util/tokens.h"

typedef struct dy_tokenizer dy_tokenizer;


// Reads DIR/tokenizer.json. (transformers 5 ignores tokenizer_config's
// clean_up_tokenization_spaces for these byte-level tokenizers, and so does dysco.)
int dy_tokenizer_load(const char *dir, dy_tokenizer **tok, dy_error *err);
// The same from the file's text (len bytes: a NUL byte among them is an error, not the end);
// path only names the file in errors.
int dy_tokenizer_parse(const char *tokenizer_json, size_t len, const char *path, dy_tokenizer **tok, dy_error *err);
void dy_tokenizer_free(dy_tokenizer *tok);

// Appends the ids of UTF-8 text to out. add_special applies the post-processor's template
// (Llama-3: <|begin_of_text|> first), like `add_special_tokens=True` in transformers.
int dy_tokenizer_encode(dy_tokenizer *tok, const char *text, size_t len, bool add_special, dy_tokens *out,
                        dy_error *err);
// A token's place in the text given to dy_tokenizer_encode_offsets, in code points (Python string
// indices), as Hugging Face's offset_mapping gives it: [start, end); (0, 0) for the special tokens
// the post-processor adds.
typedef struct {
    int64_t start, end;
} dy_token_offset;

typedef struct {
    dy_token_offset *at;
    int n, cap;
} dy_token_offsets;

void dy_token_offsets_free(dy_token_offsets *o);

// dy_tokenizer_encode that also appends each token's offsets (one per id) to offsets, as HF's
// return_offsets_mapping=True gives them; refused (an error) when a ByteLevel post-processor sets
// trim_offsets (Qwen3's and Llama-3's do not). An added token matched in the text spans its match. Byte-level: a token
// spans the original characters of its first and last byte, whole (a token that starts or ends
// inside a multi-byte character gets that character's span), and after NFC each normalized
// character keeps the original character HF aligns it with (nfc_align.h: a composed character
// spans its first component only). SentencePiece-style: the Prepend / Replace normalizers' origins.
int dy_tokenizer_encode_offsets(dy_tokenizer *tok, const char *text, size_t len, bool add_special, dy_tokens *out,
                                dy_token_offsets *offsets, dy_error *err);
// Text of the ids (malloc'd, NUL-terminated); invalid UTF-8 becomes U+FFFD and ids without a
// token are skipped, as in transformers.
char *dy_tokenizer_decode(const dy_tokenizer *tok, const int32_t *ids, int n, bool skip_special, dy_error *err);

// Whether the id names a token (model or added).
bool dy_tokenizer_has_id(const dy_tokenizer *tok, int32_t id);
// Id of a token given as its text (added tokens as written, model tokens in byte-level form), or -1.
int32_t dy_tokenizer_token_id(const dy_tokenizer *tok, const char *text);
// One more than the largest id the tokenizer can produce.
int dy_tokenizer_n_ids(const dy_tokenizer *tok);

#endif

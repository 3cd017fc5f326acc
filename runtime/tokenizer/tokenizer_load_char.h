// The parts of a tokenizer.json that only SentencePiece-style BPE uses (no pre-tokenizer:
// Llama-2): its normalizer steps, its decoder chain and its model options. Called by
// tokenizer_load.c, which reads the rest; errors name the file and the field.
#ifndef DYSCO_TOKENIZER_LOAD_CHAR_H
#define DYSCO_TOKENIZER_LOAD_CHAR_H

#include <cJSON.h>

#include "tokenizer_state.h"

// normalizer: null, Prepend, Replace with a one-character String pattern, or a Sequence of them.
int dy_load_char_normalizer(dy_tokenizer *tok, const cJSON *n, const char *path, dy_error *err);
// decoder: Replace (String pattern), ByteFallback, Fuse, Strip, or a Sequence of them.
int dy_load_char_decoder(dy_tokenizer *tok, const cJSON *d, const char *path, dy_error *err);
// model: byte_fallback, fuse_unk and unk_token, after the vocabulary is read.
int dy_load_char_model(dy_tokenizer *tok, const cJSON *model, const char *path, dy_error *err);
void dy_free_char_parts(dy_tokenizer *tok);

#endif

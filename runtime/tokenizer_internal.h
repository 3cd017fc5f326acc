// The tokenizer's state, shared by its loader (tokenizer_load.c), the BPE model (bpe.c) and the
// encode/decode pipeline (tokenizer.c). Not part of the public interface.
#ifndef DYSCO_TOKENIZER_INTERNAL_H
#define DYSCO_TOKENIZER_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "hash_map.h"
#include "tokenizer.h"

enum { DY_MAX_SPLITS = 4, DY_MAX_TEMPLATE_IDS = 8 };

typedef struct {
    char *content;
    int len;
    int32_t id;
    bool special;
} dy_added_token;

typedef struct {
    int32_t *ids;  // (cap) ids of cached words
    size_t n_ids, cap_ids;
    int32_t *first;  // per cache entry: offset into ids; entry e spans first[e] .. first[e + 1]
    int n_entries, max_entries;
    dy_str_map index;  // word bytes -> entry
} dy_word_cache;

typedef struct {
    uint32_t rank, pos;
    int32_t left, right, merged;
} dy_bpe_candidate;

typedef struct {  // per-word working memory, grown as needed and reused
    int32_t *id, *prev, *next;
    dy_bpe_candidate *heap;
    char *mapped;
    size_t cap;
} dy_bpe_scratch;

struct dy_tokenizer {
    // Vocabulary: model tokens in byte-level form and added tokens as written.
    int n_ids;
    char **id_to_token;  // (n_ids) NULL for ids no token uses
    uint8_t *id_is_added, *id_is_special;
    dy_str_map model_vocab;  // byte-level form -> id (model tokens only)

    // BPE: (left id << 32 | right id) -> (rank << 32 | merged id)
    dy_u64_map merges;
    bool ignore_merges;  // Llama-3: a word already in the vocabulary is one token
    int32_t byte_id[256];              // id of each single byte's byte-level symbol
    char byte_char[256][3];            // byte-level UTF-8 form of each byte (1-2 bytes + NUL)
    int16_t char_to_byte[324];         // inverse mapping, by code point; -1 when not a mapped char

    dy_added_token *added;  // sorted by length, longest first
    int n_added;
    uint8_t added_first_byte[256];

    bool nfc;
    pcre2_code *splits[DY_MAX_SPLITS];  // pre-tokenizer regexes, applied in order (Isolated)
    int n_splits;
    pcre2_match_data *match;

    int n_prefix, n_suffix;  // post-processor template around the sequence
    int32_t prefix[DY_MAX_TEMPLATE_IDS], suffix[DY_MAX_TEMPLATE_IDS];

    dy_word_cache cache;
    dy_bpe_scratch scratch;
};

// bpe.c
void dy_byte_level_tables(dy_tokenizer *tok);
int dy_bpe_word(dy_tokenizer *tok, const char *word, size_t len, dy_tokens *out);
int dy_word_cache_init(dy_word_cache *c, int max_entries);
void dy_word_cache_free(dy_word_cache *c);
void dy_bpe_scratch_free(dy_bpe_scratch *s);

#endif

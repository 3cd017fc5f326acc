// Byte-level BPE: the byte <-> symbol tables, the merge loop over one pre-tokenized word, and the
// word cache that spares repeated words the merges. The tokenizer's state (tokenizer_state.h)
// holds these structures.
#ifndef DYSCO_BPE_H
#define DYSCO_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "merge_queue.h"
#include "runtime/util/hash_map.h"
#include "runtime/util/tokens.h"

typedef struct dy_tokenizer dy_tokenizer;

typedef struct {
    int32_t *ids;  // (cap) ids of cached words
    size_t n_ids, cap_ids;
    int32_t *first;  // per cache entry: offset into ids; entry e spans first[e] .. first[e + 1]
    int n_entries, max_entries;
    dy_str_map index;  // word bytes -> entry
} dy_word_cache;

typedef struct {
    int32_t id;          // token id; symbols merged into their left neighbour leave the list
    int32_t prev, next;  // neighbouring symbols in the word, -1 at its ends
} dy_bpe_symbol;

typedef struct {  // per-word working memory, grown as needed and reused
    dy_bpe_symbol *sym;
    char *mapped;
    size_t cap;
    dy_merge_queue queue;
} dy_bpe_scratch;

void dy_byte_level_tables(dy_tokenizer *tok);
// Merges the n symbols of one word (sym[i] linked to i - 1 and i + 1) in rank order; the tokens
// left are the list from sym[0], each having absorbed the symbols up to the next one. -1 when out
// of memory or n > INT32_MAX.
int dy_bpe_merge(const dy_tokenizer *tok, dy_merge_queue *q, dy_bpe_symbol *sym, size_t n);
int dy_bpe_word(dy_tokenizer *tok, const char *word, size_t len, dy_tokens *out);
int dy_word_cache_init(dy_word_cache *c, int max_entries);
void dy_word_cache_free(dy_word_cache *c);
void dy_bpe_scratch_free(dy_bpe_scratch *s);

#endif

// The BPE model over byte-level symbols: a word (one pre-tokenizer piece, as bytes) starts as one
// symbol per byte and the adjacent pair with the lowest merge rank is merged until none is left;
// equal ranks merge leftmost first. This is the order of the `tokenizers` library, kept by the
// merge queue (merge_queue.h) at O(1) per merge plus a heap step over the word's distinct ranks,
// so a 10 MB word costs no more per byte than a short one.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/base/huge_pages.h"
#include "tokenizer_state.h"

enum { CACHE_MAX_WORD = 256 };  // longer words are rare and not worth a cache slot

// GPT-2's reversible map from bytes to printable code points: printable Latin-1 bytes map to
// themselves, the other 68 bytes to 256, 257, ... in byte order.
void dy_byte_level_tables(dy_tokenizer *tok) {
    int next = 256;
    for (int i = 0; i < 324; i++) tok->char_to_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        int cp = printable ? b : next++;
        tok->char_to_byte[cp] = (int16_t)b;
        char *u = tok->byte_char[b];
        if (cp < 0x80) {
            u[0] = (char)cp;
            u[1] = '\0';
        } else {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            u[2] = '\0';
        }
    }
}

int dy_word_cache_init(dy_word_cache *c, int max_entries) {
    memset(c, 0, sizeof *c);
    c->max_entries = max_entries;
    c->first = malloc((size_t)(max_entries + 1) * sizeof *c->first);
    if (!c->first || dy_str_map_init(&c->index, (uint32_t)max_entries)) return -1;
    c->first[0] = 0;
    return 0;
}

void dy_word_cache_free(dy_word_cache *c) {
    free(c->ids);
    free(c->first);
    dy_str_map_free(&c->index);
    memset(c, 0, sizeof *c);
}

void dy_bpe_scratch_free(dy_bpe_scratch *s) {
    free(s->sym);
    free(s->mapped);
    dy_merge_queue_free(&s->queue);
    memset(s, 0, sizeof *s);
}

// Remembers a word's ids; a full cache starts over (simple, and text re-warms it quickly).
static void cache_put(dy_word_cache *c, const char *word, size_t len, const int32_t *ids, int n) {
    if (c->n_entries == c->max_entries) {
        dy_str_map_clear(&c->index);
        c->n_entries = 0;
        c->n_ids = 0;
    }
    if (c->n_ids + (size_t)n > c->cap_ids) {
        size_t cap = c->cap_ids ? 2 * c->cap_ids : 65536;
        while (cap < c->n_ids + (size_t)n) cap *= 2;
        int32_t *grown = realloc(c->ids, cap * sizeof *grown);
        if (!grown) return;  // the cache is an optimisation: skip it when memory is short
        c->ids = grown;
        c->cap_ids = cap;
    }
    if (dy_str_map_put(&c->index, word, len, c->n_entries)) return;
    memcpy(c->ids + c->n_ids, ids, (size_t)n * sizeof *ids);
    c->n_ids += (size_t)n;
    c->first[++c->n_entries] = (int32_t)c->n_ids;
}

static int scratch_reserve(dy_bpe_scratch *s, size_t n) {
    if (n <= s->cap) return 0;
    size_t cap = s->cap ? s->cap : 256;
    while (cap < n) cap *= 2;
    dy_bpe_symbol *sym = realloc(s->sym, cap * sizeof *sym);
    char *mapped = realloc(s->mapped, 2 * cap + 1);
    if (sym) s->sym = sym;
    if (mapped) s->mapped = mapped;
    if (!sym || !mapped) return -1;
    dy_advise_huge_pages(sym, cap * sizeof *sym);
    s->cap = cap;
    return 0;
}

// Queues the pair of the symbol at left and its right neighbour when a merge joins them.
static void add_pair(const dy_tokenizer *tok, dy_merge_queue *q, const dy_bpe_symbol *sym, int32_t left) {
    const int32_t right = left >= 0 ? sym[left].next : -1;
    uint64_t rank;
    if (right >= 0 && dy_u64_map_get(&tok->merges, (uint64_t)sym[left].id << 32 | (uint32_t)sym[right].id, &rank))
        dy_merge_queue_add(q, left, (uint32_t)rank);
}

int dy_bpe_merge(const dy_tokenizer *tok, dy_merge_queue *q, dy_bpe_symbol *sym, size_t n) {
    if (n > INT32_MAX || dy_merge_queue_start(q, n, tok->n_merges)) return -1;
    for (size_t i = 0; i + 1 < n; i++) add_pair(tok, q, sym, (int32_t)i);
    uint32_t rank;
    for (int32_t l; (l = dy_merge_queue_pop(q, &rank)) >= 0;) {
        const int32_t r = sym[l].next, before = sym[l].prev;
        dy_merge_queue_remove(q, r);  // (r, its right) is gone, (before, l) becomes (before, merged)
        if (before >= 0) dy_merge_queue_remove(q, before);
        sym[l].id = tok->merge_id[rank];
        sym[l].next = sym[r].next;
        if (sym[r].next >= 0) sym[sym[r].next].prev = l;
        add_pair(tok, q, sym, before);
        add_pair(tok, q, sym, l);
    }
    return 0;
}

int dy_bpe_word(dy_tokenizer *tok, const char *word, size_t len, dy_tokens *out) {
    dy_word_cache *cache = &tok->cache;
    if (len <= CACHE_MAX_WORD) {
        int32_t e = dy_str_map_get(&cache->index, word, len);
        if (e >= 0) {
            for (int32_t i = cache->first[e]; i < cache->first[e + 1]; i++)
                if (dy_tokens_push(out, cache->ids[i])) return -1;
            return 0;
        }
    }
    dy_bpe_scratch *s = &tok->scratch;
    if (scratch_reserve(s, len)) return -1;
    const int first_out = out->n;
    if (tok->ignore_merges) {
        size_t m = 0;
        for (size_t i = 0; i < len; i++)
            for (const char *c = tok->byte_char[(unsigned char)word[i]]; *c; c++) s->mapped[m++] = *c;
        int32_t whole = dy_str_map_get(&tok->model_vocab, s->mapped, m);
        if (whole >= 0) {
            if (dy_tokens_push(out, whole)) return -1;
            if (len <= CACHE_MAX_WORD) cache_put(cache, word, len, &whole, 1);
            return 0;
        }
    }
    dy_bpe_symbol *sym = s->sym;
    for (size_t i = 0; i < len; i++)
        sym[i] = (dy_bpe_symbol){tok->byte_id[(unsigned char)word[i]], (int32_t)i - 1, i + 1 < len ? (int32_t)i + 1 : -1};
    if (dy_bpe_merge(tok, &s->queue, sym, len)) return -1;
    for (int32_t i = 0; i >= 0; i = sym[i].next)
        if (dy_tokens_push(out, sym[i].id)) return -1;
    if (len <= CACHE_MAX_WORD) cache_put(cache, word, len, out->ids + first_out, out->n - first_out);
    return 0;
}

// Character-level BPE with byte fallback (char_bpe.h). The merge loop is bpe.c's, so the work per
// character stays bounded (O(1) per merge plus a heap step over distinct ranks): a 10 MB text
// without added tokens is one word and costs no more per byte than a short one. There is no word
// cache here: without a pre-tokenizer the words are whole texts, rarely seen twice.
#include <stdlib.h>
#include <string.h>

#include "char_bpe.h"
#include "kernels/base/huge_pages.h"
#include "runtime/util/utf8.h"
#include "tokenizer_state.h"

int dy_token_offsets_push(dy_token_offsets *o, int64_t start, int64_t end) {
    if (o->n == o->cap) {
        int cap = o->cap ? 2 * o->cap : 256;
        dy_token_offset *grown = realloc(o->at, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
        o->at = grown;
        o->cap = cap;
    }
    o->at[o->n++] = (dy_token_offset){start, end};
    return 0;
}

void dy_token_offsets_free(dy_token_offsets *o) {
    free(o->at);
    memset(o, 0, sizeof *o);
}

void dy_char_bpe_scratch_free(dy_char_bpe_scratch *s) {
    free(s->sym);
    free(s->start);
    free(s->end);
    dy_normalized_free(&s->text);
    dy_normalized_free(&s->tmp);
    memset(s, 0, sizeof *s);
}

static int reserve(dy_char_bpe_scratch *s, size_t n) {
    if (n <= s->cap) return 0;
    dy_bpe_symbol *sym = realloc(s->sym, n * sizeof *sym);
    if (sym) s->sym = sym;
    uint32_t *start = realloc(s->start, n * sizeof *start);
    if (start) s->start = start;
    uint32_t *end = realloc(s->end, n * sizeof *end);
    if (end) s->end = end;
    if (!sym || !start || !end) return -1;
    dy_advise_huge_pages(sym, n * sizeof *sym);
    dy_advise_huge_pages(start, n * sizeof *start);
    dy_advise_huge_pages(end, n * sizeof *end);
    s->cap = n;
    return 0;
}

static int32_t char_id(const dy_tokenizer *tok, const char *c, size_t n) {
    if (n == 1) return tok->ascii_id[(unsigned char)c[0]];
    return dy_str_map_get(&tok->model_vocab, c, n);
}

// The symbols the word starts from, as HF's BPE builds its Word: a character in the vocabulary is
// one symbol; else, with byte_fallback, one <0xXX> symbol per byte (the loader checked that every
// byte has one); else <unk>, consecutive ones fused into one when fuse_unk is set. With spans, each symbol's
// span in the segment s is kept. Returns the symbol count, or -1 (with err set) when a character
// has no token at all.
static ptrdiff_t start_symbols(dy_tokenizer *tok, const dy_normalized *w, const char *s, bool spans, dy_error *err) {
    dy_char_bpe_scratch *sc = &tok->char_scratch;
    size_t n = 0, c = 0;
    bool unk_open = false;  // the last symbol is an <unk> that a next unknown character joins
    // The last multi-byte character and its id: runs of one character (spaces, all "▁" by now)
    // skip the hash lookup.
    const char *last = NULL;
    int32_t last_id = -1;
    for (size_t i = 0; i < w->n_bytes; c++) {
        const char *ch = w->bytes + i;
        const int k = (int)dy_utf8_length((unsigned char)*ch);
        const uint32_t from = spans ? w->origin[c] : 0, to = spans ? from + (uint32_t)dy_utf8_length((unsigned char)s[from]) : 0;
        i += (size_t)k;
        const bool repeat = k > 1 && last && dy_utf8_length((unsigned char)*last) == (size_t)k && memcmp(last, ch, (size_t)k) == 0;
        const int32_t id = repeat ? last_id : char_id(tok, ch, (size_t)k);
        if (k > 1) {
            last = ch;
            last_id = id;
        }
        if (id >= 0 || tok->byte_fallback) {
            for (int b = 0; b < (id >= 0 ? 1 : k); b++, n++) {
                sc->sym[n].id = id >= 0 ? id : tok->fallback_id[(unsigned char)ch[b]];
                if (spans) {
                    sc->start[n] = from;
                    sc->end[n] = to;
                }
            }
            unk_open = false;
            continue;
        }
        if (tok->unk_id < 0)
            return dy_fail(err, "%s: model: a character of the text (byte %u) is not in model.vocab, and there is no unk_token",
                           tok->path, w->origin[c]);
        if (unk_open) {
            sc->end[n - 1] = to;
            continue;
        }
        sc->sym[n] = (dy_bpe_symbol){.id = tok->unk_id};
        sc->start[n] = from;
        sc->end[n++] = to;
        unk_open = tok->fuse_unk;
    }
    for (size_t i = 0; i < n; i++) {
        sc->sym[i].prev = (int32_t)i - 1;
        sc->sym[i].next = i + 1 < n ? (int32_t)i + 1 : -1;
    }
    return (ptrdiff_t)n;
}

int dy_char_bpe_segment(dy_tokenizer *tok, const char *s, size_t len, size_t base, dy_tokens *out,
                        dy_token_offsets *offsets, dy_error *err) {
    dy_char_bpe_scratch *sc = &tok->char_scratch;
    if (len > INT32_MAX) return dy_fail(err, "tokenizer: a text of %zu bytes between added tokens is over 2 GiB", len);
    if (dy_normalize(tok->norm, tok->n_norm, s, len, &sc->text, &sc->tmp) || reserve(sc, sc->text.n_bytes))
        return dy_fail(err, "tokenizer: out of memory");  // a character gives at most one symbol per byte
    const ptrdiff_t n = start_symbols(tok, &sc->text, s, offsets != NULL, err);
    if (n <= 0) return (int)n;
    if (dy_bpe_merge(tok, &tok->scratch.queue, sc->sym, (size_t)n)) return dy_fail(err, "tokenizer: out of memory");
    for (int32_t i = 0; i >= 0; i = sc->sym[i].next) {
        const int32_t last = (sc->sym[i].next >= 0 ? sc->sym[i].next : (int32_t)n) - 1;
        if (dy_tokens_push(out, sc->sym[i].id) ||
            (offsets && dy_token_offsets_push(offsets, (int64_t)(base + sc->start[i]), (int64_t)(base + sc->end[last]))))
            return dy_fail(err, "tokenizer: out of memory");
    }
    return 0;
}

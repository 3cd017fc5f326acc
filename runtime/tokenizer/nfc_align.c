// NFC with HF's alignments (nfc_align.h): the crate's Decompositions and Recompositions
// iterators ported as pull functions over small growing buffers, then HF's transform_range.
// The per-character properties come from utf8proc with the characters assigned after Unicode 9.0
// made inert, as dy_nfc_unicode9 does; the caller compares the text with dy_nfc_unicode9's.
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <utf8proc.h>

#include "nfc_align.h"
#include "nfc_unicode9.h"
#include "runtime/util/utf8.h"

typedef struct {
    int32_t ch, change;
    uint32_t seq;  // push order: makes qsort's order the crate's stable sort
    uint8_t ccc;
} item;

typedef struct {
    item *at;
    size_t n, cap;
} items;

static int push(items *v, item it) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 16;
        item *grown = realloc(v->at, cap * sizeof *grown);
        if (!grown) return -1;
        v->at = grown;
        v->cap = cap;
    }
    v->at[v->n++] = it;
    return 0;
}

static uint8_t ccc_of(int32_t cp) {
    return dy_nfc_unicode9_is_inert(cp) ? 0 : (uint8_t)utf8proc_get_property(cp)->combining_class;
}

// The crate's char::compose: the primary composite of the pair, or -1. No composition has a
// second character below U+0300, which spares the common case the utf8proc call.
static int32_t compose(int32_t a, int32_t b) {
    if (b < 0x300 || dy_nfc_unicode9_is_inert(a) || dy_nfc_unicode9_is_inert(b)) return -1;
    utf8proc_int32_t pair[2] = {a, b};
    return utf8proc_normalize_utf32(pair, 2, UTF8PROC_STABLE | UTF8PROC_COMPOSE) == 1 ? pair[0] : -1;
}

// decompose.rs: characters are decomposed into a buffer whose tail after the last starter is
// "pending"; a starter (or the end) sorts the pending part by combining class and makes it ready.
typedef struct {
    const char *s;
    size_t len, pos;
    items buf;
    size_t ready_start, ready_end;
    uint32_t seq;
} decomposer;

static int by_class_then_order(const void *pa, const void *pb) {
    const item *a = pa, *b = pb;
    if (a->ccc != b->ccc) return a->ccc < b->ccc ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void sort_pending(decomposer *d) {
    if (d->buf.n - d->ready_end > 1)
        qsort(d->buf.at + d->ready_end, d->buf.n - d->ready_end, sizeof *d->buf.at, by_class_then_order);
    d->ready_end = d->buf.n;
}

static int push_back(decomposer *d, int32_t ch, bool first) {
    const uint8_t ccc = ccc_of(ch);
    if (ccc == 0) sort_pending(d);
    return push(&d->buf, (item){ch, first ? 0 : 1, d->seq++, ccc});
}

// The next character of s, fully decomposed (canonical; Hangul too) into the buffer.
static int read_char(decomposer *d) {
    utf8proc_int32_t cp, parts[16];
    const utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)d->s + d->pos, (utf8proc_ssize_t)(d->len - d->pos), &cp);
    if (k <= 0) return -1;  // the caller checked the text: not reached
    d->pos += (size_t)k;
    utf8proc_ssize_t n = 1;
    parts[0] = cp;
    if (!dy_nfc_unicode9_is_inert(cp)) n = utf8proc_decompose_char(cp, parts, 16, UTF8PROC_DECOMPOSE, NULL);
    if (n <= 0 || n > 16) return -1;
    for (utf8proc_ssize_t i = 0; i < n; i++)
        if (push_back(d, parts[i], i == 0)) return -1;
    return 0;
}

// Next (character, change): 1, or 0 at the end, or -1.
static int decomposed(decomposer *d, item *out) {
    while (d->ready_end == 0) {
        if (d->pos < d->len) {
            if (read_char(d)) return -1;
            continue;
        }
        if (d->buf.n == 0) return 0;
        sort_pending(d);
    }
    *out = d->buf.at[d->ready_start];
    if (++d->ready_start == d->ready_end) {  // reset_buffer: the pending tail moves to the front
        const size_t pending = d->buf.n - d->ready_end;
        for (size_t i = 0; i < pending; i++) d->buf.at[i] = d->buf.at[i + d->ready_end];
        d->buf.n = pending;
        d->ready_start = d->ready_end = 0;
    }
    return 1;
}

// recompose.rs, state for state. The composee's change absorbs each character composed into it
// (k.1 + change - 1).
typedef enum { COMPOSING, PURGING, FINISHED } recompose_state;

typedef struct {
    decomposer d;
    recompose_state state;
    size_t next;  // PURGING, FINISHED: the next buffered character to give
    items buf;
    bool has_composee;
    item composee;
    int last_ccc;  // -1: none
} recomposer;

static int give(item *out, item it) {
    *out = it;
    return 1;
}

static int composing(recomposer *r, item *out) {
    item ch;
    int rc;
    while ((rc = decomposed(&r->d, &ch)) > 0) {
        if (!r->has_composee) {
            if (ch.ccc != 0) return give(out, ch);
            r->composee = ch;
            r->has_composee = true;
            continue;
        }
        const item k = r->composee;
        if (r->last_ccc >= 0 && r->last_ccc >= ch.ccc) {  // ch is blocked from the composee
            if (ch.ccc == 0) {
                r->composee = ch;
                r->last_ccc = -1;
                r->state = PURGING;
                r->next = 0;
                return give(out, k);
            }
            if (push(&r->buf, ch)) return -1;
            r->last_ccc = ch.ccc;
            continue;
        }
        const int32_t c = compose(k.ch, ch.ch);
        if (c >= 0) {
            r->composee = (item){c, k.change + ch.change - 1, 0, ccc_of(c)};
            continue;
        }
        if (r->last_ccc < 0 && ch.ccc == 0) {
            r->composee = ch;
            return give(out, k);
        }
        if (push(&r->buf, ch)) return -1;
        r->last_ccc = ch.ccc;
    }
    if (rc < 0) return -1;
    r->state = FINISHED;
    r->next = 0;
    if (r->has_composee) {
        r->has_composee = false;
        return give(out, r->composee);
    }
    return 2;  // nothing given: go on in FINISHED
}

static int recomposed(recomposer *r, item *out) {
    for (;;) {
        if (r->state == COMPOSING) {
            const int rc = composing(r, out);
            if (rc != 2) return rc;
        } else if (r->next < r->buf.n) {
            return give(out, r->buf.at[r->next++]);
        } else {
            r->buf.n = 0;
            if (r->state == FINISHED) return 0;  // the composee was given when the input ended
            r->state = COMPOSING;
        }
    }
}

static int put_char(dy_normalized *out, int32_t ch, uint32_t origin) {
    if (out->n_bytes + 4 > out->cap_bytes || out->n_chars + 1 > out->cap_chars) {
        const size_t bytes = 2 * out->cap_bytes + 64, chars = 2 * out->cap_chars + 16;
        if (dy_normalized_reserve(out, bytes, chars)) return -1;
    }
    out->n_bytes += (size_t)utf8proc_encode_char(ch, (utf8proc_uint8_t *)out->bytes + out->n_bytes);
    out->origin[out->n_chars++] = origin;
    return 0;
}

// transform_range: a change <= 0 takes the next original character's alignment and consumes it
// and -change more; a change > 0 takes the alignment of the byte before (the last consumed
// character's).
int dy_nfc_aligned(const char *s, size_t len, dy_normalized *out, size_t *where) {
    recomposer r = {.d = {.s = s, .len = len}, .state = COMPOSING, .last_ccc = -1};
    out->n_bytes = out->n_chars = 0;
    size_t pos = 0, last = 0;  // next original character; start of the last consumed one
    bool consumed = false;
    int rc;
    item it;
    while ((rc = recomposed(&r, &it)) > 0) {
        if (it.change <= 0 && pos >= len) {
            rc = DY_NFC_UNALIGNED;
            break;
        }
        if (it.change > 0 && !consumed) {
            rc = DY_NFC_UNALIGNED;
            break;
        }
        const size_t origin = it.change > 0 ? last : pos;
        for (int32_t k = 0; it.change <= 0 && k <= -it.change && pos < len; k++) {
            last = pos;
            pos += dy_utf8_length((unsigned char)s[pos]);
            consumed = true;
        }
        if (put_char(out, it.ch, (uint32_t)origin)) {
            rc = -1;
            break;
        }
    }
    // The crate's tags add up to the original character count; anything else is a fault of this
    // port, and its alignments would be guesses.
    if (rc == 0 && pos != len) rc = DY_NFC_UNALIGNED;
    *where = pos;
    free(r.d.buf.at);
    free(r.buf.at);
    return rc;
}

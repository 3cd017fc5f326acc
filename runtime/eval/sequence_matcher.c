#include "sequence_matcher.h"

#include <stdbool.h>
#include <stdlib.h>

// b2j: for each element of b that seeds matches, its positions in b in ascending order.
typedef struct {
    uint32_t value;
    size_t start, count;  // into positions
} chain;

typedef struct {
    const uint32_t *a, *b;
    chain *chains;  // sorted by value
    size_t n_chains;
    size_t *positions;
    // find_longest_match's j2len (previous row) and newj2len (this row) indexed by j, zero where
    // the dict has no entry, with the entries each row set so they can be cleared.
    size_t *len_prev, *len_cur, *set_prev, *set_cur;
} matcher;

typedef struct {
    uint32_t value;
    size_t pos;
} element;

static int by_value_then_pos(const void *x, const void *y) {
    const element *a = x, *b = y;
    if (a->value != b->value) return a->value < b->value ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

// __chain_b with isjunk None: popular elements (autojunk) are left out of b2j.
static int chain_b(matcher *m, size_t lb) {
    element *e = malloc((lb ? lb : 1) * sizeof *e);
    m->positions = malloc((lb ? lb : 1) * sizeof *m->positions);
    m->chains = malloc((lb ? lb : 1) * sizeof *m->chains);
    if (!e || !m->positions || !m->chains) {
        free(e);
        return -1;
    }
    for (size_t j = 0; j < lb; j++) e[j] = (element){m->b[j], j};
    qsort(e, lb, sizeof *e, by_value_then_pos);
    const size_t ntest = lb / 100 + 1;
    size_t n_pos = 0;
    for (size_t i = 0; i < lb;) {
        size_t k = i;
        while (k < lb && e[k].value == e[i].value) k++;
        if (!(lb >= 200 && k - i > ntest)) {
            m->chains[m->n_chains++] = (chain){e[i].value, n_pos, k - i};
            for (size_t t = i; t < k; t++) m->positions[n_pos++] = e[t].pos;
        }
        i = k;
    }
    free(e);
    return 0;
}

static const chain *chain_of(const matcher *m, uint32_t value) {
    size_t lo = 0, hi = m->n_chains;
    while (lo < hi) {
        const size_t mid = lo + (hi - lo) / 2;
        if (m->chains[mid].value < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n_chains && m->chains[lo].value == value ? &m->chains[lo] : NULL;
}

typedef struct {
    size_t i, j, size;
} block;

static block find_longest_match(matcher *m, size_t alo, size_t ahi, size_t blo, size_t bhi) {
    size_t besti = alo, bestj = blo, bestsize = 0, n_prev = 0;
    for (size_t i = alo; i < ahi; i++) {
        size_t n_cur = 0;
        const chain *c = chain_of(m, m->a[i]);
        for (size_t t = 0; c && t < c->count; t++) {
            const size_t j = m->positions[c->start + t];
            if (j < blo) continue;
            if (j >= bhi) break;
            const size_t k = (j > 0 ? m->len_prev[j - 1] : 0) + 1;
            m->len_cur[j] = k;
            m->set_cur[n_cur++] = j;
            if (k > bestsize) {
                besti = i - k + 1;
                bestj = j - k + 1;
                bestsize = k;
            }
        }
        for (size_t t = 0; t < n_prev; t++) m->len_prev[m->set_prev[t]] = 0;
        size_t *swap = m->len_prev;
        m->len_prev = m->len_cur;
        m->len_cur = swap;
        swap = m->set_prev;
        m->set_prev = m->set_cur;
        m->set_cur = swap;
        n_prev = n_cur;
    }
    for (size_t t = 0; t < n_prev; t++) m->len_prev[m->set_prev[t]] = 0;
    // With no junk, the extension loops over junk elements do nothing; these extend the block
    // over equal elements on both sides, popular ones included.
    while (besti > alo && bestj > blo && m->a[besti - 1] == m->b[bestj - 1]) {
        besti--;
        bestj--;
        bestsize++;
    }
    while (besti + bestsize < ahi && bestj + bestsize < bhi && m->a[besti + bestsize] == m->b[bestj + bestsize])
        bestsize++;
    return (block){besti, bestj, bestsize};
}

// The total size of get_matching_blocks(): the ranges left and right of each longest block are
// matched in turn, last pushed first, as difflib's queue does.
static int matched_elements(matcher *m, size_t la, size_t lb, size_t *total) {
    size_t cap = 64, n = 0;
    size_t (*stack)[4] = malloc(cap * sizeof *stack);
    if (!stack) return -1;
    stack[n][0] = 0, stack[n][1] = la, stack[n][2] = 0, stack[n][3] = lb;
    n++;
    *total = 0;
    while (n) {
        n--;
        const size_t alo = stack[n][0], ahi = stack[n][1], blo = stack[n][2], bhi = stack[n][3];
        const block x = find_longest_match(m, alo, ahi, blo, bhi);
        if (!x.size) continue;
        *total += x.size;
        if (n + 2 > cap) {
            cap *= 2;
            void *p = realloc(stack, cap * sizeof *stack);
            if (!p) {
                free(stack);
                return -1;
            }
            stack = p;
        }
        if (alo < x.i && blo < x.j) {
            stack[n][0] = alo, stack[n][1] = x.i, stack[n][2] = blo, stack[n][3] = x.j;
            n++;
        }
        if (x.i + x.size < ahi && x.j + x.size < bhi) {
            stack[n][0] = x.i + x.size, stack[n][1] = ahi, stack[n][2] = x.j + x.size, stack[n][3] = bhi;
            n++;
        }
    }
    free(stack);
    return 0;
}

int dy_sequence_matcher_ratio(const uint32_t *a, size_t la, const uint32_t *b, size_t lb, double *ratio) {
    if (la + lb == 0) {
        *ratio = 1.0;
        return 0;
    }
    matcher m = {.a = a, .b = b};
    const size_t slots = lb ? lb : 1;
    m.len_prev = calloc(slots, sizeof *m.len_prev);
    m.len_cur = calloc(slots, sizeof *m.len_cur);
    m.set_prev = malloc(slots * sizeof *m.set_prev);
    m.set_cur = malloc(slots * sizeof *m.set_cur);
    size_t total = 0;
    int rc = -1;
    if (m.len_prev && m.len_cur && m.set_prev && m.set_cur && chain_b(&m, lb) == 0 &&
        matched_elements(&m, la, lb, &total) == 0) {
        *ratio = 2.0 * (double)total / (double)(la + lb);
        rc = 0;
    }
    free(m.len_prev);
    free(m.len_cur);
    free(m.set_prev);
    free(m.set_cur);
    free(m.chains);
    free(m.positions);
    return rc;
}

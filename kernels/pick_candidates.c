#include "pick_candidates.h"

#include <stdbool.h>
#include <stdlib.h>

static int by_prob_desc(const void *a, const void *b) {
    const dy_pick_candidate *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;  // ties: lower id first
}

static int by_id(const void *a, const void *b) {
    const dy_pick_candidate *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

void dy_pick_sort_candidates(dy_pick_candidate *c, int n) { qsort(c, (size_t)n, sizeof *c, by_prob_desc); }

int32_t dy_pick_sample_candidates(dy_pick_candidate *c, int n, double vocab_sum, const dy_pick_params *p) {
    dy_pick_sort_candidates(c, n);
    const bool top_k = p->sample_top_k > 0 && (vocab_sum < 0 ? p->sample_top_k < n : true);
    int keep = top_k && p->sample_top_k < n ? p->sample_top_k : n;
    double sum = 0;
    for (int i = 0; i < keep; i++) sum += c[i].p;
    if (!top_k && vocab_sum >= 0) sum = vocab_sum;  // keep is all of the vocabulary, of which c is a part
    if (p->sample_top_p < 1) {  // the smallest prefix whose mass reaches top_p (the crossing token included)
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += c[i].p / sum;
            if (mass >= p->sample_top_p) {
                keep = i + 1;
                break;
            }
        }
        sum = 0;
        for (int i = 0; i < keep; i++) sum += c[i].p;
    }
    qsort(c, (size_t)keep, sizeof *c, by_id);
    double r = p->u * sum;
    int32_t last = c[0].id;  // the last kept id with p > 0: where the walk ends when rounding leaves r >= 0
    for (int i = 0; i < keep; i++) {
        if (c[i].p > 0) last = c[i].id;
        r -= c[i].p;
        if (r < 0) return c[i].id;
    }
    return last;
}

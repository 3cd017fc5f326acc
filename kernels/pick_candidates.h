// The definition of sampling over a set of candidate tokens, shared by the CPU's pick op (every
// token a candidate) and the vocabulary-parallel pick (parallel/tp_pick.h: the candidates the
// ranks sent, a superset of the kept set): temperature already applied to p, then top-k, then
// top-p over the candidates ordered by (p descending, id ascending), then the inverse-CDF walk over
// the kept set in ascending id order with r = u * (the kept mass).
#ifndef DYSCO_PICK_CANDIDATES_H
#define DYSCO_PICK_CANDIDATES_H

#include "backend.h"

typedef struct {
    float p;     // exp((logit - max) / temperature), max the largest logit of the whole vocabulary
    int32_t id;
} dy_pick_candidate;

// Sorts c (n) by (p descending, id ascending): the order top-k and top-p read.
void dy_pick_sort_candidates(dy_pick_candidate *c, int n);
// The sampled id under p's top-k, top-p and u; reorders c. vocab_sum < 0: c holds every token of
// the vocabulary (n of them). Otherwise c holds a part of it that contains the kept set, and
// vocab_sum is the mass of the whole vocabulary, which top-p measures against when top-k keeps
// more than the n candidates.
int32_t dy_pick_sample_candidates(dy_pick_candidate *c, int n, double vocab_sum, const dy_pick_params *p);

#endif

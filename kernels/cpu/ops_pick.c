// Choosing the next token, the reference for every backend: argmax and log-softmax in double as
// torch's fp32 results are checked against, and the kept set built the obvious way (a full sort
// by probability), so the GPU's sort-free thresholds are measured against a plain definition.
#include <math.h>
#include <stdlib.h>

#include "ops_cpu.h"
#include "scratch.h"

typedef struct {
    float p;
    int32_t id;
} candidate;

size_t dy_cpu_pick_scratch_bytes(int64_t vocab) { return (size_t)vocab * sizeof(candidate); }

static int by_prob_desc(const void *a, const void *b) {
    const candidate *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;  // ties: lower id first
}

static int by_id(const void *a, const void *b) { return ((const candidate *)a)->id - ((const candidate *)b)->id; }

// Temperature, then top-k, then top-p over c (vocab) by (p desc, id asc); then the inverse-CDF walk
// over the kept set in ascending id order (backend.h).
static int32_t sample(candidate *c, const float *logits, int vocab, double max, const dy_pick_params *p) {
    for (int i = 0; i < vocab; i++) c[i] = (candidate){(float)exp(((double)logits[i] - max) / p->temperature), i};
    qsort(c, (size_t)vocab, sizeof *c, by_prob_desc);
    int keep = p->sample_top_k > 0 && p->sample_top_k < vocab ? p->sample_top_k : vocab;
    double sum = 0;
    for (int i = 0; i < keep; i++) sum += c[i].p;
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

void dy_cpu_pick(dy_backend *b, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out) {
    int32_t best = 0;
    for (int i = 1; i < vocab; i++)
        if (logits[i] > logits[best]) best = i;  // strict: the first index wins ties, as torch.argmax
    const double max = logits[best];
    double sum = 0;
    for (int i = 0; i < vocab; i++) sum += exp((double)logits[i] - max);
    int32_t token = best;
    if (p->forced >= 0) token = p->forced;
    else if (p->temperature > 0) token = sample(dy_cpu_scratch(b, dy_cpu_pick_scratch_bytes(vocab)), logits, vocab, max, p);
    *out = (dy_pick){.token = token, .argmax = best, .logprob = (float)((double)logits[token] - max - log(sum))};
}

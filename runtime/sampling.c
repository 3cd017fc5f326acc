#include "sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int dy_sampler_init(dy_sampler *s, int vocab, float temperature, float top_p, int top_k, uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->temperature = temperature;
    s->top_p = top_p;
    s->top_k = top_k;
    s->state = seed ^ 0x853C49E6748FEA9Bull;
    s->vocab = vocab;
    if (temperature <= 0) return 0;
    s->candidates = malloc((size_t)vocab * sizeof *s->candidates);
    return s->candidates ? 0 : -1;
}

void dy_sampler_free(dy_sampler *s) {
    free(s->candidates);
    memset(s, 0, sizeof *s);
}

int32_t dy_argmax(const float *logits, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (logits[i] > logits[best]) best = i;
    return best;
}

float dy_logprob(const float *logits, int n, int32_t token) {
    double max = logits[dy_argmax(logits, n)], sum = 0;
    for (int i = 0; i < n; i++) sum += exp((double)logits[i] - max);
    return (float)((double)logits[token] - max - log(sum));
}

static double uniform(dy_sampler *s) {  // splitmix64, 53 bits
    uint64_t z = (s->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

static int by_prob_desc(const void *a, const void *b) {
    const struct dy_candidate *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id;  // ties: lower id first, deterministic
}

int32_t dy_sample(dy_sampler *s, const float *logits) {
    if (s->temperature <= 0) return dy_argmax(logits, s->vocab);
    const int n = s->vocab;
    struct dy_candidate *c = s->candidates;
    double max = logits[dy_argmax(logits, n)], sum = 0;
    for (int i = 0; i < n; i++) c[i] = (struct dy_candidate){(float)exp(((double)logits[i] - max) / s->temperature), i};
    qsort(c, (size_t)n, sizeof *c, by_prob_desc);
    int keep = s->top_k > 0 && s->top_k < n ? s->top_k : n;
    for (int i = 0; i < keep; i++) sum += c[i].p;
    if (s->top_p < 1) {  // the smallest prefix whose mass reaches top_p (the crossing token included)
        double mass = 0;
        for (int i = 0; i < keep; i++) {
            mass += c[i].p / sum;
            if (mass >= s->top_p) {
                keep = i + 1;
                break;
            }
        }
        sum = 0;
        for (int i = 0; i < keep; i++) sum += c[i].p;
    }
    double r = uniform(s) * sum;
    for (int i = 0; i < keep; i++) {
        r -= c[i].p;
        if (r < 0) return c[i].id;
    }
    return c[keep - 1].id;
}

// Choosing the next token from fp32 logits: greedy (argmax, first index on ties) or sampling
// with temperature, top-k and top-p applied in that order (as transformers' warpers are), from
// a seeded generator of our own (runs are reproducible; they cannot match torch's RNG).
#ifndef DYSCO_SAMPLING_H
#define DYSCO_SAMPLING_H

#include <stdint.h>

typedef struct {
    float temperature;  // <= 0: greedy
    float top_p;        // 1: off
    int top_k;          // 0: off
    uint64_t state;
    struct dy_candidate {
        float p;
        int32_t id;
    } *candidates;  // scratch (vocab)
    int vocab;
} dy_sampler;

int dy_sampler_init(dy_sampler *s, int vocab, float temperature, float top_p, int top_k, uint64_t seed);
void dy_sampler_free(dy_sampler *s);
int32_t dy_sample(dy_sampler *s, const float *logits);

int32_t dy_argmax(const float *logits, int n);
// log softmax(logits)[token], computed in double.
float dy_logprob(const float *logits, int n, int32_t token);

#endif

// The host's side of choosing the next token (the choice itself is the backend op pick,
// kernels/backend.h): the sampling settings and a seeded generator of our own, so runs are
// reproducible (they cannot match torch's RNG). One uniform is drawn per sampled token.
#ifndef DYSCO_SAMPLING_H
#define DYSCO_SAMPLING_H

#include <stdint.h>

#include "kernels/backend.h"

typedef struct {
    float temperature;  // <= 0: greedy
    float sample_top_p;  // 1: off
    int sample_top_k;    // 0: off
    uint64_t state;
} dy_sampler;

void dy_sampler_init(dy_sampler *s, float temperature, float sample_top_p, int sample_top_k, uint64_t seed);
// pick's parameters for the next token: forced >= 0 takes that token (no draw); otherwise greedy,
// or sampling with a fresh u from the generator.
dy_pick_params dy_sampler_next(dy_sampler *s, int32_t forced);

#endif

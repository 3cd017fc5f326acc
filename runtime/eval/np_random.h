// numpy's random Generator where the reference's data loading uses it: Hugging Face datasets'
// Dataset.shuffle(seed=S) is np.random.default_rng(S).permutation(len(dataset)), and HELMET's
// hotpot loader picks each question's demos that way. default_rng(S) is PCG64 (XSL-RR 128/64)
// seeded through SeedSequence(S); permutation is a Fisher-Yates walk from the end drawing each
// index with numpy's masked rejection sampling (random_interval) from 32-bit halves of the
// 64-bit outputs. Same seed, same permutation as numpy >= 1.17.
#ifndef DYSCO_NP_RANDOM_H
#define DYSCO_NP_RANDOM_H

#include <stdint.h>

typedef struct {
    unsigned __int128 state, inc;
    uint32_t spare;   // the high half of the last 64-bit output, when has_spare
    int has_spare;
} dy_np_pcg64;

// np.random.default_rng(seed) for a non-negative int seed.
void dy_np_default_rng(dy_np_pcg64 *g, uint64_t seed);
// The bit generator's next 64-bit output (PCG64.random_raw()).
uint64_t dy_np_next64(dy_np_pcg64 *g);
// rng.permutation(n) into out[0..n).
void dy_np_permutation(dy_np_pcg64 *g, int *out, int n);
// The order Dataset.shuffle(seed=seed) puts n rows in: default_rng(seed).permutation(n), malloc'd
// (NULL when out of memory).
int *dy_np_shuffled_order(uint64_t seed, int n);

#endif

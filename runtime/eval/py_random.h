// Python's random module where the reference uses it: random.seed(SEED) then random.shuffle(list)
// picks a run's --test-size examples (run_eval.py), random.sample(list, k) HELMET's questions. The Mersenne Twister (MT19937) seeded as CPython seeds it
// from an int (init_by_array over the 32-bit words of abs(seed)), getrandbits, and shuffle's
// Fisher-Yates walk with _randbelow's rejection sampling, so the same seed picks the same
// examples as the reference.
#ifndef DYSCO_PY_RANDOM_H
#define DYSCO_PY_RANDOM_H

#include <stdint.h>

enum { DY_MT_N = 624 };

typedef struct {
    uint32_t mt[DY_MT_N];
    int index;
} dy_py_random;

// random.seed(seed) for an int seed.
void dy_py_random_seed(dy_py_random *r, int64_t seed);
// random.getrandbits(k) for 1 <= k <= 32.
uint32_t dy_py_random_bits(dy_py_random *r, int k);
// random.shuffle(x) of x[0..n), n < 2^31: the permutation applied to an array of indices.
void dy_py_random_shuffle(dy_py_random *r, int *x, int n);
// random.sample(population, k) of a population of n < 2^31 items, 0 <= k <= n: the indices of the
// k items it returns, in its order, into out[0..k). Returns -1 when out of memory.
int dy_py_random_sample(dy_py_random *r, int n, int k, int *out);

#endif

#include "py_random.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

enum { MT_M = 397 };
#define MATRIX_A 0x9908b0dfu
#define UPPER_MASK 0x80000000u
#define LOWER_MASK 0x7fffffffu

static void init_genrand(dy_py_random *r, uint32_t s) {
    r->mt[0] = s;
    for (int i = 1; i < DY_MT_N; i++) r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->index = DY_MT_N;
}

// MT19937's init_by_array (the reference code CPython's _randommodule.c uses).
static void init_by_array(dy_py_random *r, const uint32_t *key, int len) {
    init_genrand(r, 19650218u);
    uint32_t *mt = r->mt;
    int i = 1, j = 0;
    for (int k = DY_MT_N > len ? DY_MT_N : len; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= DY_MT_N) {
            mt[0] = mt[DY_MT_N - 1];
            i = 1;
        }
        if (j >= len) j = 0;
    }
    for (int k = DY_MT_N - 1; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= DY_MT_N) {
            mt[0] = mt[DY_MT_N - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000u;  // the state is never all zeros
}

void dy_py_random_seed(dy_py_random *r, int64_t seed) {
    // The 32-bit words of abs(seed), least significant first; 0 is the one word 0.
    const uint64_t a = seed < 0 ? (uint64_t)0 - (uint64_t)seed : (uint64_t)seed;
    uint32_t key[2] = {(uint32_t)a, (uint32_t)(a >> 32)};
    init_by_array(r, key, key[1] ? 2 : 1);
}

static uint32_t next_word(dy_py_random *r) {
    uint32_t *mt = r->mt, y;
    if (r->index >= DY_MT_N) {  // the next 624 words at once
        int k;
        for (k = 0; k < DY_MT_N - MT_M; k++) {
            y = (mt[k] & UPPER_MASK) | (mt[k + 1] & LOWER_MASK);
            mt[k] = mt[k + MT_M] ^ (y >> 1) ^ (y & 1u ? MATRIX_A : 0u);
        }
        for (; k < DY_MT_N - 1; k++) {
            y = (mt[k] & UPPER_MASK) | (mt[k + 1] & LOWER_MASK);
            mt[k] = mt[k + (MT_M - DY_MT_N)] ^ (y >> 1) ^ (y & 1u ? MATRIX_A : 0u);
        }
        y = (mt[DY_MT_N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
        mt[DY_MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ (y & 1u ? MATRIX_A : 0u);
        r->index = 0;
    }
    y = mt[r->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t dy_py_random_bits(dy_py_random *r, int k) { return next_word(r) >> (32 - k); }

// _randbelow(n): getrandbits(n.bit_length()) until it falls below n.
static int below(dy_py_random *r, int n) {
    int k = 0;
    while (k < 31 && (n >> k) != 0) k++;
    uint32_t v;
    do v = dy_py_random_bits(r, k);
    while (v >= (uint32_t)n);
    return (int)v;
}

void dy_py_random_shuffle(dy_py_random *r, int *x, int n) {
    for (int i = n - 1; i > 0; i--) {
        const int j = below(r, i + 1);
        const int t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

// CPython's two ways, chosen as it chooses: a shrinking pool when n is at most the size a set of
// k would take, else draws over the whole range with the repeats drawn again.
int dy_py_random_sample(dy_py_random *r, int n, int k, int *out) {
    double setsize = 21;
    if (k > 5) setsize += pow(4, ceil(log(k * 3.0) / log(4.0)));
    if (n <= setsize) {
        int *pool = malloc((size_t)(n ? n : 1) * sizeof *pool);
        if (!pool) return -1;
        for (int i = 0; i < n; i++) pool[i] = i;
        for (int i = 0; i < k; i++) {
            const int j = below(r, n - i);
            out[i] = pool[j];
            pool[j] = pool[n - i - 1];
        }
        free(pool);
        return 0;
    }
    bool *selected = calloc((size_t)n, sizeof *selected);
    if (!selected) return -1;
    for (int i = 0; i < k; i++) {
        int j;
        do j = below(r, n);
        while (selected[j]);
        selected[j] = true;
        out[i] = j;
    }
    free(selected);
    return 0;
}

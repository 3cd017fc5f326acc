#include "np_random.h"

#include <stdlib.h>

// SeedSequence's hashing constants (numpy/random/bit_generator.pyx).
#define INIT_A 0x43b0d7e5u
#define MULT_A 0x931e8875u
#define INIT_B 0x8b51f9ddu
#define MULT_B 0x58f38dedu
#define MIX_MULT_L 0xca01f9ddu
#define MIX_MULT_R 0x4973f715u
enum { POOL = 4 };

static uint32_t hashmix(uint32_t v, uint32_t *hash_const) {
    v ^= *hash_const;
    *hash_const *= MULT_A;
    v *= *hash_const;
    return v ^ (v >> 16);
}

static uint32_t mix(uint32_t x, uint32_t y) {
    const uint32_t r = MIX_MULT_L * x - MIX_MULT_R * y;
    return r ^ (r >> 16);
}

// SeedSequence(seed).generate_state(4, np.uint64): the entropy is seed's 32-bit words, least
// significant first (0 is one word), mixed into a pool of 4 words, then 8 words drawn from the
// pool and read as 4 little-endian 64-bit words.
static void seed_sequence_state(uint64_t seed, uint64_t out[4]) {
    uint32_t entropy[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, pool[POOL], hash_const = INIT_A;
    const int n = entropy[1] ? 2 : 1;
    for (int i = 0; i < POOL; i++) pool[i] = hashmix(i < n ? entropy[i] : 0, &hash_const);
    for (int src = 0; src < POOL; src++)
        for (int dst = 0; dst < POOL; dst++)
            if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], &hash_const));
    uint32_t words[8], draw_const = INIT_B;
    for (int i = 0; i < 8; i++) {
        uint32_t v = pool[i % POOL] ^ draw_const;
        draw_const *= MULT_B;
        v *= draw_const;
        words[i] = v ^ (v >> 16);
    }
    for (int i = 0; i < 4; i++) out[i] = (uint64_t)words[2 * i] | (uint64_t)words[2 * i + 1] << 32;
}

static const unsigned __int128 PCG_MULT = (unsigned __int128)2549297995355413924ull << 64 | 4865540595714422341ull;

static void step(dy_np_pcg64 *g) { g->state = g->state * PCG_MULT + g->inc; }

void dy_np_default_rng(dy_np_pcg64 *g, uint64_t seed) {
    uint64_t v[4];
    seed_sequence_state(seed, v);
    // pcg64_set_seed: state = v[0]:v[1], stream = v[2]:v[3] (high word first); PCG's srandom.
    const unsigned __int128 initstate = (unsigned __int128)v[0] << 64 | v[1];
    const unsigned __int128 initseq = (unsigned __int128)v[2] << 64 | v[3];
    *g = (dy_np_pcg64){.state = 0, .inc = initseq << 1 | 1};
    step(g);
    g->state += initstate;
    step(g);
}

uint64_t dy_np_next64(dy_np_pcg64 *g) {
    step(g);
    const uint64_t x = (uint64_t)(g->state >> 64) ^ (uint64_t)g->state;
    const int r = (int)(g->state >> 122);
    return (x >> r) | (x << ((64 - r) & 63));
}

// next_uint32: the low half of a fresh 64-bit output, its high half kept for the next call.
static uint32_t next32(dy_np_pcg64 *g) {
    if (g->has_spare) {
        g->has_spare = 0;
        return g->spare;
    }
    const uint64_t v = dy_np_next64(g);
    g->spare = (uint32_t)(v >> 32);
    g->has_spare = 1;
    return (uint32_t)v;
}

// random_interval(max): a uniform value in [0, max] for max < 2^31, by masking to the smallest
// all-ones mask covering max and rejecting values above it.
static int interval(dy_np_pcg64 *g, int max) {
    uint32_t mask = (uint32_t)max, v;
    if (max == 0) return 0;
    for (int s = 1; s < 32; s <<= 1) mask |= mask >> s;
    while ((v = next32(g) & mask) > (uint32_t)max) {
    }
    return (int)v;
}

void dy_np_permutation(dy_np_pcg64 *g, int *out, int n) {
    for (int i = 0; i < n; i++) out[i] = i;
    for (int i = n - 1; i > 0; i--) {
        const int j = interval(g, i), t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
}

int *dy_np_shuffled_order(uint64_t seed, int n) {
    int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
    if (!order) return NULL;
    dy_np_pcg64 g;
    dy_np_default_rng(&g, seed);
    dy_np_permutation(&g, order, n);
    return order;
}

#include "weight_init.h"

#include <math.h>
#include <string.h>

static inline uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t dy_init_key(uint64_t seed, const char *tensor_name) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (const unsigned char *c = (const unsigned char *)tensor_name; *c; c++) h = (h ^ *c) * 0x100000001b3ull;
    return splitmix64(seed) ^ h;
}

void dy_init_fill(const dy_tensor_spec *s, const dy_init_params *p, uint64_t first, uint64_t n, float *out) {
    const uint64_t key = dy_init_key(p->seed, s->name);
    const bool is_norm = s->role == DY_ROLE_NORM;
    size_t len = strlen(s->name);
    const bool is_qk = len > 13 && (strcmp(s->name + len - 13, "q_proj.weight") == 0 || strcmp(s->name + len - 13, "k_proj.weight") == 0);
    const double std = is_qk && p->qk_std > 0 ? p->qk_std : p->std;
    const float scale = is_norm ? (float)p->norm_jitter : (float)(sqrt(3.0) * std);
    const float offset = is_norm ? 1.0f : 0.0f;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (uint64_t i = 0; i < n; i++) {
        uint64_t r = splitmix64(key + (first + i) * 0x9E3779B97F4A7C15ull);
        float u = (float)(r >> 40) * 0x1p-24f;
        out[i] = offset + (2.0f * u - 1.0f) * scale;
    }
}

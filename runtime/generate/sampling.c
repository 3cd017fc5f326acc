#include "sampling.h"

void dy_sampler_init(dy_sampler *s, float temperature, float sample_top_p, int sample_top_k, uint64_t seed) {
    *s = (dy_sampler){.temperature = temperature, .sample_top_p = sample_top_p, .sample_top_k = sample_top_k, .state = seed ^ 0x853C49E6748FEA9Bull};
}

static double uniform(dy_sampler *s) {  // splitmix64, 53 bits
    uint64_t z = (s->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1p-53;
}

dy_pick_params dy_sampler_next(dy_sampler *s, int32_t forced) {
    dy_pick_params p = {.temperature = s->temperature, .sample_top_p = s->sample_top_p, .sample_top_k = s->sample_top_k, .forced = forced};
    if (forced < 0 && s->temperature > 0) p.u = uniform(s);
    return p;
}

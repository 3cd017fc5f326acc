#include "rope.h"

#include <math.h>

// base^(-2i/d) as torch evaluates `1.0 / (base ** (arange(0, d, 2).float() / d))`: the exponent
// in fp32, the power and the reciprocal rounded to fp32.
static float default_inv_freq(double base, int i, int dim) {
    float exponent = (float)(2 * i) / (float)dim;
    float power = (float)pow(base, (double)exponent);
    return 1.0f / power;
}

// YaRN: the dimension at which a frequency makes `rotations` turns over the original context.
static double correction_dim(double rotations, int dim, double base, int original_ctx) {
    return dim * log(original_ctx / (rotations * 2.0 * M_PI)) / (2.0 * log(base));
}

static void yarn(const dy_rope_config *r, int dim, float *inv_freq, float *attn_factor) {
    double low = correction_dim(r->beta_fast, dim, r->theta, r->original_max_position);
    double high = correction_dim(r->beta_slow, dim, r->theta, r->original_max_position);
    if (r->truncate) {
        low = floor(low);
        high = ceil(high);
    }
    if (low < 0) low = 0;
    if (high > dim - 1) high = dim - 1;
    if (low == high) high += 0.001;  // avoids a zero-width ramp, as transformers does
    for (int i = 0; i < dim / 2; i++) {
        float power = (float)pow(r->theta, (double)((float)(2 * i) / (float)dim));
        float extrapolation = 1.0f / power, interpolation = 1.0f / ((float)r->factor * power);
        float ramp = (float)(((float)i - low) / (high - low));
        ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
        float keep = 1.0f - ramp;  // weight of the original (extrapolated) frequency
        inv_freq[i] = interpolation * (1.0f - keep) + extrapolation * keep;
    }
    *attn_factor = r->has_attention_factor ? (float)r->attention_factor
                   : r->factor <= 1        ? 1.0f
                                           : (float)(0.1 * log(r->factor) + 1.0);
}

// llama3: long wavelengths divided by factor, short kept, a smooth blend between.
static void llama3(const dy_rope_config *r, int dim, float *inv_freq) {
    const double low_wavelen = r->original_max_position / r->low_freq_factor;
    const double high_wavelen = r->original_max_position / r->high_freq_factor;
    for (int i = 0; i < dim / 2; i++) {
        float f = default_inv_freq(r->theta, i, dim);
        float wavelen = (float)(2.0 * M_PI / f);
        float scaled = wavelen > low_wavelen ? f / (float)r->factor : f;
        if (wavelen >= high_wavelen && wavelen <= low_wavelen) {
            float smooth = (float)((r->original_max_position / wavelen - r->low_freq_factor) /
                                   (r->high_freq_factor - r->low_freq_factor));
            scaled = (1.0f - smooth) * scaled / (float)r->factor + smooth * scaled;
        }
        inv_freq[i] = scaled;
    }
}

void dy_rope_frequencies(const dy_model_config *cfg, float *inv_freq, float *attn_factor) {
    const int dim = cfg->head_dim;
    *attn_factor = 1.0f;
    switch (cfg->rope.type) {
    case DY_ROPE_DEFAULT:
        for (int i = 0; i < dim / 2; i++) inv_freq[i] = default_inv_freq(cfg->rope.theta, i, dim);
        break;
    case DY_ROPE_YARN: yarn(&cfg->rope, dim, inv_freq, attn_factor); break;
    case DY_ROPE_LLAMA3: llama3(&cfg->rope, dim, inv_freq); break;
    }
}

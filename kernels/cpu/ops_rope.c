// Qwen3's per-head q/k RMSNorm and RoPE (rotate-half), fused in one pass over each head vector.
// Angles follow transformers: position * inv_freq as an fp32 product, cos and sin in fp32 times
// attention_scaling, then q * cos + rotate_half(q) * sin.
#include <math.h>

#include "ops_cpu.h"

void dy_cpu_norm_rope(dy_backend *b, dy_view *x, int n_heads, int head_dim, const dy_view *w, float eps,
                      bool normalise, const int32_t *positions, const float *inv_freq, float attn_factor) {
    (void)b;
    const int half = head_dim / 2;
    const float *weight = w ? w->data : NULL;
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t r = 0; r < x->rows; r++)
        for (int64_t h = 0; h < n_heads; h++) {
            float *v = (float *)x->data + r * x->stride + h * head_dim;  // (head_dim)
            if (normalise) {
                const float scale = dy_cpu_rms_scale(v, head_dim, eps);
                for (int i = 0; i < head_dim; i++) v[i] = weight ? weight[i] * (v[i] * scale) : v[i] * scale;
            }
            const float pos = (float)positions[r];
            for (int i = 0; i < half; i++) {
                const float angle = pos * inv_freq[i];
                const float c = cosf(angle) * attn_factor, s = sinf(angle) * attn_factor;
                const float lo = v[i], hi = v[i + half];
                v[i] = lo * c - hi * s;
                v[i + half] = hi * c + lo * s;
            }
        }
}

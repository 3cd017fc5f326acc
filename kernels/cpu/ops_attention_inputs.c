// The attention inputs: Qwen3's per-head q/k RMSNorm and RoPE (rotate-half), fused in one pass
// over each head vector, then the K/V cache write. Angles follow transformers: position *
// inv_freq as an fp32 product, cos and sin in fp32 times attention_scaling, then
// q * cos + rotate_half(q) * sin.
#include <math.h>
#include <string.h>

#include "ops_cpu.h"

// x viewed as (rows, n_heads, head_dim), each head normalised (times w) and rotated in place.
static void norm_rope(dy_view *x, int n_heads, int head_dim, const dy_view *w, float eps, bool normalise,
                      const int32_t *positions, const float *inv_freq, float attn_factor) {
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

// cache[kv_head, positions[i], :] = x[i, kv_head * head_dim : ...] for K and V.
static void kv_write(const dy_attention_inputs *a) {
    const size_t bytes = (size_t)a->head_dim * sizeof(float);
    for (int64_t i = 0; i < a->k->rows; i++)
        for (int64_t h = 0; h < a->n_kv_heads; h++) {
            const int64_t slot = (h * a->max_ctx + a->positions[i]) * a->head_dim;  // (n_kv_heads, max_ctx, head_dim)
            memcpy((float *)a->k_cache + slot, (const float *)a->k->data + i * a->k->stride + h * a->head_dim, bytes);
            memcpy((float *)a->v_cache + slot, (const float *)a->v->data + i * a->v->stride + h * a->head_dim, bytes);
        }
}

void dy_cpu_attention_inputs(dy_backend *b, const dy_attention_inputs *a) {
    (void)b;
    if (a->n_heads)
        norm_rope(a->q, a->n_heads, a->head_dim, a->q_norm, a->eps, a->normalise, a->positions, a->inv_freq,
                  a->attn_factor);
    if (a->n_kv_heads) {
        norm_rope(a->k, a->n_kv_heads, a->head_dim, a->k_norm, a->eps, a->normalise, a->positions, a->inv_freq,
                  a->attn_factor);
        kv_write(a);
    }
}

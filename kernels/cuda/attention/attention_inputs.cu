// The attention inputs of a pass in one launch: Qwen3's per-head q/k RMSNorm and RoPE
// (rotate-half) in one pass over each head vector, and the rotated k and the v rows copied into
// the KV cache. The CPU twin's fp32 arithmetic: scale = 1 / sqrtf(mean(v^2) + eps), v = w * (v *
// scale); angle = (float)position * inv_freq[i] (an fp32 product), its cosine and sine times
// attn_factor. Each vector is rounded to bf16 once, after the rotation.
#include "kernels/cuda/common/ops_cuda.h"

static constexpr int kWarps = 4;  // head vectors per block, one warp each

// One head vector v (head_dim) normalised (times w) and rotated in place at position pos, the
// result also stored to cache when not NULL. With kPerLane = 0 (any even head_dim) each lane owns
// the pairs (i, i + half) for i = lane, lane + 32, ...; the sum of squares is shared through
// shuffles, so no other lane's elements are written while they may still be read. With kPerLane
// = head_dim / 32 (head_dim a multiple of 64, so a pair never straddles lanes) the lane holds its
// elements in registers, every load issued before any arithmetic: one memory round trip.
template <int kPerLane>
static __device__ void norm_rope_head(__nv_bfloat16 *v, __nv_bfloat16 *cache, int head_dim, const __nv_bfloat16 *w,
                                      float eps, bool normalise, float pos, const float *inv_freq, float attn_factor) {
    const int lane = threadIdx.x % 32, half = head_dim / 2;
    if constexpr (kPerLane > 0) {
        constexpr int kPairs = kPerLane / 2;
        float e[kPerLane], g[kPerLane], freq[kPairs];
#pragma unroll
        for (int k = 0; k < kPerLane; k++) {
            e[k] = __bfloat162float(v[lane + 32 * k]);
            g[k] = w ? __bfloat162float(w[lane + 32 * k]) : 1.0f;
        }
#pragma unroll
        for (int k = 0; k < kPairs; k++) freq[k] = inv_freq[lane + 32 * k];
        if (normalise) {
            float squares = 0.0f;
#pragma unroll
            for (int k = 0; k < kPerLane; k++) squares += e[k] * e[k];
            const float scale = 1.0f / sqrtf(dy_cuda_warp_sum(squares) / (float)head_dim + eps);
#pragma unroll
            for (int k = 0; k < kPerLane; k++) e[k] = g[k] * (e[k] * scale);
        }
#pragma unroll
        for (int k = 0; k < kPairs; k++) {
            float s, c;
            sincosf(pos * freq[k], &s, &c);
            c *= attn_factor;
            s *= attn_factor;
            const float lo = e[k], hi = e[k + kPairs];
            const __nv_bfloat16 out_lo = __float2bfloat16(lo * c - hi * s), out_hi = __float2bfloat16(hi * c + lo * s);
            v[lane + 32 * k] = out_lo;
            v[lane + 32 * k + half] = out_hi;
            if (cache) {
                cache[lane + 32 * k] = out_lo;
                cache[lane + 32 * k + half] = out_hi;
            }
        }
    } else {
        float scale = 1.0f;
        if (normalise) {
            float squares = 0.0f;
            for (int i = lane; i < head_dim; i += 32) {
                const float e = __bfloat162float(v[i]);
                squares += e * e;
            }
            scale = 1.0f / sqrtf(dy_cuda_warp_sum(squares) / (float)head_dim + eps);
        }
        for (int i = lane; i < half; i += 32) {
            float lo = __bfloat162float(v[i]), hi = __bfloat162float(v[i + half]);
            if (normalise) {
                lo *= scale;
                hi *= scale;
                if (w) {
                    lo = __bfloat162float(w[i]) * lo;
                    hi = __bfloat162float(w[i + half]) * hi;
                }
            }
            const float angle = pos * inv_freq[i];
            const float c = cosf(angle) * attn_factor, s = sinf(angle) * attn_factor;
            const __nv_bfloat16 out_lo = __float2bfloat16(lo * c - hi * s), out_hi = __float2bfloat16(hi * c + lo * s);
            v[i] = out_lo;
            v[i + half] = out_hi;
            if (cache) {
                cache[i] = out_lo;
                cache[i + half] = out_hi;
            }
        }
    }
}

typedef struct {
    __nv_bfloat16 *q, *k;
    const __nv_bfloat16 *v, *q_norm, *k_norm;
    int64_t q_stride, k_stride, v_stride;
    int n_heads, n_kv_heads, head_dim, max_ctx;
    float eps, attn_factor;
    bool normalise;
    const int32_t *positions;
    const float *inv_freq;
    __nv_bfloat16 *k_cache, *v_cache;
} inputs_params;

// Block (r, tb): row r, tasks tb * kWarps + warp of n_heads query heads, then n_kv_heads key
// heads (rotated and cached), then n_kv_heads value heads (cached).
template <int kPerLane>
static __global__ void __launch_bounds__(kWarps * 32) attention_inputs_kernel(inputs_params p) {
    dy_cuda_wait_previous();
    const int task = blockIdx.y * kWarps + threadIdx.x / 32, lane = threadIdx.x % 32, d = p.head_dim;
    const int64_t r = blockIdx.x;
    if (task >= p.n_heads + 2 * p.n_kv_heads) return;
    const int pos = p.positions[r];
    if (task < p.n_heads) {
        norm_rope_head<kPerLane>(p.q + r * p.q_stride + (int64_t)task * d, nullptr, d, p.q_norm, p.eps, p.normalise,
                                 (float)pos, p.inv_freq, p.attn_factor);
        return;
    }
    const int g = task < p.n_heads + p.n_kv_heads ? task - p.n_heads : task - p.n_heads - p.n_kv_heads;
    const int64_t slot = ((int64_t)g * p.max_ctx + pos) * d;  // cache (n_kv_heads, max_ctx, head_dim)
    if (task < p.n_heads + p.n_kv_heads) {
        norm_rope_head<kPerLane>(p.k + r * p.k_stride + (int64_t)g * d, p.k_cache + slot, d, p.k_norm, p.eps,
                                 p.normalise, (float)pos, p.inv_freq, p.attn_factor);
        return;
    }
    for (int i = lane; i < d; i += 32) p.v_cache[slot + i] = p.v[r * p.v_stride + (int64_t)g * d + i];
}

void dy_cuda_attention_inputs(dy_backend *b, const dy_attention_inputs *a) {
    const int64_t rows = a->n_heads ? a->q->rows : a->k->rows;
    assert(a->head_dim % 2 == 0 && (!a->n_heads || (int64_t)a->n_heads * a->head_dim <= a->q->cols) &&
           (!a->n_kv_heads || (a->k->rows == rows && a->v->rows == rows)));
    if (rows == 0) return;
    inputs_params p = {};
    p.q = a->n_heads ? dy_bf16_data(a->q) : nullptr;
    p.q_stride = a->n_heads ? a->q->stride : 0;
    if (a->n_kv_heads) {
        p.k = dy_bf16_data(a->k);
        p.k_stride = a->k->stride;
        p.v = dy_bf16_data(a->v);
        p.v_stride = a->v->stride;
    }
    p.q_norm = a->q_norm ? dy_bf16_data(a->q_norm) : nullptr;
    p.k_norm = a->k_norm ? dy_bf16_data(a->k_norm) : nullptr;
    p.n_heads = a->n_heads;
    p.n_kv_heads = a->n_kv_heads;
    p.head_dim = a->head_dim;
    p.max_ctx = a->max_ctx;
    p.eps = a->eps;
    p.attn_factor = a->attn_factor;
    p.normalise = a->normalise;
    p.positions = a->positions;
    p.inv_freq = a->inv_freq;
    p.k_cache = (__nv_bfloat16 *)a->k_cache;
    p.v_cache = (__nv_bfloat16 *)a->v_cache;
    void (*kernel)(inputs_params) = attention_inputs_kernel<0>;
    if (a->head_dim == 64) kernel = attention_inputs_kernel<2>;
    else if (a->head_dim == 128) kernel = attention_inputs_kernel<4>;
    else if (a->head_dim == 256) kernel = attention_inputs_kernel<8>;
    const dim3 grid((unsigned)rows, dy_cuda_blocks(a->n_heads + 2 * a->n_kv_heads, kWarps));
    dy_cuda_launch(kernel, grid, kWarps * 32, dy_cuda_stream(b), p);
}

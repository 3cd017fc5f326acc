// Qwen3's per-head q/k RMSNorm and RoPE (rotate-half) in one pass over each head vector, with
// the CPU twin's fp32 arithmetic: scale = 1 / sqrtf(mean(v^2) + eps), v = w * (v * scale); angle
// = (float)position * inv_freq[i] (an fp32 product), its cosine and sine times attn_factor. The head
// vector is rounded to bf16 once, after the rotation.
#include "ops_cuda.h"

static constexpr int kWarps = 4;  // head vectors per block, one warp each

// Block (r, hb): row r, heads hb * kWarps + warp. With kPerLane = 0 (any even head_dim) each
// lane owns the pairs (i, i + half) for i = lane, lane + 32, ...; the sum of squares is shared
// through shuffles, so no other lane's elements are written while they may still be read. With
// kPerLane = head_dim / 32 (head_dim a multiple of 64, so a pair never straddles lanes) the lane
// holds its elements in registers, every load issued before any arithmetic: one memory round
// trip per head instead of several (a decode step runs this 72 times).
template <int kPerLane>
static __global__ void __launch_bounds__(kWarps * 32)
    norm_rope_kernel(__nv_bfloat16 *x, int64_t stride, int n_heads, int head_dim, const __nv_bfloat16 *w, float eps,
                     bool normalise, const int32_t *positions, const float *inv_freq, float attn_factor) {
    dy_cuda_wait_previous();
    const int head = blockIdx.y * kWarps + threadIdx.x / 32, lane = threadIdx.x % 32, half = head_dim / 2;
    if (head >= n_heads) return;
    __nv_bfloat16 *v = x + blockIdx.x * stride + (int64_t)head * head_dim;  // (head_dim)
    const float pos = (float)positions[blockIdx.x];
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
            squares = dy_cuda_warp_sum(squares);
            const float scale = 1.0f / sqrtf(squares / (float)head_dim + eps);
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
            v[lane + 32 * k] = __float2bfloat16(lo * c - hi * s);
            v[lane + 32 * k + half] = __float2bfloat16(hi * c + lo * s);
        }
    } else {
        float scale = 1.0f;
        if (normalise) {
            float squares = 0.0f;
            for (int i = lane; i < head_dim; i += 32) {
                const float e = __bfloat162float(v[i]);
                squares += e * e;
            }
            squares = dy_cuda_warp_sum(squares);
            scale = 1.0f / sqrtf(squares / (float)head_dim + eps);
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
            v[i] = __float2bfloat16(lo * c - hi * s);
            v[i + half] = __float2bfloat16(hi * c + lo * s);
        }
    }
}

void dy_cuda_norm_rope(dy_backend *b, dy_view *x, int n_heads, int head_dim, const dy_view *w, float eps,
                       bool normalise, const int32_t *positions, const float *inv_freq, float attn_factor) {
    assert(head_dim % 2 == 0 && (int64_t)n_heads * head_dim <= x->cols);
    if (x->rows == 0) return;
    const dim3 grid((unsigned)x->rows, dy_cuda_blocks(n_heads, kWarps));
    void (*kernel)(__nv_bfloat16 *, int64_t, int, int, const __nv_bfloat16 *, float, bool, const int32_t *, const float *,
                   float) = norm_rope_kernel<0>;
    if (head_dim == 64) kernel = norm_rope_kernel<2>;
    else if (head_dim == 128) kernel = norm_rope_kernel<4>;
    else if (head_dim == 256) kernel = norm_rope_kernel<8>;
    dy_cuda_launch(kernel, grid, kWarps * 32, dy_cuda_stream(b), dy_bf16_data(x), x->stride, n_heads, head_dim,
                   w ? (const __nv_bfloat16 *)dy_bf16_data(w) : nullptr, eps, normalise, positions, inv_freq, attn_factor);
}

// Causal grouped-query flash-attention for prefill: a chunk of n_q queries against every key of
// the bf16 KV cache up to each query's own position, on tensor cores (sm_80 and later; tuned for
// Hopper). attention_prefill.cu explains the design.
#ifndef DYSCO_ATTENTION_PREFILL_H
#define DYSCO_ATTENTION_PREFILL_H

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>

// q, k, v and out must be 16-byte aligned and q_stride a multiple of 8 (tiles move in 16-byte
// copies); out_stride may be any even number.
typedef struct {
    const __nv_bfloat16 *q;  // (n_q, n_heads * head_dim) at q_stride elements per row
    int64_t q_stride;
    const __nv_bfloat16 *k, *v;  // caches, each (n_kv_heads, max_ctx, head_dim), contiguous
    int max_ctx;
    __nv_bfloat16 *out;  // (n_q, n_heads * head_dim) at out_stride elements per row
    int64_t out_stride;
    int n_q, q_pos0;  // query i sits at cache index q_pos0 + i and attends keys [0, q_pos0 + i]
    int n_heads, n_kv_heads, head_dim;  // head_dim 64 or 128; query head h reads KV head h / (n_heads / n_kv_heads)
    float scale;                        // logit = scale * q.k (+ bias[j])
    const float *bias;  // NULL, or (q_pos0 + n_q): added to key j's logit in every head, after scaling; -INFINITY masks
} dy_prefill_attention_params;

// out[i, h, :] = sum_j softmax_j(logit_ij) v[j] over j <= q_pos0 + i, fp32 inside, rounded to bf16
// once; a row whose keys are all masked is written as zeros. Rows past n_q and columns past each
// head's head_dim are never written. Asynchronous on stream.
void dy_cuda_attention_prefill(const dy_prefill_attention_params *p, cudaStream_t stream);

#endif

// The attention dispatch: one query (decode) goes to the split-KV kernel
// (attention_decode.cu), several (prefill) to the tensor-core flash-attention kernel
// (attention_prefill.cu) when the shapes suit it (head_dim 64 or 128, 16-byte aligned rows).
// Other shapes (the tiny test presets' head_dim 32, views at odd strides) take the simple kernel
// below: one block per (query, query head) walks its keys in tiles of kTile with an online
// softmax (running max and sum, the accumulated output rescaled when the max grows). Logits are
// scale * q.k (+ bias[j]) in fp32 and the output is rounded to bf16 once. Captured
// probabilities (newest query only) come from the decode kernel run on the newest query again.
#include "attention_prefill.h"
#include "kernels/cuda/common/ops_cuda.h"

static constexpr int kThreads = 128, kWarps = kThreads / 32;
static constexpr int kTile = 64;                           // keys per tile
static constexpr int kMaxHeadDim = 256;                    // every model here has 64 or 128
static constexpr int kDimsPerThread = kMaxHeadDim / kThreads;  // output elements a thread accumulates

typedef struct {
    const __nv_bfloat16 *q, *k, *v;  // q (n_q, n_heads * head_dim) at q_stride; caches as in dy_attention_args
    __nv_bfloat16 *out;              // (n_q, n_heads * head_dim) at out_stride
    int64_t q_stride, out_stride;
    int max_ctx, n_q, q_pos0, group, head_dim;  // group: query heads per KV head
    float scale;
    const float *bias;
} attention_params;

// scale * q . key (+ bias[j]), computed by one warp over the head dimension; every lane gets it.
static __device__ float logit(const attention_params &p, const float *q, const __nv_bfloat16 *key, int64_t j,
                              int lane) {
    float dot = 0.0f;
    for (int t = lane; t < p.head_dim; t += 32) dot += q[t] * __bfloat162float(key[t]);
    for (int offset = 16; offset; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
    return p.scale * dot + (p.bias ? p.bias[j] : 0.0f);
}

// Block (i, h): query i against keys [0, q_pos0 + i] of KV head h / group.
static __global__ void __launch_bounds__(kThreads) attention_kernel(attention_params p) {
    __shared__ float q[kMaxHeadDim];  // the query, widened once
    __shared__ float tile[kTile];     // the tile's logits, then its weights exp(l - max)
    const int i = blockIdx.x, h = blockIdx.y, d = p.head_dim;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int64_t n_keys = (int64_t)p.q_pos0 + i + 1;
    const int64_t head_offset = (int64_t)(h / p.group) * p.max_ctx * d;
    const __nv_bfloat16 *keys = p.k + head_offset, *values = p.v + head_offset;
    for (int t = tid; t < d; t += kThreads) q[t] = __bfloat162float(p.q[i * p.q_stride + (int64_t)h * d + t]);
    __syncthreads();

    // Every thread keeps the same max and sum (it reads the same tile in the same order).
    float max = -INFINITY, sum = 0.0f, acc[kDimsPerThread] = {};
    for (int64_t j0 = 0; j0 < n_keys; j0 += kTile) {
        const int n_tile = (int)min((int64_t)kTile, n_keys - j0);
        for (int jj = warp; jj < n_tile; jj += kWarps) {
            const float l = logit(p, q, keys + (j0 + jj) * d, j0 + jj, lane);
            if (lane == 0) tile[jj] = l;
        }
        __syncthreads();
        float new_max = max;
        for (int jj = 0; jj < n_tile; jj++) new_max = fmaxf(new_max, tile[jj]);
        __syncthreads();                      // all have read the logits before they become weights
        if (new_max == -INFINITY) continue;  // every key so far masked: nothing to add yet
        if (tid < n_tile) tile[tid] = expf(tile[tid] - new_max);  // a masked key (-inf) weighs 0
        __syncthreads();
        const float rescale = expf(max - new_max);  // 0 while max was -inf (acc and sum are 0 then)
        sum *= rescale;
        for (int jj = 0; jj < n_tile; jj++) sum += tile[jj];
#pragma unroll
        for (int k = 0; k < kDimsPerThread; k++) {
            const int t = tid + k * kThreads;
            if (t >= d) continue;
            float a = acc[k] * rescale;
            for (int jj = 0; jj < n_tile; jj++) a += tile[jj] * __bfloat162float(values[(j0 + jj) * d + t]);
            acc[k] = a;
        }
        max = new_max;
        __syncthreads();  // all have read the weights before the next tile's logits
    }

    // Every key masked (a caller error): zeros, not NaN.
    const bool masked = max == -INFINITY;
    __nv_bfloat16 *o = p.out + i * p.out_stride + (int64_t)h * d;
#pragma unroll
    for (int k = 0; k < kDimsPerThread; k++) {
        const int t = tid + k * kThreads;
        if (t < d) o[t] = __float2bfloat16(masked ? 0.0f : acc[k] / sum);
    }
}

void dy_cuda_attention(dy_backend *b, const dy_attention_args *a) {
    assert(a->head_dim <= kMaxHeadDim && a->n_kv_heads > 0 && a->n_heads % a->n_kv_heads == 0);
    assert(a->n_keys <= a->max_ctx);
    if (a->n_q == 0) return;
    if (a->n_q == 1) {
        dy_cuda_attention_decode(b, a, 0);
        return;
    }
    const bool aligned = (uintptr_t)a->q->data % 16 == 0 && a->q->stride % 8 == 0 &&
                         (uintptr_t)a->out->data % 16 == 0 && a->out->stride % 2 == 0 && (uintptr_t)a->k % 16 == 0 &&
                         (uintptr_t)a->v % 16 == 0;
    if (aligned && (a->head_dim == 64 || a->head_dim == 128)) {
        dy_prefill_attention_params f = {};
        f.q = dy_bf16_data(a->q);
        f.q_stride = a->q->stride;
        f.k = (const __nv_bfloat16 *)a->k;
        f.v = (const __nv_bfloat16 *)a->v;
        f.max_ctx = a->max_ctx;
        f.out = dy_bf16_data(a->out);
        f.out_stride = a->out->stride;
        f.n_q = a->n_q;
        f.q_pos0 = a->n_keys - a->n_q;  // n_keys is exact for several queries
        f.n_heads = a->n_heads;
        f.n_kv_heads = a->n_kv_heads;
        f.head_dim = a->head_dim;
        f.scale = a->scale;
        f.bias = a->bias;
        dy_cuda_attention_prefill(&f, dy_cuda_stream(b));
    } else {
        attention_params p;
        p.q = dy_bf16_data(a->q);
        p.k = (const __nv_bfloat16 *)a->k;
        p.v = (const __nv_bfloat16 *)a->v;
        p.out = dy_bf16_data(a->out);
        p.q_stride = a->q->stride;
        p.out_stride = a->out->stride;
        p.max_ctx = a->max_ctx;
        p.n_q = a->n_q;
        p.q_pos0 = a->n_keys - a->n_q;
        p.group = a->n_heads / a->n_kv_heads;
        p.head_dim = a->head_dim;
        p.scale = a->scale;
        p.bias = a->bias;
        attention_kernel<<<dim3((unsigned)a->n_q, (unsigned)a->n_heads), kThreads, 0, dy_cuda_stream(b)>>>(p);
        CUDA_CHECK_LAUNCH();
    }
    if (a->n_capture) dy_cuda_attention_decode(b, a, a->n_q - 1);
}

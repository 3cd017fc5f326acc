// Decode attention: one query per head against up to max_ctx cached keys, split across the GPU
// ("flash-decoding"). At batch 1 a single query per head gives one block per head far too
// little parallelism for 128k keys, so the keys are cut into n_splits ranges and block
// (split, kv_head) handles one range for every query head of that KV head's group: each K/V
// byte is read once for the whole group. A block walks its range in tiles of kTile keys with an
// online softmax and leaves unnormalised partial results (output sum, max, exp-sum); the last
// block of a KV head to finish combines that group's splits by their log-sum-exp into the
// output and keeps each head's global max and exp-sum; a second launch, only when heads are
// captured, turns the logits they wrote into probabilities with those, spread over the GPU (in
// the last block alone, 4 warps took about a millisecond per 128k-key row).
//
// The query's position is read on the device (positions[row]), and each block derives its range
// from it, so one launch configuration (sized by the bound a->n_keys) serves every position: a
// recorded decode step replays correctly as the context grows.
//
// Thread layout in a block: kLanes = head_dim / 8 threads share a key (8 dimensions each, one
// 16-byte load), kSlots = 128 / kLanes keys per pass, kPasses passes per tile. A tile's K and V
// are requested one phase ahead (kPasses 16-byte loads each per thread). Keys past the query's
// position are never loaded (the cache there holds stale or garbage values).
#include "kernels/cuda/common/ops_cuda.h"

static constexpr int kThreads = 128, kWarps = kThreads / 32;
static constexpr int kTile = 64;        // keys per tile
static constexpr int kMaxSplits = 128;  // sizes the partial-result scratch
static constexpr int kMaxGroup = 8;     // query heads per KV head

static constexpr int kMaxKvHeads = 256;  // finished-split counters at the start of the scratch

// The split counters, the partial results at the most splits, then each head's (max, exp-sum).
size_t dy_cuda_attention_scratch_bytes(int n_heads, int head_dim) {
    return kMaxKvHeads * sizeof(int) + (size_t)n_heads * (kMaxSplits * (size_t)(head_dim + 2) + 2) * sizeof(float);
}

void dy_cuda_attention_scratch_init(dy_backend *b) {
    CUDA_CHECK(cudaMemsetAsync(dy_cuda_impl_of(b)->splits, 0, kMaxKvHeads * sizeof(int), dy_cuda_stream(b)));
}

typedef struct {
    const __nv_bfloat16 *q;          // the query row (n_heads * head_dim)
    const __nv_bfloat16 *k, *v;      // caches (n_kv_heads, max_ctx, head_dim)
    __nv_bfloat16 *out;              // the output row (n_heads * head_dim)
    const int32_t *position;         // the query's cache index (device)
    int max_ctx, group, n_splits;
    float scale;
    const float *bias;               // NULL or (keys)
    int n_capture;
    const int32_t *capture_heads;    // (n_capture)
    float *capture_out;              // (n_capture, capture_stride): logits, then probabilities
    int64_t capture_stride;
    float *part_out;                 // (n_heads, n_splits, head_dim) unnormalised outputs
    float *part_max_sum;             // (n_heads, n_splits, 2) running max and exp-sum
    float *head_stats;               // (n_heads, 2) each head's global max and exp-sum
    int *done;                       // (n_kv_heads) splits finished; the last one combines and resets it
} decode_params;

// 8 bf16 in a 16-byte piece, widened.
static __device__ void widen8(uint4 v, float *f) {
    const __nv_bfloat162 *h = (const __nv_bfloat162 *)&v;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const float2 t = __bfloat1622float2(h[i]);
        f[2 * i] = t.x;
        f[2 * i + 1] = t.y;
    }
}

// This thread's 16-byte pieces of keys (or values) [t0, t0 + kTile), zeros past end (the cache
// there is never read: it may hold anything).
template <int D>
static __device__ __forceinline__ void load_tile(const uint4 *rows, int t0, int end, int slot, uint4 *piece) {
    constexpr int kSlots = kThreads / (D / 8), kPasses = kTile / kSlots;
#pragma unroll
    for (int ps = 0; ps < kPasses; ps++) {
        const int j = t0 + ps * kSlots + slot;
        piece[ps] = j < end ? __ldcs(rows + (int64_t)j * (D / 8)) : make_uint4(0, 0, 0, 0);
    }
}

// This thread's bias values of the same keys as load_tile (zeros past end and without a bias).
// Loaded with the tile, not when the logits need them: a load there would wait out its latency
// once per pass and head (the compiler cannot move it above the stores into shared memory).
template <int D>
static __device__ __forceinline__ void load_bias(const float *bias, int t0, int end, int slot, float *b) {
    constexpr int kSlots = kThreads / (D / 8), kPasses = kTile / kSlots;
#pragma unroll
    for (int ps = 0; ps < kPasses; ps++) {
        const int j = t0 + ps * kSlots + slot;
        b[ps] = bias && j < end ? __ldg(bias + j) : 0.0f;
    }
}

static __device__ float warp_max(float v) {
    for (int offset = 16; offset; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Query head h's splits, thread s holding split s's weight exp(max_s - max), summed into the
// output, and its global max and sum for capture_normalise_kernel. The partial results come
// from other blocks of the same launch: read past L1 (__ldcg), which is not coherent.
static __device__ void combine_head(const decode_params &p, int h, int head_dim, float *weight, float *scratch) {
    static_assert(kMaxSplits <= kThreads, "one thread per split");
    const int tid = threadIdx.x;
    const float *ms = p.part_max_sum + (int64_t)h * p.n_splits * 2;
    const float split_max = tid < p.n_splits ? __ldcg(ms + 2 * tid) : -INFINITY;
    const float max = dy_cuda_block_reduce<kThreads>(split_max, scratch, [](float a, float b) { return fmaxf(a, b); });
    const float w = split_max == -INFINITY ? 0.0f : expf(split_max - max);  // empty splits weigh 0
    if (tid < p.n_splits) weight[tid] = w;
    const float sum = dy_cuda_block_reduce<kThreads>(tid < p.n_splits ? __ldcg(ms + 2 * tid + 1) * w : 0.0f, scratch,
                                   [](float a, float b) { return a + b; });
    const bool masked = max == -INFINITY;  // every key masked: zeros, not NaN
    const float *part = p.part_out + (int64_t)h * p.n_splits * head_dim;
    for (int d = tid; d < head_dim; d += kThreads) {
        float o = 0.0f;
#pragma unroll 8
        for (int s = 0; s < p.n_splits; s++) o = fmaf(__ldcg(part + (int64_t)s * head_dim + d), weight[s], o);
        p.out[(int64_t)h * head_dim + d] = __float2bfloat16(masked ? 0.0f : o / sum);
    }
    if (tid == 0) {
        p.head_stats[2 * h] = max;
        p.head_stats[2 * h + 1] = sum;
    }
    __syncthreads();  // weight is rewritten by the next head
}

// Block (split, kv_head), D = head_dim, G = the group rounded up to a power of two (heads past
// the group compute on a zero query and are never stored).
template <int D, int G>
static __global__ void __launch_bounds__(kThreads) split_kernel(decode_params p) {
    dy_cuda_wait_previous();
    constexpr int kLanes = D / 8, kSlots = kThreads / kLanes, kPasses = kTile / kSlots;
    constexpr int kOwned = (G + kWarps - 1) / kWarps;  // heads whose softmax state a warp keeps
    __shared__ float weights[G][kTile];  // a tile's logits, then its exp weights
    __shared__ float rescale[G];         // exp(old max - new max) of the tile
    __shared__ float reduce[kSlots][D];  // the slots' partial outputs at the end
    const int split = blockIdx.x, kv = blockIdx.y, tid = threadIdx.x;
    const int lane_d = tid % kLanes, slot = tid / kLanes, warp = tid / 32, lane = tid % 32;
    const int n_keys = *p.position + 1;
    const int chunk = (n_keys + p.n_splits - 1) / p.n_splits;
    const int begin = min(n_keys, split * chunk), end = min(n_keys, begin + chunk);
    const int h0 = kv * p.group;
    const int64_t cache_offset = (int64_t)kv * p.max_ctx * D + lane_d * 8;
    const uint4 *keys = (const uint4 *)(p.k + cache_offset), *values = (const uint4 *)(p.v + cache_offset);

    float q[G][8], acc[G][8];
#pragma unroll
    for (int g = 0; g < G; g++) {
        // Element loads: a query row of a strided view need not be 16-byte aligned.
#pragma unroll
        for (int e = 0; e < 8; e++)
            q[g][e] = g < p.group ? __bfloat162float(p.q[(int64_t)(h0 + g) * D + lane_d * 8 + e]) : 0.0f;
#pragma unroll
        for (int e = 0; e < 8; e++) acc[g][e] = 0.0f;
    }
    float run_max[kOwned], run_sum[kOwned];
#pragma unroll
    for (int o = 0; o < kOwned; o++) run_max[o] = -INFINITY, run_sum[o] = 0.0f;

    // A tile's K is requested as soon as the previous tile's logits are computed and its V as soon
    // as the previous PV product is done, so each load has a whole phase to arrive.
    uint4 kr[kPasses], vr[kPasses];
    float br[kPasses];
    load_tile<D>(keys, begin, end, slot, kr);
    load_bias<D>(p.bias, begin, end, slot, br);
    load_tile<D>(values, begin, end, slot, vr);
    for (int t0 = begin; t0 < end; t0 += kTile) {
        // Logits: the kLanes threads of a key reduce their partial dot products.
#pragma unroll
        for (int ps = 0; ps < kPasses; ps++) {
            const int jj = ps * kSlots + slot, j = t0 + jj;
            float kf[8];
            widen8(kr[ps], kf);
#pragma unroll
            for (int g = 0; g < G; g++) {
                float dot = 0.0f;
#pragma unroll
                for (int e = 0; e < 8; e++) dot = fmaf(q[g][e], kf[e], dot);
#pragma unroll
                for (int offset = kLanes / 2; offset; offset >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, offset);
                if (lane_d == 0) weights[g][jj] = j < end ? p.scale * dot + br[ps] : -INFINITY;
            }
        }
        load_tile<D>(keys, t0 + kTile, end, slot, kr);
        load_bias<D>(p.bias, t0 + kTile, end, slot, br);
        __syncthreads();
        // Online softmax: warp w keeps heads w, w + kWarps, ...; a lane holds keys lane and lane + 32.
#pragma unroll
        for (int o = 0; o < kOwned; o++) {
            const int g = warp + o * kWarps;
            if (g >= G) break;
            const float l0 = weights[g][lane], l1 = weights[g][lane + 32];
            const float new_max = fmaxf(run_max[o], warp_max(fmaxf(l0, l1)));
            // exp(-inf - -inf) would be NaN: while every key so far is masked, weights are 0.
            const float w0 = new_max == -INFINITY ? 0.0f : expf(l0 - new_max);
            const float w1 = new_max == -INFINITY ? 0.0f : expf(l1 - new_max);
            const float r = run_max[o] == -INFINITY ? 0.0f : expf(run_max[o] - new_max);
            run_sum[o] = run_sum[o] * r + dy_cuda_warp_sum(w0 + w1);
            run_max[o] = new_max;
            weights[g][lane] = w0;
            weights[g][lane + 32] = w1;
            if (lane == 0) rescale[g] = r;
            if (g < p.group)
                for (int c = 0; c < p.n_capture; c++) {
                    if (p.capture_heads[c] != h0 + g) continue;
                    float *row = p.capture_out + c * p.capture_stride;
                    if (t0 + lane < end) row[t0 + lane] = l0;
                    if (t0 + lane + 32 < end) row[t0 + lane + 32] = l1;
                }
        }
        __syncthreads();
#pragma unroll
        for (int g = 0; g < G; g++) {
            const float r = rescale[g];
#pragma unroll
            for (int e = 0; e < 8; e++) acc[g][e] *= r;
        }
#pragma unroll
        for (int ps = 0; ps < kPasses; ps++) {
            float vf[8];
            widen8(vr[ps], vf);
#pragma unroll
            for (int g = 0; g < G; g++) {
                const float w = weights[g][ps * kSlots + slot];
#pragma unroll
                for (int e = 0; e < 8; e++) acc[g][e] = fmaf(w, vf[e], acc[g][e]);
            }
        }
        load_tile<D>(values, t0 + kTile, end, slot, vr);
        __syncthreads();  // weights are rewritten by the next tile
    }

    const int64_t part = (int64_t)(h0)*p.n_splits + split;  // (head h0, split); head h0 + g is g * n_splits further
#pragma unroll
    for (int g = 0; g < G; g++) {
        if (g >= p.group) break;  // uniform over the block
#pragma unroll
        for (int e = 0; e < 8; e++) reduce[slot][lane_d * 8 + e] = acc[g][e];
        __syncthreads();
        for (int d = tid; d < D; d += kThreads) {
            float sum = 0.0f;
#pragma unroll
            for (int s = 0; s < kSlots; s++) sum += reduce[s][d];
            p.part_out[(part + (int64_t)g * p.n_splits) * D + d] = sum;
        }
        __syncthreads();
    }
#pragma unroll
    for (int o = 0; o < kOwned; o++) {
        const int g = warp + o * kWarps;
        if (g < p.group && g < G && lane == 0) {
            p.part_max_sum[(part + (int64_t)g * p.n_splits) * 2] = run_max[o];
            p.part_max_sum[(part + (int64_t)g * p.n_splits) * 2 + 1] = run_sum[o];
        }
    }

    // The last block of this KV head to finish combines its group's splits (one launch less per
    // layer); the count is reset for the next launch. Every thread's results are fenced before
    // the block is counted, and the last block fences before it reads the others'.
    __shared__ float weight[kMaxSplits], scratch[kWarps];
    __shared__ bool last;
    __threadfence();
    __syncthreads();
    if (tid == 0) last = atomicAdd(p.done + kv, 1) == p.n_splits - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    for (int g = 0; g < p.group; g++) combine_head(p, h0 + g, D, weight, scratch);
    if (tid == 0) p.done[kv] = 0;
}

// Block (x, c): a share of captured row c's keys, from logits to probabilities (zeros where every
// key was masked).
static constexpr int kNormThreads = 256, kNormBlocksPerRow = 64;
static __global__ void __launch_bounds__(kNormThreads) capture_normalise_kernel(decode_params p) {
    dy_cuda_wait_previous();
    const int c = blockIdx.y, n_keys = *p.position + 1, h = p.capture_heads[c];
    const float max = p.head_stats[2 * h], sum = p.head_stats[2 * h + 1];
    float *row = p.capture_out + c * p.capture_stride;
    for (int j = blockIdx.x * kNormThreads + threadIdx.x; j < n_keys; j += kNormBlocksPerRow * kNormThreads)
        row[j] = max == -INFINITY ? 0.0f : expf(row[j] - max) / sum;
}

// The split kernel's instance for (D, group): the template group rounded up to a power of two.
template <int D>
static void (*split_instance(int group))(decode_params) {
    if (group <= 1) return split_kernel<D, 1>;
    if (group <= 2) return split_kernel<D, 2>;
    if (group <= 4) return split_kernel<D, 4>;
    return split_kernel<D, kMaxGroup>;
}

static void (*split_instance(int head_dim, int group))(decode_params) {
    if (head_dim == 32) return split_instance<32>(group);
    if (head_dim == 64) return split_instance<64>(group);
    return split_instance<128>(group);
}

// Resident blocks per SM of the instance (registers decide it), asked once per instance.
static int decode_blocks_per_sm(dy_cuda_impl *impl, int head_dim, int group) {
    const int d = head_dim == 32 ? 0 : head_dim == 64 ? 1 : 2, g = group <= 1 ? 0 : group <= 2 ? 1 : group <= 4 ? 2 : 3;
    int *blocks = &impl->decode_blocks_per_sm[d][g];
    if (!*blocks)
        CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks, split_instance(head_dim, group), kThreads, 0));
    return *blocks;
}

void dy_cuda_attention_decode(dy_backend *b, const dy_attention_args *a, int row) {
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    const int group = a->n_heads / a->n_kv_heads;
    if ((a->head_dim != 32 && a->head_dim != 64 && a->head_dim != 128) || group > kMaxGroup ||
        a->n_kv_heads > kMaxKvHeads)
        dy_cuda_fatal(__FILE__, __LINE__,
                      "decode attention takes head_dim 32, 64 or 128, up to 8 query heads per KV head, 256 KV heads");
    assert(a->n_keys <= a->max_ctx);
    assert(dy_cuda_attention_scratch_bytes(a->n_heads, a->head_dim) <= impl->splits_bytes);  // prepare() sized it
    // One full wave: as many blocks as the SMs hold at once (a second, partial wave would leave
    // most SMs idle while it runs); no split shorter than a tile.
    const int by_machine = max(1, decode_blocks_per_sm(impl, a->head_dim, group) * impl->n_sms / a->n_kv_heads);
    const int by_keys = (a->n_keys + kTile - 1) / kTile;
    decode_params p;
    p.q = dy_bf16_data(a->q) + (int64_t)row * a->q->stride;
    p.k = (const __nv_bfloat16 *)a->k;
    p.v = (const __nv_bfloat16 *)a->v;
    p.out = dy_bf16_data(a->out) + (int64_t)row * a->out->stride;
    p.position = a->positions + row;
    p.max_ctx = a->max_ctx;
    p.group = group;
    p.n_splits = max(1, min(kMaxSplits, min(by_machine, by_keys)));
    p.scale = a->scale;
    p.bias = a->bias;
    p.n_capture = a->n_capture;
    p.capture_heads = a->capture_heads;
    p.capture_out = a->capture_out;
    p.capture_stride = a->n_keys;
    p.done = (int *)impl->splits;
    p.part_out = impl->splits + kMaxKvHeads;
    p.part_max_sum = p.part_out + (size_t)a->n_heads * p.n_splits * a->head_dim;
    p.head_stats = p.part_out + (size_t)a->n_heads * kMaxSplits * (a->head_dim + 2);
    const dim3 grid((unsigned)p.n_splits, (unsigned)a->n_kv_heads);
    dy_cuda_launch(split_instance(a->head_dim, group), grid, kThreads, impl->stream, p);
    if (a->n_capture)
        dy_cuda_launch(capture_normalise_kernel, dim3(kNormBlocksPerRow, (unsigned)a->n_capture), kNormThreads,
                       impl->stream, p);
}

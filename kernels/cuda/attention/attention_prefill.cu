// Causal grouped-query flash-attention for prefill (FlashAttention-2 scheme) on bf16 mma.sync.
//
// Tiling: a block of 4 warps owns 128 consecutive queries of one head; each warp owns 32 of them
// (two m16 MMA tiles, so every K or V fragment it reads from shared memory feeds two MMAs, which
// halves the shared-memory traffic per FLOP against 16 rows per warp). The block walks its keys
// in tiles of 64 (32-key steps at head_dim 128, where S of 64 keys plus O would not fit in 255
// registers): S = Q K^T into fp32 registers, an online softmax on S in registers, then
// O += P V with P taken straight from the S accumulators (the m16n8 accumulator layout of two
// adjacent 8-key tiles is exactly the m16k16 A-operand layout, so P never touches memory).
// Logits are kept in the log2 domain (scale * log2(e) folded into one multiply) so every
// exponential is a single ex2.approx.
//
// Pipeline: Q (128 x head_dim) is loaded once; K and V tiles are double-buffered, tile t + 1
// being fetched by cp.async while tile t is computed. Shared rows are head_dim bf16 (a multiple
// of 128 bytes) split into 16-byte chunks, and chunk c of row r is stored at chunk c ^ (r & 7):
// the eight row addresses of every ldmatrix (plain for Q and K, .trans for V) then fall in eight
// different bank groups, so neither the cp.async writes nor the ldmatrix reads conflict.
//
// Masking: only key tiles reaching past a warp's first query position need the causal test
// (a warp-uniform branch); tiles above the block's last query are never visited. Key rows past
// the block's last key are zero-filled by cp.async with source size 0, never read: the cache
// there may hold anything, NaN included, and 0 * NaN would poison P V even with P = 0. Query
// rows past n_q are zero-filled the same way and their outputs dropped. A row whose running max
// is still -inf (every key so far masked, by the bias) exponentiates against 0 instead, so it
// stays at P = 0 and sum 0 and is written as zeros rather than NaN.
//
// Scheduling: blocks are issued heaviest first (last query block of the chunk, which sees the
// most keys) so the short diagonal blocks fill the tail, and the query heads of one block row
// are adjacent in the grid so the heads sharing a KV head read it from L2 at about the same time.
#include "attention_prefill.h"

#include "kernels/cuda/common/cuda_check.h"

static constexpr int kWarps = 4, kThreads = kWarps * 32;
static constexpr int kWarpRows = 32;                    // queries per warp
static constexpr int kMmaRows = kWarpRows / 16;         // m16 tiles per warp
static constexpr int kBlockQueries = kWarps * kWarpRows;  // 128
static constexpr int kBlockKeys = 64;                   // keys per tile
static constexpr float kLog2e = 1.4426950408889634f;

// Shared-memory bytes of one block: Q, then two K tiles, then two V tiles.
static constexpr size_t shared_bytes(int head_dim) {
    return (size_t)(kBlockQueries + 4 * kBlockKeys) * head_dim * sizeof(__nv_bfloat16);
}

// Element offset of 16-byte chunk `chunk` of row `row` in a swizzled (rows, head_dim) tile.
template <int kHeadDim>
static __device__ __forceinline__ int swizzled(int row, int chunk) {
    return row * kHeadDim + ((chunk ^ (row & 7)) << 3);
}

static __device__ __forceinline__ uint32_t shared_address(const void *p) {
    return (uint32_t)__cvta_generic_to_shared(p);
}

// 16 bytes global -> shared, bypassing L1; with valid false nothing is read and zeros are stored.
static __device__ __forceinline__ void copy_16_async(uint32_t dst, const void *src, bool valid) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}

static __device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::); }

template <int kPendingGroups>
static __device__ __forceinline__ void wait_copies() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kPendingGroups));
}

static __device__ __forceinline__ void load_matrix_x4(uint32_t (&r)[4], uint32_t address) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

static __device__ __forceinline__ void load_matrix_x4_transposed(uint32_t (&r)[4], uint32_t address) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

// c (16x8 fp32) += a (16x16 bf16, row-major) * b (16x8 bf16, column-major).
static __device__ __forceinline__ void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

static __device__ __forceinline__ float exp2_approx(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

static __device__ __forceinline__ uint32_t pack_bf16x2(float low, float high) {
    const __nv_bfloat162 pair = __floats2bfloat162_rn(low, high);
    return *reinterpret_cast<const uint32_t *>(&pair);
}

// Starts copying rows [0, kRows) of src (row stride src_stride elements, head_dim wide) into a
// swizzled tile; rows from n_valid on are zero-filled (their source is not read). A thread copies
// the same chunk of every kRowsPerPass-th row, so its row & 7, and with it its swizzled column,
// never changes and every copy is its first one plus constant offsets.
template <int kHeadDim, int kRows>
static __device__ __forceinline__ void load_tile_async(__nv_bfloat16 *tile, const __nv_bfloat16 *src,
                                                       int64_t src_stride, int n_valid) {
    constexpr int kChunksPerRow = kHeadDim / 8, kRowsPerPass = kThreads / kChunksPerRow;
    static_assert(kRows % kRowsPerPass == 0 && kRowsPerPass % 8 == 0, "a thread's row & 7 stays fixed");
    const int row = (int)threadIdx.x / kChunksPerRow, chunk = (int)threadIdx.x % kChunksPerRow;
    const __nv_bfloat16 *from = src + row * src_stride + chunk * 8;
    const uint32_t to = shared_address(tile + swizzled<kHeadDim>(row, chunk));
#pragma unroll
    for (int pass = 0; pass < kRows / kRowsPerPass; ++pass)
        copy_16_async(to + pass * kRowsPerPass * kHeadDim * sizeof(__nv_bfloat16),
                      from + pass * kRowsPerPass * src_stride, row + pass * kRowsPerPass < n_valid);
}

// Grid: one block per (query block, head), heaviest query block first, heads adjacent.
template <int kHeadDim, bool kHasBias>
static __global__ void __launch_bounds__(kThreads, 2) attention_prefill_kernel(const dy_prefill_attention_params p) {
    constexpr int kDimTiles8 = kHeadDim / 8;  // n8 accumulator tiles of O per m16 tile
    // Keys per softmax step: S of 32 queries x 64 keys is 64 fp32 registers a lane, which with
    // the 128 of O at head_dim 128 does not fit in 255, so that size walks a tile in two halves.
    constexpr int kStepKeys = kHeadDim == 128 ? 32 : 64;
    constexpr int kStepTiles8 = kStepKeys / 8;  // n8 accumulator tiles of S per m16 tile
    constexpr bool kSkipUnchangedRescale = kHeadDim == 128;  // see the online softmax below
    extern __shared__ __align__(1024) uint4 shared_words[];
    __nv_bfloat16 *q_tile = reinterpret_cast<__nv_bfloat16 *>(shared_words);  // (kBlockQueries, head_dim)
    __nv_bfloat16 *k_tiles = q_tile + kBlockQueries * kHeadDim;                 // (2, kBlockKeys, head_dim)
    __nv_bfloat16 *v_tiles = k_tiles + 2 * kBlockKeys * kHeadDim;               // (2, kBlockKeys, head_dim)

    const int n_query_blocks = (p.n_q + kBlockQueries - 1) / kBlockQueries;
    const int query_block = n_query_blocks - 1 - (int)blockIdx.x / p.n_heads;
    const int head = (int)blockIdx.x % p.n_heads;
    const int kv_head = head / (p.n_heads / p.n_kv_heads);
    const int first_query = query_block * kBlockQueries;
    const int n_block_queries = min(kBlockQueries, p.n_q - first_query);
    const int n_keys = p.q_pos0 + first_query + n_block_queries;  // keys [0, n_keys): up to the last query
    const int n_key_tiles = (n_keys + kBlockKeys - 1) / kBlockKeys;

    const __nv_bfloat16 *k_head = p.k + (int64_t)kv_head * p.max_ctx * kHeadDim;  // (max_ctx, head_dim)
    const __nv_bfloat16 *v_head = p.v + (int64_t)kv_head * p.max_ctx * kHeadDim;
    const auto load_key_tile = [&](int tile) {
        const int stage_offset = (tile & 1) * kBlockKeys * kHeadDim, first_key = tile * kBlockKeys;
        load_tile_async<kHeadDim, kBlockKeys>(k_tiles + stage_offset, k_head + (int64_t)first_key * kHeadDim,
                                              kHeadDim, n_keys - first_key);
        load_tile_async<kHeadDim, kBlockKeys>(v_tiles + stage_offset, v_head + (int64_t)first_key * kHeadDim,
                                              kHeadDim, n_keys - first_key);
    };
    load_tile_async<kHeadDim, kBlockQueries>(q_tile, p.q + first_query * p.q_stride + head * kHeadDim, p.q_stride,
                                             n_block_queries);
    load_key_tile(0);
    commit_copies();

    const int warp = (int)threadIdx.x / 32, lane = (int)threadIdx.x % 32;
    const int quad_row = lane / 4, quad_col = lane % 4;  // this lane's row and column pair in MMA fragments
    const int warp_first_row = warp * kWarpRows;
    const int warp_first_position = p.q_pos0 + first_query + warp_first_row;
    const float scale_log2 = p.scale * kLog2e;

    // Per-lane ldmatrix row addresses. Q and K: matrices ordered (rows 0-7 | 8-15) x (chunk lo |
    // hi) as the A and B fragments want; V (transposed): (keys 0-7 | 8-15) x dims. The tiles are
    // 1024-byte aligned and every fragment starts at a multiple of 8 rows, so a row's swizzle
    // touches only the chunk bits of an address: chunk c of the lane's row is then the lane's
    // address (chunk 0, swizzled) XOR c * 16, plus a row offset in bits the XOR leaves alone.
    const int lane_row8 = lane & 7, lane_bit3 = (lane >> 3) & 1, lane_bit4 = lane >> 4;
    const uint32_t q_lane =
        shared_address(q_tile + swizzled<kHeadDim>(warp_first_row + lane_row8 + lane_bit3 * 8, lane_bit4));
    uint32_t k_lane = shared_address(k_tiles + swizzled<kHeadDim>(lane_row8 + lane_bit4 * 8, lane_bit3));
    uint32_t v_lane = shared_address(v_tiles + swizzled<kHeadDim>(lane_row8 + lane_bit3 * 8, lane_bit4));
    int32_t stage_step = kBlockKeys * kHeadDim * sizeof(__nv_bfloat16);  // bytes from this K/V stage to the other
    constexpr uint32_t kRowBytes = kHeadDim * sizeof(__nv_bfloat16);

    float o[kMmaRows][kDimTiles8][4];  // fp32 output accumulators, unnormalised
    float row_max[kMmaRows][2], row_sum[kMmaRows][2];  // per row (quad_row, quad_row + 8), log2 domain
#pragma unroll
    for (int m = 0; m < kMmaRows; ++m) {
#pragma unroll
        for (int d = 0; d < kDimTiles8; ++d) o[m][d][0] = o[m][d][1] = o[m][d][2] = o[m][d][3] = 0.0f;
        row_max[m][0] = row_max[m][1] = -INFINITY;
        row_sum[m][0] = row_sum[m][1] = 0.0f;
    }

    // One step: keys [first_key, first_key + kStepKeys), at step_bytes into the current K and V
    // stage, folded into o, row_max and row_sum.
    const auto attend_keys = [&](int first_key, uint32_t step_bytes) {
        // The mask is needed only where the step reaches past this warp's first query (or past
        // the block's last key, for a bias read). The bias is read before the MMAs so that its
        // load latency hides behind them.
        const bool needs_mask = first_key + kStepKeys - 1 > warp_first_position || first_key + kStepKeys > n_keys;
        float bias_log2[kStepTiles8][2];
        if constexpr (kHasBias) {
#pragma unroll
            for (int n = 0; n < kStepTiles8; ++n)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const int key = first_key + n * 8 + 2 * quad_col + e;
                    bias_log2[n][e] = !needs_mask || key < n_keys ? __ldg(p.bias + key) * kLog2e : 0.0f;
                }
        }

        // S = Q K^T: (32 queries, kStepKeys keys) per warp.
        float s[kMmaRows][kStepTiles8][4];
#pragma unroll
        for (int m = 0; m < kMmaRows; ++m)
#pragma unroll
            for (int n = 0; n < kStepTiles8; ++n) s[m][n][0] = s[m][n][1] = s[m][n][2] = s[m][n][3] = 0.0f;
#pragma unroll
        for (int kstep = 0; kstep < kHeadDim / 16; ++kstep) {
            uint32_t q_frag[kMmaRows][4];
#pragma unroll
            for (int m = 0; m < kMmaRows; ++m)
                load_matrix_x4(q_frag[m], (q_lane ^ (2 * kstep) << 4) + m * 16 * kRowBytes);
#pragma unroll
            for (int n = 0; n < kStepTiles8; n += 2) {
                uint32_t k_frag[4];  // key tiles n and n + 1
                load_matrix_x4(k_frag, (k_lane ^ (2 * kstep) << 4) + step_bytes + n * 8 * kRowBytes);
#pragma unroll
                for (int m = 0; m < kMmaRows; ++m) {
                    mma_bf16(s[m][n], q_frag[m], k_frag[0], k_frag[1]);
                    mma_bf16(s[m][n + 1], q_frag[m], k_frag[2], k_frag[3]);
                }
            }
        }

        // Logits in the log2 domain, bias and causal mask (needs_mask is the same for the whole warp).
#pragma unroll
        for (int m = 0; m < kMmaRows; ++m)
#pragma unroll
            for (int n = 0; n < kStepTiles8; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    float logit = s[m][n][e] * scale_log2;
                    if constexpr (kHasBias) logit += bias_log2[n][e & 1];
                    if (needs_mask) {
                        const int key = first_key + n * 8 + 2 * quad_col + (e & 1);
                        const int position = warp_first_position + m * 16 + quad_row + (e >> 1) * 8;
                        if (key > position || key >= n_keys) logit = -INFINITY;
                    }
                    s[m][n][e] = logit;
                }

        // Online softmax: new row max (across the quad sharing a row), rescale what came before.
        // Past the first few tiles a row's max rarely grows, so at head_dim 128 O is rescaled only
        // when some row of the warp's grew (a warp-uniform test; an unchanged max would rescale by
        // exactly 1). At head_dim 64 O is half as large and the branch cost more than it saved
        // (measured on H200: 319 against 296 TFLOP/s).
        float rescale[kMmaRows][2];
        bool max_grew = false;
#pragma unroll
        for (int m = 0; m < kMmaRows; ++m)
#pragma unroll
            for (int half = 0; half < 2; ++half) {
                float tile_max = row_max[m][half];
#pragma unroll
                for (int n = 0; n < kStepTiles8; ++n)
                    tile_max = fmaxf(tile_max, fmaxf(s[m][n][2 * half], s[m][n][2 * half + 1]));
                tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
                tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
                const float base = tile_max == -INFINITY ? 0.0f : tile_max;  // all masked so far: P stays 0
                rescale[m][half] = exp2_approx(row_max[m][half] - base);
                max_grew |= tile_max != row_max[m][half];
                row_max[m][half] = tile_max;
                float sum = 0.0f;
#pragma unroll
                for (int n = 0; n < kStepTiles8; ++n) {
                    s[m][n][2 * half] = exp2_approx(s[m][n][2 * half] - base);
                    s[m][n][2 * half + 1] = exp2_approx(s[m][n][2 * half + 1] - base);
                    sum += s[m][n][2 * half] + s[m][n][2 * half + 1];
                }
                row_sum[m][half] = row_sum[m][half] * rescale[m][half] + sum;  // this lane's columns only
            }
        if (!kSkipUnchangedRescale || __any_sync(0xffffffffu, max_grew)) {
#pragma unroll
            for (int m = 0; m < kMmaRows; ++m)
#pragma unroll
                for (int d = 0; d < kDimTiles8; ++d) {
                    o[m][d][0] *= rescale[m][0];
                    o[m][d][1] *= rescale[m][0];
                    o[m][d][2] *= rescale[m][1];
                    o[m][d][3] *= rescale[m][1];
                }
        }

        // O += P V, P from the S registers: key tiles 2k and 2k + 1 form the A operand of step k.
#pragma unroll
        for (int kstep = 0; kstep < kStepKeys / 16; ++kstep) {
            uint32_t p_frag[kMmaRows][4];
#pragma unroll
            for (int m = 0; m < kMmaRows; ++m) {
                p_frag[m][0] = pack_bf16x2(s[m][2 * kstep][0], s[m][2 * kstep][1]);
                p_frag[m][1] = pack_bf16x2(s[m][2 * kstep][2], s[m][2 * kstep][3]);
                p_frag[m][2] = pack_bf16x2(s[m][2 * kstep + 1][0], s[m][2 * kstep + 1][1]);
                p_frag[m][3] = pack_bf16x2(s[m][2 * kstep + 1][2], s[m][2 * kstep + 1][3]);
            }
#pragma unroll
            for (int d = 0; d < kDimTiles8; d += 2) {
                uint32_t v_frag[4];  // dim tiles d and d + 1
                load_matrix_x4_transposed(v_frag, (v_lane ^ d << 4) + step_bytes + kstep * 16 * kRowBytes);
#pragma unroll
                for (int m = 0; m < kMmaRows; ++m) {
                    mma_bf16(o[m][d], p_frag[m], v_frag[0], v_frag[1]);
                    mma_bf16(o[m][d + 1], p_frag[m], v_frag[2], v_frag[3]);
                }
            }
        }
    };

    for (int tile = 0; tile < n_key_tiles; ++tile) {
        // Fetch the next tile into the other stage (freed by the barrier closing the last
        // iteration), then wait for this one.
        if (tile + 1 < n_key_tiles) {
            load_key_tile(tile + 1);
            commit_copies();
            wait_copies<1>();
        } else {
            wait_copies<0>();
        }
        __syncthreads();
#pragma unroll 1
        for (int step = 0; step < kBlockKeys / kStepKeys; ++step)
            attend_keys(tile * kBlockKeys + step * kStepKeys, step * kStepKeys * kRowBytes);
        k_lane += stage_step;  // the other stage next time
        v_lane += stage_step;
        stage_step = -stage_step;
        __syncthreads();  // this stage is refilled by the next iteration's fetch
    }

    // Normalise and store: the row sum is split over the quad's four column pairs.
#pragma unroll
    for (int m = 0; m < kMmaRows; ++m)
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            float sum = row_sum[m][half];
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            const float inverse = sum > 0.0f ? 1.0f / sum : 0.0f;  // all keys masked: zeros
            const int query = first_query + warp_first_row + m * 16 + quad_row + half * 8;
            if (query >= p.n_q) continue;
            __nv_bfloat16 *out_row = p.out + query * p.out_stride + head * kHeadDim + 2 * quad_col;
#pragma unroll
            for (int d = 0; d < kDimTiles8; ++d)
                *reinterpret_cast<__nv_bfloat162 *>(out_row + d * 8) =
                    __floats2bfloat162_rn(o[m][d][2 * half] * inverse, o[m][d][2 * half + 1] * inverse);
        }
}

template <int kHeadDim, bool kHasBias>
static void launch(const dy_prefill_attention_params *p, cudaStream_t stream) {
    const auto kernel = attention_prefill_kernel<kHeadDim, kHasBias>;
    constexpr size_t bytes = shared_bytes(kHeadDim);
    CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
    const unsigned n_query_blocks = (unsigned)((p->n_q + kBlockQueries - 1) / kBlockQueries);
    kernel<<<n_query_blocks * (unsigned)p->n_heads, kThreads, bytes, stream>>>(*p);
    CUDA_CHECK(cudaGetLastError());
}

void dy_cuda_attention_prefill(const dy_prefill_attention_params *p, cudaStream_t stream) {
    if (p->n_q <= 0) return;
    const bool has_bias = p->bias != nullptr;
    if (p->head_dim == 64)
        has_bias ? launch<64, true>(p, stream) : launch<64, false>(p, stream);
    else if (p->head_dim == 128)
        has_bias ? launch<128, true>(p, stream) : launch<128, false>(p, stream);
    else
        dy_cuda_fatal(__FILE__, __LINE__, "attention prefill: head_dim must be 64 or 128");
}

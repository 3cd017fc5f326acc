// out (1, out_features) = x (1, in) @ w (out_features, in)^T for one row: a decode step's
// projections. At batch 1 every weight byte is read once and used for one multiply-add, so the
// op is a stream over the weights and its speed is the fraction of copy bandwidth it reaches.
// One warp per output row: 32 lanes read the row in 16-byte pieces (8 bf16), eight pieces in
// flight per lane, with a cache-streaming load (the weights are touched once; x, reread by every
// warp, stays in L1). The fp32 partial sums meet in a warp reduction. `dysco bench` measures this
// against cuBLASLt on the model's own shapes (the "gemv" line). The MLP's gate and up products
// share one launch with the SwiGLU that follows them (gemv_swiglu).
#include "kernels/cuda/common/ops_cuda.h"

static constexpr int kWarps = 8, kThreads = kWarps * 32;
static constexpr int kUnroll = 8;  // 16-byte loads in flight per lane

static __device__ float dot8(uint4 a, uint4 b) {
    const __nv_bfloat162 *a2 = (const __nv_bfloat162 *)&a, *b2 = (const __nv_bfloat162 *)&b;
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; i++) {
        const float2 fa = __bfloat1622float2(a2[i]), fb = __bfloat1622float2(b2[i]);
        s = fmaf(fa.x, fb.x, s);
        s = fmaf(fa.y, fb.y, s);
    }
    return s;
}

static __device__ void store(float v, float *out) { *out = v; }
static __device__ void store(float v, __nv_bfloat16 *out) { *out = __float2bfloat16(v); }

// One lane's share of row . x (n8 16-byte pieces), the first kUnroll pieces requested before
// waiting for the previous kernel when kFirst (no kernel writes the weights, only x is waited
// for: the loads overlap that kernel's tail).
template <bool kFirst>
static __device__ float lane_dot(const uint4 *row, const uint4 *x, int n8, int lane) {
    uint4 wv[kUnroll];
    int i = lane;
    bool full = i + (kUnroll - 1) * 32 < n8;
    if (full)
#pragma unroll
        for (int u = 0; u < kUnroll; u++) wv[u] = __ldcs(row + i + u * 32);
    if (kFirst) dy_cuda_wait_previous();
    float acc = 0.0f;
    while (full) {
#pragma unroll
        for (int u = 0; u < kUnroll; u++) acc += dot8(wv[u], x[i + u * 32]);
        i += kUnroll * 32;
        full = i + (kUnroll - 1) * 32 < n8;
        if (full)
#pragma unroll
            for (int u = 0; u < kUnroll; u++) wv[u] = __ldcs(row + i + u * 32);
    }
    for (; i < n8; i += 32) acc += dot8(__ldcs(row + i), x[i]);
    return acc;
}

// Block b: output rows [b * kWarps, b * kWarps + kWarps); n8 = in / 8 pieces per row. kSwiglu:
// output row r is silu(w[r] . x) * (w[r + up_rows] . x), the gate and up rows of a stacked
// (2 * inter, in) matrix, up_offset8 = inter * w_stride8 pieces apart.
template <typename Out, bool kSwiglu>
static __global__ void __launch_bounds__(kThreads)
    gemv_kernel(const uint4 *x, const uint4 *w, int64_t w_stride8, Out *out, int64_t rows, int n8, int64_t up_offset8) {
    const int64_t row = (int64_t)blockIdx.x * kWarps + threadIdx.x / 32;
    if (row >= rows) return;
    const int lane = threadIdx.x % 32;
    const uint4 *wr = w + row * w_stride8;
    float acc = dy_cuda_warp_sum(lane_dot<true>(wr, x, n8, lane));
    if constexpr (kSwiglu) acc = dy_cuda_silu(acc) * dy_cuda_warp_sum(lane_dot<false>(wr + up_offset8, x, n8, lane));
    if (lane == 0) store(acc, out + row);
}

bool dy_cuda_gemv_fits(const dy_view *x, const dy_view *w, const dy_view *out) {
    return x->rows == 1 && x->cols % 8 == 0 && w->stride % 8 == 0 && (uintptr_t)x->data % 16 == 0 &&
           (uintptr_t)w->data % 16 == 0 && x->dtype == DY_BF16 && w->dtype == DY_BF16;
}

void dy_cuda_gemv(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    assert(dy_cuda_gemv_fits(x, w, out) && x->cols == w->cols && out->rows == 1 && out->cols == w->rows);
    if (w->rows == 0) return;
    const unsigned blocks = dy_cuda_blocks(w->rows, kWarps);
    const uint4 *xv = (const uint4 *)x->data, *wv = (const uint4 *)w->data;
    const int n8 = (int)(x->cols / 8);
    if (out->dtype == DY_F32)
        dy_cuda_launch(gemv_kernel<float, false>, blocks, kThreads, dy_cuda_stream(b), xv, wv, w->stride / 8,
                       (float *)out->data, w->rows, n8, (int64_t)0);
    else
        dy_cuda_launch(gemv_kernel<__nv_bfloat16, false>, blocks, kThreads, dy_cuda_stream(b), xv, wv, w->stride / 8,
                       dy_bf16_data(out), w->rows, n8, (int64_t)0);
}

void dy_cuda_gemv_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    const int64_t inter = w->rows / 2;
    assert(dy_cuda_gemv_fits(x, w, out) && x->cols == w->cols && out->rows == 1 && out->cols == w->rows &&
           w->rows % 2 == 0);
    if (inter == 0) return;
    dy_cuda_launch(gemv_kernel<__nv_bfloat16, true>, dy_cuda_blocks(inter, kWarps), kThreads, dy_cuda_stream(b),
                   (const uint4 *)x->data, (const uint4 *)w->data, w->stride / 8, dy_bf16_data(out), inter,
                   (int)(x->cols / 8), inter * (w->stride / 8));
}

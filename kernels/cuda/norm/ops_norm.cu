// residual += delta, then RMSNorm of each row, as the CPU twin computes it in fp32: variance =
// mean(x^2), scale = 1 / sqrtf(variance + eps), out = w * (x * scale). The updated residual is
// stored in bf16 and the norm reads the stored (rounded) values, so out is the norm of exactly
// the residual the next layer adds to.
#include "kernels/cuda/common/ops_cuda.h"

static constexpr int kThreads = 256;  // one block per row

// 1 / sqrt(mean of the row's squares + eps) from each thread's share of the squares; partial:
// kThreads / 32 floats of shared memory.
static __device__ float row_scale(float squares, float *partial, int cols, float eps) {
    const float sum = dy_cuda_block_reduce<kThreads>(squares, partial, [](float a, float b) { return a + b; });
    return 1.0f / sqrtf(sum / (float)cols + eps);
}

// Block r: row r; residual (rows, cols) at res_stride, delta NULL or alike, w (cols), out alike.
// Rows in 16-byte pieces (8 values) held in registers, kPieces per thread: every load of the row
// is issued before any arithmetic, so a row costs one memory round trip, not one per element
// (a decode step runs this 73 times on one row each). kPieces = 0: any shape, element by element.
template <int kPieces>
static __global__ void __launch_bounds__(kThreads)
    add_rmsnorm_kernel(__nv_bfloat16 *residual, int64_t res_stride, const __nv_bfloat16 *delta, int64_t delta_stride,
                       const __nv_bfloat16 *w, float eps, __nv_bfloat16 *out, int64_t out_stride, int cols) {
    dy_cuda_wait_previous();
    __shared__ float partial[kThreads / 32];
    __nv_bfloat16 *x = residual + blockIdx.x * res_stride;
    const __nv_bfloat16 *d = delta ? delta + blockIdx.x * delta_stride : nullptr;
    __nv_bfloat16 *o = out + blockIdx.x * out_stride;
    float squares = 0.0f;
    if constexpr (kPieces == 0) {
        for (int c = threadIdx.x; c < cols; c += kThreads) {
            float v = __bfloat162float(x[c]);
            if (d) {
                const __nv_bfloat16 sum = __float2bfloat16(v + __bfloat162float(d[c]));
                x[c] = sum;
                v = __bfloat162float(sum);
            }
            squares += v * v;
        }
        const float scale = row_scale(squares, partial, cols, eps);
        for (int c = threadIdx.x; c < cols; c += kThreads)  // this thread's own columns: no barrier needed
            o[c] = __float2bfloat16(__bfloat162float(w[c]) * (__bfloat162float(x[c]) * scale));
    } else {
        const int n8 = cols / 8;
        uint4 xv[kPieces], dv[kPieces], wv[kPieces];
#pragma unroll
        for (int p = 0; p < kPieces; p++) {
            const int i = threadIdx.x + p * kThreads;
            if (i >= n8) continue;
            xv[p] = ((const uint4 *)x)[i];
            wv[p] = ((const uint4 *)w)[i];
            if (d) dv[p] = ((const uint4 *)d)[i];
        }
#pragma unroll
        for (int p = 0; p < kPieces; p++) {
            if (threadIdx.x + p * kThreads >= n8) continue;
            __nv_bfloat162 *xh = (__nv_bfloat162 *)&xv[p];
            const __nv_bfloat162 *dh = (const __nv_bfloat162 *)&dv[p];
#pragma unroll
            for (int e = 0; e < 4; e++) {
                float2 v = __bfloat1622float2(xh[e]);
                if (d) {  // the sum is rounded to bf16 before it is normalised, as stored
                    const float2 dd = __bfloat1622float2(dh[e]);
                    xh[e] = __floats2bfloat162_rn(v.x + dd.x, v.y + dd.y);
                    v = __bfloat1622float2(xh[e]);
                }
                squares += v.x * v.x + v.y * v.y;
            }
        }
        const float scale = row_scale(squares, partial, cols, eps);
#pragma unroll
        for (int p = 0; p < kPieces; p++) {
            const int i = threadIdx.x + p * kThreads;
            if (i >= n8) continue;
            if (d) ((uint4 *)x)[i] = xv[p];
            const __nv_bfloat162 *xh = (const __nv_bfloat162 *)&xv[p], *wh = (const __nv_bfloat162 *)&wv[p];
            uint4 ov;
            __nv_bfloat162 *oh = (__nv_bfloat162 *)&ov;
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const float2 v = __bfloat1622float2(xh[e]), g = __bfloat1622float2(wh[e]);
                oh[e] = __floats2bfloat162_rn(g.x * (v.x * scale), g.y * (v.y * scale));
            }
            ((uint4 *)o)[i] = ov;
        }
    }
}

void dy_cuda_add_rmsnorm(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                         dy_view *out) {
    const int64_t cols = residual->cols;
    assert(w->cols == cols && out->cols == cols && out->rows == residual->rows);
    assert(!delta || (delta->cols == cols && delta->rows == residual->rows));
    if (residual->rows == 0) return;
    // Pieces per thread for rows of 16-byte aligned pieces; other shapes go element by element.
    const bool pieces = cols % 8 == 0 && residual->stride % 8 == 0 && out->stride % 8 == 0 &&
                        (uintptr_t)residual->data % 16 == 0 && (uintptr_t)out->data % 16 == 0 &&
                        (uintptr_t)w->data % 16 == 0 &&
                        (!delta || (delta->stride % 8 == 0 && (uintptr_t)delta->data % 16 == 0));
    const int64_t per_thread = (cols / 8 + kThreads - 1) / kThreads;
    void (*kernel)(__nv_bfloat16 *, int64_t, const __nv_bfloat16 *, int64_t, const __nv_bfloat16 *, float,
                   __nv_bfloat16 *, int64_t, int) = add_rmsnorm_kernel<0>;
    if (pieces && per_thread <= 1) kernel = add_rmsnorm_kernel<1>;
    else if (pieces && per_thread <= 2) kernel = add_rmsnorm_kernel<2>;
    else if (pieces && per_thread <= 4) kernel = add_rmsnorm_kernel<4>;
    dy_cuda_launch(kernel, (unsigned)residual->rows, kThreads, dy_cuda_stream(b), dy_bf16_data(residual),
                   residual->stride, delta ? (const __nv_bfloat16 *)dy_bf16_data(delta) : nullptr,
                   delta ? delta->stride : (int64_t)0, (const __nv_bfloat16 *)dy_bf16_data(w), eps, dy_bf16_data(out),
                   out->stride, (int)cols);
}

// residual += delta, then RMSNorm of each row, as the CPU twin computes it in fp32: variance =
// mean(x^2), scale = 1 / sqrtf(variance + eps), out = w * (x * scale). The updated residual is
// stored in bf16 and the norm reads the stored (rounded) values, so out is the norm of exactly
// the residual the next layer adds to.
#include "ops_cuda.h"

static constexpr int kThreads = 256;  // one block per row

// The sum of v over the block, returned to every thread. partial: kThreads / 32 floats of shared memory.
static __device__ float block_sum(float v, float *partial) {
    for (int offset = 16; offset; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    v = lane < kThreads / 32 ? partial[lane] : 0.0f;
    for (int offset = 16; offset; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Block r: row r; residual (rows, cols) at res_stride, delta NULL or alike, w (cols), out alike.
static __global__ void __launch_bounds__(kThreads)
    add_rmsnorm_kernel(__nv_bfloat16 *residual, int64_t res_stride, const __nv_bfloat16 *delta, int64_t delta_stride,
                       const __nv_bfloat16 *w, float eps, __nv_bfloat16 *out, int64_t out_stride, int cols) {
    dy_cuda_wait_previous();
    __shared__ float partial[kThreads / 32];
    __nv_bfloat16 *x = residual + blockIdx.x * res_stride;
    float squares = 0.0f;
    for (int c = threadIdx.x; c < cols; c += kThreads) {
        float v = __bfloat162float(x[c]);
        if (delta) {
            const __nv_bfloat16 sum = __float2bfloat16(v + __bfloat162float(delta[blockIdx.x * delta_stride + c]));
            x[c] = sum;
            v = __bfloat162float(sum);
        }
        squares += v * v;
    }
    const float variance = block_sum(squares, partial) / (float)cols;
    const float scale = 1.0f / sqrtf(variance + eps);
    __nv_bfloat16 *o = out + blockIdx.x * out_stride;
    for (int c = threadIdx.x; c < cols; c += kThreads)  // this thread's own columns: no barrier needed
        o[c] = __float2bfloat16(__bfloat162float(w[c]) * (__bfloat162float(x[c]) * scale));
}

void dy_cuda_add_rmsnorm(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                         dy_view *out) {
    const int64_t cols = residual->cols;
    assert(w->cols == cols && out->cols == cols && out->rows == residual->rows);
    assert(!delta || (delta->cols == cols && delta->rows == residual->rows));
    if (residual->rows == 0) return;
    dy_cuda_launch(add_rmsnorm_kernel, (unsigned)residual->rows, kThreads, dy_cuda_stream(b),
        dy_bf16_data(residual), residual->stride, delta ? dy_bf16_data(delta) : nullptr, delta ? delta->stride : 0,
        dy_bf16_data(w), eps, dy_bf16_data(out), out->stride, (int)cols);
}

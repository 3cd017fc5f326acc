// The weighted sum of capture rows into a double accumulator on the GPU (QRHead's query-row mean,
// runtime/qrhead/qrhead_mass.c), the twin of kernels/cpu/ops_accumulate.c: each element is read
// and written once per step, a memory-bound pass over (n_rows, n_cols).
#include <assert.h>

#include "../common/ops_cuda.h"

namespace {

constexpr int kThreads = 256;

__global__ void __launch_bounds__(kThreads)
    accumulate_kernel(const float *rows, int64_t stride, int64_t n_cols, double weight, double *acc) {
    dy_cuda_wait_previous();
    const int64_t r = blockIdx.y, j = (int64_t)blockIdx.x * kThreads + threadIdx.x;
    if (j < n_cols) acc[r * n_cols + j] += weight * (double)rows[r * stride + j];
}

}  // namespace

void dy_cuda_accumulate_rows(dy_backend *b, const float *rows, int64_t stride, int n_rows, int64_t n_cols,
                             double weight, double *acc) {
    assert(n_rows >= 0 && n_cols >= 0 && stride >= n_cols && n_rows <= 65535);
    if (n_rows == 0 || n_cols == 0) return;
    dy_cuda_launch(accumulate_kernel, dim3(dy_cuda_blocks(n_cols, kThreads), (unsigned)n_rows), kThreads,
                   dy_cuda_stream(b), rows, stride, n_cols, weight, acc);
}

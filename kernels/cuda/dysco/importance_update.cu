// DySCO's importance update on the device (runtime/dysco/README.md §2), the twin of
// dy_dysco_update: two launches over positions, one per thread. The first takes the head mean
// of every position (its rows summed in pair order in double, rounded to fp32: bit for bit the
// controller's), keeps it in scratch, and leaves each block's sum of the decayed values; the
// second adds those block sums in a fixed order (every block alike, so the total is the same
// everywhere and run to run) and writes importance = decayed / total. The decayed value
// a + lambda * old is rounded as the host rounds it (multiply, then add: no fused multiply-add),
// so only the order of the total's additions differs from the controller (~1e-16 relative).
// The KV length c is read on the device; the launch is sized by max_ctx. Under tensor
// parallelism the first launch adds the ranks' head sums (rank order) instead of the rows, and
// head_sum_kernel makes a rank's own sum.
#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/common/ops_cuda.h"

namespace {

constexpr int kThreads = 256;  // positions per block

using ReduceDouble = cub::BlockReduce<double, kThreads>;

typedef struct {
    dy_dysco_update_args a;
    float *mean;      // (max_ctx) scratch: the head mean a[j]
    double *partial;  // (gridDim.x) scratch: each block's sum of decayed values
} update_params;

// new[j] before normalisation, in double; old importance is read only below c - 1.
__device__ double decayed(const update_params &p, float a, int j, int c) {
    return j < c - 1 ? __dadd_rn((double)a, __dmul_rn(p.a.decay, (double)p.a.importance[j])) : (double)a;
}

__global__ void __launch_bounds__(kThreads) mean_kernel(update_params p) {
    dy_cuda_wait_previous();
    __shared__ ReduceDouble::TempStorage reduce;
    const int c = *p.a.position + 1, j = blockIdx.x * kThreads + threadIdx.x;
    double term = 0.0;
    if (j < c) {
        double acc = 0.0;
        if (p.a.rank_sums)
            for (int r = 0; r < p.a.n_ranks; r++) acc += p.a.rank_sums[(int64_t)r * p.a.max_ctx + j];
        else
#pragma unroll 8
            for (int i = 0; i < p.a.n_pairs; i++) acc += p.a.probs[(int64_t)i * p.a.probs_stride + j];
        const float a = (float)(acc / p.a.n_pairs);
        p.mean[j] = a;
        term = decayed(p, a, j, c);
    }
    const double sum = ReduceDouble(reduce).Sum(term);  // valid in thread 0
    if (threadIdx.x == 0) p.partial[blockIdx.x] = sum;
}

__global__ void __launch_bounds__(kThreads) normalise_kernel(update_params p) {
    dy_cuda_wait_previous();
    __shared__ ReduceDouble::TempStorage reduce;
    __shared__ double total;
    double part = 0.0;
    for (unsigned i = threadIdx.x; i < gridDim.x; i += kThreads) part += p.partial[i];
    const double sum = ReduceDouble(reduce).Sum(part);
    if (threadIdx.x == 0) total = sum;
    __syncthreads();
    const int c = *p.a.position + 1, j = blockIdx.x * kThreads + threadIdx.x;
    // Position j reads only its own old value, which only this thread overwrites.
    if (j < c) p.a.importance[j] = (float)(decayed(p, p.mean[j], j, c) / total);
}

__global__ void __launch_bounds__(kThreads) head_sum_kernel(dy_dysco_head_sum_args a) {
    dy_cuda_wait_previous();
    const int c = *a.position + 1, j = blockIdx.x * kThreads + threadIdx.x;
    if (j >= c) return;
    double acc = 0.0;
    for (int i = 0; i < a.n_rows; i++) acc += a.probs[(int64_t)i * a.probs_stride + j];
    a.sum[j] = acc;
}

}  // namespace

// The block sums first (8-byte aligned at the start), then the head mean.
size_t dy_cuda_dysco_update_scratch_bytes(int64_t max_ctx) {
    return max_ctx > 0 ? dy_cuda_blocks(max_ctx, kThreads) * sizeof(double) + (size_t)max_ctx * sizeof(float) : 0;
}

void dy_cuda_dysco_update(dy_backend *b, const dy_dysco_update_args *a) {
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    assert(a->n_pairs >= 1 && a->max_ctx >= 1 && (a->rank_sums ? a->n_ranks >= 1 : a->probs_stride >= 1));
    assert(dy_cuda_dysco_update_scratch_bytes(a->max_ctx) <= impl->dysco_update_scratch_bytes);  // prepare() sized it
    const unsigned blocks = dy_cuda_blocks(a->max_ctx, kThreads);
    update_params p;
    p.a = *a;
    p.partial = (double *)impl->dysco_update_scratch;
    p.mean = (float *)(p.partial + blocks);
    dy_cuda_launch(mean_kernel, blocks, kThreads, impl->stream, p);
    dy_cuda_launch(normalise_kernel, blocks, kThreads, impl->stream, p);
}

void dy_cuda_dysco_head_sum(dy_backend *b, const dy_dysco_head_sum_args *a) {
    assert(a->n_rows >= 0 && a->max_ctx >= 1 && a->probs_stride >= 1);
    dy_cuda_launch(head_sum_kernel, dy_cuda_blocks(a->max_ctx, kThreads), kThreads, dy_cuda_stream(b), *a);
}

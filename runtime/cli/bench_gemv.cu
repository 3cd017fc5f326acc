// The evidence for the GEMV path (ops_gemv.cu): one decode projection of a given shape timed
// through the hand-written GEMV and through cuBLASLt, in the same process on the same data.
#include "kernels/cuda/common/ops_cuda.h"

extern "C" {
#include "kernels/base/timing.h"
}

// Deterministic values in [-1, 1), never zeros.
static __global__ void fill_kernel(__nv_bfloat16 *p, int64_t n, uint32_t seed) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        uint32_t h = (uint32_t)i * 2654435761u ^ seed;
        h ^= h >> 15;
        h *= 2246822519u;
        h ^= h >> 13;
        p[i] = __float2bfloat16(((float)(h & 0xffff) + 0.5f) / 32768.0f - 1.0f);
    }
}

// Median seconds of one call, from reps timed calls (each between two events).
static double median_seconds(dy_backend *b, void (*op)(dy_backend *, const dy_view *, const dy_view *, dy_view *),
                             const dy_view *x, const dy_view *w, dy_view *out, int reps) {
    cudaStream_t s = dy_cuda_stream(b);
    cudaEvent_t start, stop;
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    op(b, x, w, out);  // warm-up (and the cuBLASLt plan)
    double seconds[64];
    reps = reps > 64 ? 64 : reps;
    for (int r = 0; r < reps; r++) {
        float ms;
        CUDA_CHECK(cudaEventRecord(start, s));
        op(b, x, w, out);
        CUDA_CHECK(cudaEventRecord(stop, s));
        CUDA_CHECK(cudaEventSynchronize(stop));
        CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
        seconds[r] = ms * 1e-3;
    }
    CUDA_CHECK(cudaEventDestroy(start));
    CUDA_CHECK(cudaEventDestroy(stop));
    return dy_median(seconds, reps);
}

extern "C" int dy_cuda_time_gemv(dy_backend *b, int64_t out_features, int64_t in, int reps, double *gemv_seconds,
                                 double *cublaslt_seconds) {
    dy_view w = {b->alloc(b, (size_t)(out_features * in) * 2), DY_BF16, out_features, in, in};
    dy_view x = {b->alloc(b, (size_t)in * 2), DY_BF16, 1, in, in};
    dy_view out = {b->alloc(b, (size_t)out_features * 2), DY_BF16, 1, out_features, out_features};
    int rc = -1;
    if (w.data && x.data && out.data && dy_cuda_gemv_fits(&x, &w, &out)) {
        fill_kernel<<<1024, 256, 0, dy_cuda_stream(b)>>>(dy_bf16_data(&w), out_features * in, 1);
        fill_kernel<<<1, 256, 0, dy_cuda_stream(b)>>>(dy_bf16_data(&x), in, 2);
        CUDA_CHECK_LAUNCH();
        *gemv_seconds = median_seconds(b, dy_cuda_gemv, &x, &w, &out, reps);
        *cublaslt_seconds = median_seconds(b, dy_cuda_matmul_cublaslt, &x, &w, &out, reps);
        rc = 0;
    }
    b->release(b, w.data);
    b->release(b, x.data);
    b->release(b, out.data);
    return rc;
}

#include <assert.h>

#include "ops_cpu.h"

// Products of two floats are exact in double, so the double sum in index order is within a
// rounding or two of the exact dot product whatever order torch's blocked fp32 kernels use.
static float dot(const float *a, const float *b, int64_t n) {
    double sum = 0;
    for (int64_t k = 0; k < n; k++) sum += (double)a[k] * b[k];
    return (float)sum;
}

// Weight rows outermost: each thread takes a run of output features and reuses each weight row
// across all input rows while it is in cache. One input row (decode) still splits over features.
void dy_cpu_matmul_rows(const float *x, int64_t x_stride, const float *w, int64_t w_stride, float *out,
                        int64_t out_stride, int64_t n, int64_t in, int64_t out_features) {
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t j = 0; j < out_features; j++)
        for (int64_t i = 0; i < n; i++) out[i * out_stride + j] = dot(x + i * x_stride, w + j * w_stride, in);
}

void dy_cpu_matmul(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    (void)b;
    assert(x->cols == w->cols && out->rows == x->rows && out->cols == w->rows);
    dy_cpu_matmul_rows(x->data, x->stride, w->data, w->stride, out->data, out->stride, x->rows, x->cols, w->rows);
}

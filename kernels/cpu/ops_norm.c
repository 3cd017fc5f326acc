// RMSNorm as Hugging Face's fp32 forward computes it: variance = mean(x^2), x * rsqrt(variance +
// eps), then weight * that, each product rounded to fp32.
#include <assert.h>
#include <math.h>

#include "ops_cpu.h"

float dy_cpu_rms_scale(const float *x, int64_t n, float eps) {
    double sum = 0;
    for (int64_t i = 0; i < n; i++) sum += (double)x[i] * x[i];
    const float variance = (float)(sum / (double)n);
    return 1.0f / sqrtf(variance + eps);
}

void dy_cpu_add_rmsnorm(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                        dy_view *out) {
    (void)b;
    const int64_t cols = residual->cols;
    assert(w->cols == cols && out->cols == cols && out->rows == residual->rows);
    assert(!delta || (delta->cols == cols && delta->rows == residual->rows));
    const float *weight = w->data;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < residual->rows; r++) {
        float *x = (float *)residual->data + r * residual->stride;
        if (delta) {
            const float *d = (const float *)delta->data + r * delta->stride;
            for (int64_t c = 0; c < cols; c++) x[c] += d[c];
        }
        const float scale = dy_cpu_rms_scale(x, cols, eps);
        float *o = (float *)out->data + r * out->stride;
        for (int64_t c = 0; c < cols; c++) o[c] = weight[c] * (x[c] * scale);
    }
}

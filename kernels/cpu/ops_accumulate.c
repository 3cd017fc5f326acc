// The weighted sum of capture rows into a double accumulator (QRHead's query-row mean): the
// reference the GPU's twin is compared with, a plain loop in row order.
#include "ops_cpu.h"

void dy_cpu_accumulate_rows(dy_backend *b, const float *rows, int64_t stride, int n_rows, int64_t n_cols, double weight,
                            double *acc) {
    (void)b;
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n_rows; r++)
        for (int64_t j = 0; j < n_cols; j++) acc[(int64_t)r * n_cols + j] += weight * rows[(int64_t)r * stride + j];
}

// out (n, out_features) = x (n, in) @ w (out_features, in)^T through cuBLASLt: bf16 inputs, fp32
// accumulation, output in out's dtype (bf16, or fp32 for the logits).
//
// cuBLASLt is column-major. A row-major (r, c) matrix with row stride s is a column-major (c, r)
// matrix with leading dimension s, so with A = w seen as (in, out_features) and transposed, and
// B = x seen as (in, n), D = A^T B is (out_features, n) column-major: out, row-major, as it is.
//
// One row (a decode step's projections) goes to the hand-written GEMV instead (ops_gemv.cu says
// why). The heuristic's choice depends on the shape, the strides, the output type and how the pointers
// are aligned (views of later rows start anywhere), so all of those key the plan table.
#include <stdio.h>

#include "kernels/cuda/common/ops_cuda.h"

// The largest power of two up to 256 dividing the address: what cuBLASLt may assume of it.
static uint32_t alignment(const void *p) {
    uint32_t a = 256;
    while (a > 1 && (uintptr_t)p % a) a /= 2;
    return a;
}

static bool same_problem(const dy_cuda_matmul_plan *p, const dy_cuda_matmul_plan *key) {
    return p->n == key->n && p->in == key->in && p->out_features == key->out_features &&
           p->x_stride == key->x_stride && p->w_stride == key->w_stride && p->out_stride == key->out_stride &&
           p->out_dtype == key->out_dtype && p->align_x == key->align_x && p->align_w == key->align_w &&
           p->align_out == key->align_out;
}

static void plan_free(dy_cuda_matmul_plan *p) {
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(p->a));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(p->b));
    CUBLAS_CHECK(cublasLtMatrixLayoutDestroy(p->d));
    CUBLAS_CHECK(cublasLtMatmulDescDestroy(p->op));
}

void dy_cuda_matmul_plans_free(dy_cuda_impl *impl) {
    for (int i = 0; i < impl->n_plans; i++) plan_free(&impl->plans[i]);
    impl->n_plans = 0;
}

static void plan_create(dy_cuda_impl *impl, dy_cuda_matmul_plan *p) {
    const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &transpose, sizeof transpose));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &keep, sizeof keep));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_16BF, (uint64_t)p->in, (uint64_t)p->out_features, p->w_stride));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_16BF, (uint64_t)p->in, (uint64_t)p->n, p->x_stride));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&p->d, p->out_dtype == DY_F32 ? CUDA_R_32F : CUDA_R_16BF,
                                            (uint64_t)p->out_features, (uint64_t)p->n, p->out_stride));
    // C is D (beta = 0, so it is never read): both carry out's alignment.
    const uint32_t aligns[4][2] = {{CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, p->align_w},
                                   {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, p->align_x},
                                   {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, p->align_out},
                                   {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, p->align_out}};
    for (int i = 0; i < 4; i++)
        CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(impl->pref, (cublasLtMatmulPreferenceAttributes_t)aligns[i][0],
                                                          &aligns[i][1], sizeof aligns[i][1]));
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    const cublasStatus_t s =
        cublasLtMatmulAlgoGetHeuristic(impl->lt, p->op, p->a, p->b, p->d, p->d, impl->pref, 1, &result, &found);
    if (s == CUBLAS_STATUS_NOT_SUPPORTED || (s == CUBLAS_STATUS_SUCCESS && found == 0)) {
        char what[256];
        snprintf(what, sizeof what, "no cuBLASLt algorithm for (%lld, %lld) @ (%lld, %lld)^T, strides %lld/%lld/%lld",
                 (long long)p->n, (long long)p->in, (long long)p->out_features, (long long)p->in,
                 (long long)p->x_stride, (long long)p->w_stride, (long long)p->out_stride);
        dy_cuda_fatal(__FILE__, __LINE__, what);
    }
    CUBLAS_CHECK(s);
    p->algo = result.algo;
}

// The cached plan for key's problem, made on first use (the heuristic runs on the host).
static const dy_cuda_matmul_plan *plan_for(dy_cuda_impl *impl, const dy_cuda_matmul_plan *key) {
    for (int i = 0; i < impl->n_plans; i++)
        if (same_problem(&impl->plans[i], key)) return &impl->plans[i];
    dy_cuda_matmul_plan *p;
    if (impl->n_plans < DY_CUDA_MATMUL_PLANS) {
        p = &impl->plans[impl->n_plans++];
    } else {
        p = &impl->plans[impl->next_evict];
        impl->next_evict = (impl->next_evict + 1) % DY_CUDA_MATMUL_PLANS;
        plan_free(p);
    }
    *p = *key;
    plan_create(impl, p);
    return p;
}

void dy_cuda_matmul(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    if (dy_cuda_gemv_fits(x, w, out)) dy_cuda_gemv(b, x, w, out);
    else dy_cuda_matmul_cublaslt(b, x, w, out);
}

void dy_cuda_matmul_cublaslt(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    assert(x->cols == w->cols && out->rows == x->rows && out->cols == w->rows);
    assert(x->dtype == DY_BF16 && w->dtype == DY_BF16 && (out->dtype == DY_BF16 || out->dtype == DY_F32));
    if (x->rows == 0 || w->rows == 0) return;
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    dy_cuda_matmul_plan key = {};
    key.n = x->rows;
    key.in = x->cols;
    key.out_features = w->rows;
    key.x_stride = x->stride;
    key.w_stride = w->stride;
    key.out_stride = out->stride;
    key.out_dtype = out->dtype;
    key.align_x = alignment(x->data);
    key.align_w = alignment(w->data);
    key.align_out = alignment(out->data);
    const dy_cuda_matmul_plan *p = plan_for(impl, &key);
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(impl->lt, p->op, &alpha, w->data, p->a, x->data, p->b, &beta, out->data, p->d, out->data,
                                p->d, &p->algo, impl->workspace, impl->workspace_bytes, impl->stream));
}

// The op conformance suite (op_conformance.h). Odd shapes and strided views whose padding holds
// NAN (an op that reads it poisons its result, one that writes it is caught), GQA, decode and
// prefill attention with bias (-inf), temperature and capture, the KV cache write, MoE routing
// with a crafted tie. Results are compared by relative error ||got - ref|| / ||ref||, by argmax
// where the reference has a clear winner, and bit for bit where the op copies. The shapes also
// reach the CUDA backend's separate paths: GEMV (one row of 16-byte pieces) or cuBLASLt, the
// register-row RMSNorm, the tensor-core prefill (head_dim 64/128, 16-byte aligned rows).
#include "op_conformance.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

// Up to 64 rows, MoE with 8 experts of width 64 over hidden 130, decode attention with up to 32
// heads of 128.
const dy_op_limits op_conformance_limits = {.max_rows = 64, .hidden = 130, .intermediate = 64, .n_experts = 8,
                                            .experts_per_token = 2, .n_heads = 32, .head_dim = 128};

// What an activation dtype allows. fp32: the rounding of fp32 sums; bf16: every stored value
// rounded to 8 significant bits.
typedef struct {
    double rel;       // relative error of any result
    double distinct;  // MoE tie: the least relative distance from the higher-index choice's output
} tolerance;

static const tolerance fp32_tolerance = {1e-5, 1e-2}, bf16_tolerance = {2e-2, 0.1};

// The run's backend and its tolerance.
static dy_backend *be;
static tolerance tol;

// Seeded once: every run sees the same inputs, every case fresh ones.
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(float lo, float hi) { return uniform_f32(&rng, lo, hi); }

// ---- values as a backend stores them ---------------------------------------------------------

// x as dtype t holds it (bf16: rounded to nearest even). Only fp32 and bf16 occur here.
static float stored(dy_dtype t, float x) { return t == DY_BF16 ? dy_bf16_to_f32(dy_f32_to_bf16(x)) : x; }

// n fp32 values as dtype t's bytes, malloc'd.
static void *encode(dy_dtype t, const float *src, size_t n) {
    if (t == DY_F32) return memcpy(xmalloc(n * sizeof(float)), src, n * sizeof(float));
    uint16_t *raw = xmalloc(n * sizeof *raw);
    for (size_t i = 0; i < n; i++) raw[i] = dy_f32_to_bf16(src[i]);
    return raw;
}

static void decode(dy_dtype t, const void *raw, float *dst, size_t n) {
    if (t == DY_F32) memcpy(dst, raw, n * sizeof(float));
    else
        for (size_t i = 0; i < n; i++) dst[i] = dy_bf16_to_f32(((const uint16_t *)raw)[i]);
}

// A matrix in backend memory and its host mirror, both (rows, stride): the values exactly as
// stored in v.dtype, NAN in the padding columns.
typedef struct {
    dy_view v;
    float *host;
} mat;

static size_t mat_count(const mat *m) { return (size_t)(m->v.rows * m->v.stride); }

static void mat_upload(mat *m) {
    void *raw = encode(m->v.dtype, m->host, mat_count(m));
    be->upload(be, m->v.data, raw, mat_count(m) * dy_dtype_size(m->v.dtype));
    free(raw);
}

static void mat_download(mat *m) {
    const size_t bytes = mat_count(m) * dy_dtype_size(m->v.dtype);
    void *raw = xmalloc(bytes);
    be->download(be, raw, m->v.data, bytes);
    decode(m->v.dtype, raw, m->host, mat_count(m));
    free(raw);
}

static mat mat_new(int64_t rows, int64_t cols, int64_t stride, float amplitude, dy_dtype dtype) {
    mat m = {{NULL, dtype, rows, cols, stride}, NULL};
    m.host = xmalloc(mat_count(&m) * sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < stride; c++)
            m.host[r * stride + c] = c < cols ? stored(dtype, uniform(-amplitude, amplitude)) : NAN;
    m.v.data = be->alloc(be, mat_count(&m) * dy_dtype_size(dtype));
    if (!m.v.data) setup_die("backend out of memory");
    mat_upload(&m);
    return m;
}

// Values uniform in [-amplitude, amplitude) in the backend's activation dtype.
static mat mat_random(int64_t rows, int64_t cols, int64_t stride, float amplitude) {
    return mat_new(rows, cols, stride, amplitude, be->act_dtype);
}

static void mat_free(mat *m) {
    be->release(be, m->v.data);
    free(m->host);
}

static bool pad_intact(const mat *m) {
    for (int64_t r = 0; r < m->v.rows; r++)
        for (int64_t c = m->v.cols; c < m->v.stride; c++)
            if (!isnan(m->host[r * m->v.stride + c])) return false;
    return true;
}

// A cache (n_kv_heads * max_ctx, head_dim) with NAN at positions from ctx on: reading them would
// poison the output.
static mat cache_new(int n_kv_heads, int max_ctx, int ctx, int head_dim) {
    mat m = mat_random((int64_t)n_kv_heads * max_ctx, head_dim, head_dim, 1);
    for (int g = 0; g < n_kv_heads; g++)
        for (int64_t i = ((int64_t)g * max_ctx + ctx) * head_dim; i < ((int64_t)g + 1) * max_ctx * head_dim; i++)
            m.host[i] = NAN;
    mat_upload(&m);
    return m;
}

// Backend positions pos0, pos0 + 1, ..., pos0 + n - 1 (what the model uploads for a pass).
static int32_t *positions_new(int pos0, int n) {
    int32_t *pos = xmalloc((size_t)n * sizeof *pos);
    for (int i = 0; i < n; i++) pos[i] = pos0 + i;
    int32_t *dev = backend_upload(be, pos, (size_t)n * sizeof *pos);
    free(pos);
    return dev;
}

// ---- comparisons -----------------------------------------------------------------------------

static double *ref_new(int64_t n) {
    double *p = calloc((size_t)n, sizeof(double));
    if (!p) setup_die("out of host memory");
    return p;
}

// ||got - ref|| / ||ref||: got (rows, cols) at stride, ref dense (rows, cols). A NAN in got (a
// padding value read) makes it NAN, which fails every tolerance.
static double rel_err(const float *got, int64_t stride, const double *ref, int64_t rows, int64_t cols) {
    double num = 0, den = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            const double d = got[r * stride + c] - ref[r * cols + c];
            num += d * d;
            den += ref[r * cols + c] * ref[r * cols + c];
        }
    return sqrt(num / den);
}

// How far apart (relative to |top|) a reference row's top two must be for its argmax to be
// required: outputs stored in bf16 within 2^-8 of each other may swap or tie; fp32 ones only
// differ by the order of their sums.
static double argmax_margin(dy_dtype out) { return out == DY_BF16 ? 1e-2 : 1e-4; }

// Over rows of got (cols, at stride) and ref (dense): *clear counts the rows whose reference has
// a clear winner, *agree those of them where got's argmax is it.
static void argmax_rows(const float *got, int64_t stride, const double *ref, int64_t rows, int64_t cols,
                        double margin, int *agree, int *clear) {
    *agree = *clear = 0;
    for (int64_t r = 0; r < rows; r++) {
        const double *w = ref + r * cols;
        int best = 0;
        for (int64_t j = 1; j < cols; j++)
            if (w[j] > w[best]) best = (int)j;
        double second = -INFINITY;
        for (int64_t j = 0; j < cols; j++)
            if (j != best && w[j] > second) second = w[j];
        if (w[best] - second <= margin * fabs(w[best])) continue;
        ++*clear;
        *agree += argmax_f32(got + r * stride, cols) == best;
    }
}

// ---- memory ----------------------------------------------------------------------------------

static void check_alloc(void) {
    void *empty = be->alloc(be, 0);  // documented: a valid pointer, released like any other
    unsigned char src[1000], back[1000];
    for (int i = 0; i < 1000; i++) src[i] = (unsigned char)(i * 7 + 3);
    void *p = backend_upload(be, src, sizeof src);
    be->download(be, back, p, sizeof back);
    check(empty && memcmp(src, back, sizeof src) == 0, "alloc(0) gives a pointer; 1000 bytes round trip");
    if (empty) be->release(be, empty);
    be->release(be, p);
}

// upload_weight stores the host values as the activation dtype holds them, bit for bit (bf16:
// round to nearest even, shown by ties 1 + 2^-8 -> 1 and 1 + 3 * 2^-8 -> 1 + 2^-6, a subnormal,
// a huge value), at the view's stride, the padding untouched. The second shape is larger than
// the CUDA backend's staging buffer (4M values), so it goes up in blocks.
static void check_upload_weight(void) {
    const int64_t shapes[][3] = {{5, 37, 40}, {1100, 4000, 4003}};
    const size_t size = dy_dtype_size(be->act_dtype);
    for (int s = 0; s < 2; s++) {
        const int64_t rows = shapes[s][0], cols = shapes[s][1], stride = shapes[s][2], n = rows * stride;
        float *w = xmalloc((size_t)(rows * cols) * sizeof(float));
        for (int64_t i = 0; i < rows * cols; i++) w[i] = uniform(-2, 2);
        const float special[] = {1.00390625f, 1.01171875f, -1.00390625f, 1e-40f, 3e38f};
        memcpy(w, special, sizeof special);
        unsigned char *raw = xmalloc((size_t)n * size), *want = encode(be->act_dtype, w, (size_t)(rows * cols));
        memset(raw, 0xFF, (size_t)n * size);  // NaN in fp32 and bf16: the padding must stay so
        dy_view dst = {backend_upload(be, raw, (size_t)n * size), be->act_dtype, rows, cols, stride};
        be->upload_weight(be, &dst, w);
        be->download(be, raw, dst.data, (size_t)n * size);
        int64_t wrong = 0, pad_written = 0;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < stride; c++) {
                const unsigned char *got = raw + (r * stride + c) * size;
                if (c < cols) wrong += memcmp(got, want + (r * cols + c) * size, size) != 0;
                else
                    for (size_t i = 0; i < size; i++) pad_written += got[i] != 0xFF;
            }
        check(wrong == 0 && pad_written == 0,
              "upload_weight (%lld, %lld) stride %lld: %lld values differ from the host values as %s, %lld padding "
              "bytes written",
              (long long)rows, (long long)cols, (long long)stride, (long long)wrong,
              dy_dtype_safetensors_name(be->act_dtype), (long long)pad_written);
        be->release(be, dst.data);
        free(raw);
        free(want);
        free(w);
    }
}

// upload_weight_raw (the loader's direct path for checkpoints in weight_dtype) stores what
// upload_weight stores for the same values widened to fp32, bit for bit, from a source at an odd
// address and a row stride of its own, the padding untouched: a matrix larger than the CUDA
// backend's staging buffers (blocks of whole rows, the two buffers alternating) and a row longer
// than one (blocks of columns).
static void check_upload_weight_raw(void) {
    if (!be->upload_weight_raw) return;
    const int64_t shapes[][4] = {{5, 37, 40, 41}, {1100, 4000, 4003, 4010}, {1, 4500000, 4500000, 4500000}};
    const size_t size = dy_dtype_size(be->act_dtype), wsize = dy_dtype_size(be->weight_dtype);
    for (int s = 0; s < 3; s++) {
        const int64_t rows = shapes[s][0], cols = shapes[s][1], stride = shapes[s][2], src_stride = shapes[s][3];
        const int64_t n = rows * stride;
        float *w = xmalloc((size_t)(rows * cols) * sizeof(float));
        for (int64_t i = 0; i < rows * cols; i++) w[i] = uniform(-2, 2);
        unsigned char *packed = encode(be->weight_dtype, w, (size_t)(rows * cols));
        decode(be->weight_dtype, packed, w, (size_t)(rows * cols));  // the values the source holds, widened
        unsigned char *src = xmalloc((size_t)(rows * src_stride) * wsize + 1);
        for (int64_t r = 0; r < rows; r++)
            memcpy(src + 1 + (size_t)(r * src_stride) * wsize, packed + (size_t)(r * cols) * wsize, (size_t)cols * wsize);
        unsigned char *got = xmalloc((size_t)n * size), *want = xmalloc((size_t)n * size);
        memset(got, 0xFF, (size_t)n * size);  // NaN in fp32 and bf16: the padding must stay so
        dy_view raw = {backend_upload(be, got, (size_t)n * size), be->act_dtype, rows, cols, stride};
        dy_view converted = {backend_upload(be, got, (size_t)n * size), be->act_dtype, rows, cols, stride};
        be->upload_weight_raw(be, &raw, src + 1, src_stride);
        be->upload_weight(be, &converted, w);
        be->download(be, got, raw.data, (size_t)n * size);
        be->download(be, want, converted.data, (size_t)n * size);
        int64_t wrong = 0;
        for (int64_t i = 0; i < n; i++) wrong += memcmp(got + i * size, want + i * size, size) != 0;
        check(wrong == 0, "upload_weight_raw (%lld, %lld) stride %lld from %s at stride %lld: %lld values or padding "
                          "differ from upload_weight's",
              (long long)rows, (long long)cols, (long long)stride, dy_dtype_safetensors_name(be->weight_dtype),
              (long long)src_stride, (long long)wrong);
        be->release(be, raw.data);
        be->release(be, converted.data);
        free(got);
        free(want);
        free(src);
        free(packed);
        free(w);
    }
}

// ---- embedding, norms, matmul, gate/up + SwiGLU ----------------------------------------------

static void check_embedding(void) {
    const int row_counts[] = {1, 3, 17}, col_counts[] = {37, 130};
    for (int ri = 0; ri < 3; ri++)
        for (int ci = 0; ci < 2; ci++) {
            const int n = row_counts[ri], d = col_counts[ci];
            mat table = mat_random(50, d, d + 4, 1), out = mat_random(n, d, d + 2, 1);
            int32_t ids[17];
            for (int i = 0; i < n; i++) ids[i] = (i * 13 + 7) % 50;
            ids[n - 1] = 49;
            int32_t *dev_ids = backend_upload(be, ids, (size_t)n * sizeof *ids);
            be->embedding(be, &table.v, dev_ids, &out.v);
            mat_download(&out);
            int wrong = 0;
            for (int i = 0; i < n; i++)
                wrong += memcmp(out.host + i * out.v.stride, table.host + ids[i] * table.v.stride,
                                d * sizeof(float)) != 0;
            check(wrong == 0 && pad_intact(&out), "embedding rows %d cols %d: %d rows differ from their table rows",
                  n, d, wrong);
            be->release(be, dev_ids);
            mat_free(&table);
            mat_free(&out);
        }
}

// residual (n, d) at sum + delta, out (n, d) = rmsnorm(residual) * w, both dense.
static void ref_add_rmsnorm(const mat *x, const mat *delta, const mat *w, float eps, double *sum, double *out) {
    const int64_t n = x->v.rows, d = x->v.cols;
    for (int64_t r = 0; r < n; r++) {
        double ms = 0;
        for (int64_t c = 0; c < d; c++) {
            sum[r * d + c] = x->host[r * x->v.stride + c] + (delta ? delta->host[r * delta->v.stride + c] : 0.0);
            ms += sum[r * d + c] * sum[r * d + c] / d;
        }
        for (int64_t c = 0; c < d; c++) out[r * d + c] = w->host[c] * sum[r * d + c] / sqrt(ms + eps);
    }
}

// Odd widths at odd strides take the CUDA backend's element-by-element kernel; widths of 16-byte
// pieces at aligned strides (the models' hidden sizes) the kernel that holds a row in registers,
// up to 4 pieces a thread (8192 columns) and past it.
static void check_add_rmsnorm(void) {
    const int row_counts[] = {1, 3, 17, 33}, col_counts[] = {37, 130, 1024, 128, 2048, 4096, 8192, 10240};
    const float epsilons[] = {0.25f, 1e-6f};  // a large eps shows where it enters
    for (int ri = 0; ri < 4; ri++)
        for (int ci = 0; ci < 8; ci++)
            for (int with_delta = 0; with_delta < 2; with_delta++)
                for (int ei = 0; ei < 2; ei++) {
                    const int n = row_counts[ri], d = col_counts[ci], pad = ci < 3 ? 1 : 8;  // odd strides, or aligned
                    const float eps = epsilons[ei];
                    mat x = mat_random(n, d, d + 5 * pad, 2), delta = mat_random(n, d, d + 3 * pad, 1),
                        w = mat_random(1, d, d, 1), out = mat_random(n, d, d + 2 * pad, 1);
                    double *sum = ref_new(n * d), *ref = ref_new(n * d);
                    ref_add_rmsnorm(&x, with_delta ? &delta : NULL, &w, eps, sum, ref);
                    be->add_rmsnorm(be, &x.v, with_delta ? &delta.v : NULL, &w.v, eps, &out.v);
                    mat_download(&x);
                    mat_download(&out);
                    const double e_out = rel_err(out.host, out.v.stride, ref, n, d);
                    const double e_x = rel_err(x.host, x.v.stride, sum, n, d);
                    check(e_out < tol.rel && e_x < tol.rel && pad_intact(&out) && pad_intact(&x),
                          "add_rmsnorm rows %d cols %d delta %d eps %g: out %.3g, residual %.3g", n, d, with_delta,
                          eps, e_out, e_x);
                    free(sum);
                    free(ref);
                    mat_free(&x);
                    mat_free(&delta);
                    mat_free(&w);
                    mat_free(&out);
                }
}

// out (n, of) = x (n, in) @ w (of, in)^T in double, x and w from row x0 / 0 of their mirrors.
static void ref_matmul(const mat *x, int64_t x0, const mat *w, int64_t n, double *out) {
    const int64_t in = x->v.cols, of = w->v.rows;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < of; j++) {
            double s = 0;
            const float *xr = x->host + (x0 + i) * x->v.stride, *wr = w->host + j * w->v.stride;
            for (int64_t k = 0; k < in; k++) s += (double)xr[k] * wr[k];
            out[i * of + j] = s;
        }
}

// x (n, in) @ w (of, in)^T into an output of out_dtype; x may be rows [x_row0, x_row0 + n) of a
// larger matrix (a view whose pointer is not aligned).
static void matmul_case(int n, int in, int of, bool strided, dy_dtype out_dtype, int x_row0) {
    const int xs = strided ? in + 7 : in, ws = strided ? in + 1 : in, os = strided ? of + 2 : of;
    mat x = mat_random(n + x_row0, in, xs, 1), w = mat_random(of, in, ws, 1), out = mat_new(n, of, os, 1, out_dtype);
    const dy_view xv = dy_view_rows(&x.v, x_row0, n);
    double *ref = ref_new((int64_t)n * of);
    ref_matmul(&x, x_row0, &w, n, ref);
    be->matmul(be, &xv, &w.v, &out.v);
    mat_download(&out);
    const double e = rel_err(out.host, os, ref, n, of);
    int agree, clear;
    argmax_rows(out.host, os, ref, n, of, argmax_margin(out_dtype), &agree, &clear);
    check(e < tol.rel && pad_intact(&out) && agree == clear,
          "matmul (%d, %d) @ (%d, %d)^T%s%s -> %s: relative error %.3g, row argmax %d/%d", n, in, of, in,
          strided ? " strided" : "", x_row0 ? " (x from row 1)" : "", dy_dtype_safetensors_name(out_dtype), e, agree,
          clear);
    free(ref);
    mat_free(&x);
    mat_free(&w);
    mat_free(&out);
}

static void check_matmul(void) {
    const int row_counts[] = {1, 3, 17, 33}, in_dims[] = {37, 130}, out_dims[] = {1, 37, 130};
    // The output in the activation dtype, and in fp32 (the logits) where that differs.
    const dy_dtype act = be->act_dtype, out_dtypes[] = {act, DY_F32};
    const int n_out_dtypes = act == DY_F32 ? 1 : 2;
    for (int ri = 0; ri < 4; ri++)
        for (int ii = 0; ii < 2; ii++)
            for (int oi = 0; oi < 3; oi++)
                for (int strided = 0; strided < 2; strided++)
                    for (int di = 0; di < n_out_dtypes; di++)
                        matmul_case(row_counts[ri], in_dims[ii], out_dims[oi], strided, out_dtypes[di], 0);
    matmul_case(3, 37, 130, true, act, 1);  // x at an odd element offset
    matmul_case(17, 130, 37, true, DY_F32, 1);
    matmul_case(17, 1024, 1000, false, act, 0);  // tensor-core sized
    matmul_case(64, 4096, 512, false, DY_F32, 0);
    matmul_case(1, 4096, 1024, false, DY_F32, 0);  // decode-shaped
}

// The LM head: the last position's row against a vocabulary of rows, into fp32 logits on every
// backend (stored in a bf16 backend's activation dtype, most of them would be bf16 values).
static void check_lm_head(void) {
    const int shapes[][2] = {{130, 1000}, {4096, 1024}};  // (in, vocab)
    for (int s = 0; s < 2; s++) {
        const int in = shapes[s][0], vocab = shapes[s][1];
        mat x = mat_random(1, in, in, 1), w = mat_random(vocab, in, in, 1), out = mat_new(1, vocab, vocab + 3, 1, DY_F32);
        double *ref = ref_new(vocab);
        ref_matmul(&x, 0, &w, 1, ref);
        be->lm_head(be, &x.v, &w.v, &out.v);
        mat_download(&out);
        const double e = rel_err(out.host, out.v.stride, ref, 1, vocab);
        int not_bf16 = 0;
        for (int j = 0; j < vocab; j++) not_bf16 += stored(DY_BF16, out.host[j]) != out.host[j];
        check(e < tol.rel && not_bf16 > vocab / 2 && pad_intact(&out),
              "lm_head (1, %d) @ (%d, %d)^T -> F32: relative error %.3g, %d of %d logits are no bf16 values", in, vocab,
              in, e, not_bf16, vocab);
        free(ref);
        mat_free(&x);
        mat_free(&w);
        mat_free(&out);
    }
}

static double ref_silu(double x) { return x / (1.0 + exp(-x)); }

// The stacked gate/up product and SwiGLU; the first inter columns of out hold silu(gate) * up
// (the rest is scratch). One row of 16-byte pieces at aligned strides takes the CUDA backend's
// fused GEMV, the rest cuBLASLt and the elementwise kernel.
static void gate_up_swiglu_case(int n, int in, int inter, bool aligned) {
    const int cols = 2 * inter;
    mat x = mat_random(n, in, in + (aligned ? 8 : 3), 1), w = mat_random(cols, in, in + (aligned ? 8 : 1), 1),
        out = mat_random(n, cols, cols + 2, 1);
    double *gate_up = ref_new((int64_t)n * cols), *ref = ref_new((int64_t)n * inter);
    ref_matmul(&x, 0, &w, n, gate_up);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < inter; j++)
            ref[i * inter + j] = ref_silu(gate_up[i * cols + j]) * gate_up[i * cols + inter + j];
    be->gate_up_swiglu(be, &x.v, &w.v, &out.v);
    mat_download(&out);
    const double e = rel_err(out.host, out.v.stride, ref, n, inter);
    check(e < tol.rel && pad_intact(&out), "gate_up_swiglu (%d, %d) @ (2 x %d, %d)^T%s: relative error %.3g", n, in,
          inter, in, aligned ? " aligned rows" : "", e);
    free(gate_up);
    free(ref);
    mat_free(&x);
    mat_free(&w);
    mat_free(&out);
}

static void check_gate_up_swiglu(void) {
    const int row_counts[] = {1, 3, 17}, in_counts[] = {37, 128, 4096}, inters[] = {5, 64, 1536};
    for (int ri = 0; ri < 3; ri++)
        for (int ii = 0; ii < 3; ii++)
            for (int ti = 0; ti < 3; ti++)
                for (int aligned = 0; aligned <= (in_counts[ii] % 8 == 0); aligned++)
                    gate_up_swiglu_case(row_counts[ri], in_counts[ii], inters[ti], aligned);
}

// ---- norm + RoPE -----------------------------------------------------------------------------

// One side of attention_inputs: norm + RoPE of x's heads as queries.
static void op_norm_rope(dy_view *x, int n_heads, int head_dim, const dy_view *w, float eps, bool normalise,
                         const int32_t *positions, const float *inv_freq, float attn_factor) {
    const dy_attention_inputs a = {.q = x, .q_norm = w, .n_heads = n_heads, .head_dim = head_dim, .eps = eps,
                                   .normalise = normalise, .positions = positions, .inv_freq = inv_freq,
                                   .attn_factor = attn_factor};
    be->attention_inputs(be, &a);
}

// One head vector src (head_dim <= 256) normalised (times w when not NULL) if normalise, then
// rotated.
static void ref_norm_rope(const float *src, int hd, bool normalise, const float *w, float eps, int32_t pos,
                          const float *inv_freq, float af, double *dst) {
    const int half = hd / 2;
    double v[256], ms = 0;
    for (int i = 0; i < hd; i++) ms += (double)src[i] * src[i] / hd;
    for (int i = 0; i < hd; i++) v[i] = normalise ? src[i] / sqrt(ms + eps) * (w ? w[i] : 1.0) : src[i];
    for (int i = 0; i < half; i++) {
        const float angle = (float)pos * inv_freq[i];  // fp32, as specified
        const double c = cos((double)angle) * af, s = sin((double)angle) * af;
        dst[i] = v[i] * c - v[i + half] * s;
        dst[i + half] = v[i + half] * c + v[i] * s;
    }
}

// Rows at random positions up to 40000 (the first at 0); mode 0: no norm, 1: norm without
// weight, 2: norm with weight.
static void norm_rope_case(int hd, int nh, int n, int mode, float af, float eps) {
    const int half = hd / 2, cols = nh * hd;
    mat x = mat_random(n, cols, cols + 4, 3), w = mat_random(1, hd, hd, 1);
    int32_t pos[17];
    float inv_freq[128];
    for (int r = 0; r < n; r++) pos[r] = (int32_t)uniform(0, 40000);
    pos[0] = 0;
    for (int i = 0; i < half; i++) inv_freq[i] = (float)pow(1e6, -2.0 * i / hd);
    int32_t *dev_pos = backend_upload(be, pos, (size_t)n * sizeof *pos);
    float *dev_freq = backend_upload(be, inv_freq, (size_t)half * sizeof(float));
    double *ref = ref_new((int64_t)n * cols);
    for (int r = 0; r < n; r++)
        for (int h = 0; h < nh; h++)
            ref_norm_rope(x.host + r * x.v.stride + h * hd, hd, mode > 0, mode == 2 ? w.host : NULL, eps, pos[r],
                          inv_freq, af, ref + r * cols + h * hd);
    op_norm_rope(&x.v, nh, hd, mode == 2 ? &w.v : NULL, eps, mode > 0, dev_pos, dev_freq, af);
    mat_download(&x);
    const double e = rel_err(x.host, x.v.stride, ref, n, cols);
    check(e < tol.rel && pad_intact(&x),
          "norm_rope head_dim %d heads %d rows %d mode %d factor %g eps %g: relative error %.3g", hd, nh, n, mode, af,
          eps, e);
    free(ref);
    be->release(be, dev_pos);
    be->release(be, dev_freq);
    mat_free(&x);
    mat_free(&w);
}

static void check_norm_rope(void) {
    const int head_dims[] = {32, 64, 128, 256}, head_counts[] = {1, 3, 8}, row_counts[] = {1, 3, 17};
    const float factors[] = {1.0f, 1.1386f}, epsilons[] = {1e-6f, 0.25f};  // a large eps shows where it enters
    for (int di = 0; di < 4; di++)
        for (int hi = 0; hi < 3; hi++)
            for (int ri = 0; ri < 3; ri++)
                for (int mode = 0; mode < 3; mode++)
                    for (int fi = 0; fi < 2; fi++)
                        for (int ei = 0; ei < 2; ei++)  // without the norm eps must not matter
                            norm_rope_case(head_dims[di], head_counts[hi], row_counts[ri], mode, factors[fi],
                                           epsilons[ei]);
}

// Both sides in one call, as the model runs it: q and k normalised with their own weights and
// rotated; the cache rows at the positions bit for bit the backend's own rotated k and the v
// rows, every other row as it was.
static void attention_inputs_case(int hd, int k_pad) {
    enum { n = 5, nh = 8, nkv = 2, max_ctx = 300 };
    const int half = hd / 2;
    const int32_t pos[n] = {0, 7, 299, 150, 151};
    float inv_freq[64];
    for (int i = 0; i < half; i++) inv_freq[i] = (float)pow(1e6, -2.0 * i / hd);
    mat q = mat_random(n, nh * hd, nh * hd + 8, 3), k = mat_random(n, nkv * hd, nkv * hd + k_pad, 3),
        v = mat_random(n, nkv * hd, nkv * hd, 1), wq = mat_random(1, hd, hd, 1), wk = mat_random(1, hd, hd, 1),
        k_cache = mat_random(nkv * max_ctx, hd, hd, 1), v_cache = mat_random(nkv * max_ctx, hd, hd, 1);
    int32_t *dev_pos = backend_upload(be, pos, sizeof pos);
    float *dev_freq = backend_upload(be, inv_freq, (size_t)half * sizeof(float));
    const size_t cache_bytes = mat_count(&k_cache) * sizeof(float);
    float *k_cache0 = memcpy(xmalloc(cache_bytes), k_cache.host, cache_bytes);
    float *v_cache0 = memcpy(xmalloc(cache_bytes), v_cache.host, cache_bytes);
    double *ref_q = ref_new(n * nh * hd), *ref_k = ref_new(n * nkv * hd);
    for (int r = 0; r < n; r++) {
        for (int h = 0; h < nh; h++)
            ref_norm_rope(q.host + r * q.v.stride + h * hd, hd, true, wq.host, 1e-6f, pos[r], inv_freq, 1.1f,
                          ref_q + (r * nh + h) * hd);
        for (int h = 0; h < nkv; h++)
            ref_norm_rope(k.host + r * k.v.stride + h * hd, hd, true, wk.host, 1e-6f, pos[r], inv_freq, 1.1f,
                          ref_k + (r * nkv + h) * hd);
    }
    const dy_attention_inputs a = {
        .q = &q.v, .k = &k.v, .v = &v.v, .q_norm = &wq.v, .k_norm = &wk.v, .n_heads = nh, .n_kv_heads = nkv,
        .head_dim = hd, .eps = 1e-6f, .normalise = true, .positions = dev_pos, .inv_freq = dev_freq,
        .attn_factor = 1.1f, .k_cache = k_cache.v.data, .v_cache = v_cache.v.data, .max_ctx = max_ctx,
    };
    be->attention_inputs(be, &a);
    mat_download(&q);
    mat_download(&k);
    mat_download(&k_cache);
    mat_download(&v_cache);
    const double e_q = rel_err(q.host, q.v.stride, ref_q, n, nh * hd);
    const double e_k = rel_err(k.host, k.v.stride, ref_k, n, nkv * hd);
    int wrong_rows = 0;
    for (int g = 0; g < nkv; g++)
        for (int j = 0; j < max_ctx; j++) {
            int r = -1;
            for (int i = 0; i < n; i++) r = pos[i] == j ? i : r;
            const size_t row = (size_t)(g * max_ctx + j) * hd, bytes = (size_t)hd * sizeof(float);
            const float *want_k = r < 0 ? k_cache0 + row : k.host + r * k.v.stride + g * hd,
                        *want_v = r < 0 ? v_cache0 + row : v.host + r * v.v.stride + g * hd;
            wrong_rows +=
                memcmp(k_cache.host + row, want_k, bytes) != 0 || memcmp(v_cache.host + row, want_v, bytes) != 0;
        }
    check(e_q < tol.rel && e_k < tol.rel && pad_intact(&q) && pad_intact(&k) && wrong_rows == 0,
          "attention_inputs head_dim %d, %d/%d heads, k stride %d: q %.3g, k %.3g, %d cache rows wrong", hd, nh, nkv,
          (int)k.v.stride, e_q, e_k, wrong_rows);
    free(ref_q);
    free(ref_k);
    free(k_cache0);
    free(v_cache0);
    be->release(be, dev_pos);
    be->release(be, dev_freq);
    mat *mats[] = {&q, &k, &v, &wq, &wk, &k_cache, &v_cache};
    for (int i = 0; i < 7; i++) mat_free(mats[i]);
}

static void check_attention_inputs(void) {
    const int head_dims[] = {32, 64, 128}, k_pads[] = {4, 8};
    for (int di = 0; di < 3; di++)
        for (int pi = 0; pi < 2; pi++) attention_inputs_case(head_dims[di], k_pads[pi]);
}

// ---- attention -------------------------------------------------------------------------------

// Host inputs of the reference: element (g, j, t) of the keys at g * head_stride + j * k_pos_stride
// + t (values alike), so a cache and plain (positions, n_kv_heads * head_dim) rows both fit.
typedef struct {
    int n_heads, n_kv_heads, head_dim, q_pos0;
    double scale;
    const float *q;
    int64_t q_stride;
    const float *k, *v;
    int64_t head_stride, k_pos_stride, v_pos_stride;
    const float *bias;  // NULL or (q_pos0 + n_q)
} ref_attn;

// Query i, head h: probs (q_pos0 + i + 1) and out (head_dim).
static void ref_attend(const ref_attn *r, int i, int h, double *probs, double *out) {
    const int g = h * r->n_kv_heads / r->n_heads, d = r->head_dim, n_keys = r->q_pos0 + i + 1;
    const float *q = r->q + i * r->q_stride + h * d;
    double max = -INFINITY, sum = 0;
    for (int j = 0; j < n_keys; j++) {
        double dot = 0;
        for (int t = 0; t < d; t++) dot += (double)q[t] * r->k[g * r->head_stride + j * r->k_pos_stride + t];
        probs[j] = r->scale * dot + (r->bias ? r->bias[j] : 0.0);
        if (probs[j] > max) max = probs[j];
    }
    for (int j = 0; j < n_keys; j++) sum += probs[j] = exp(probs[j] - max);
    for (int t = 0; t < d; t++) out[t] = 0;
    for (int j = 0; j < n_keys; j++) {
        probs[j] /= sum;
        for (int t = 0; t < d; t++) out[t] += probs[j] * r->v[g * r->head_stride + j * r->v_pos_stride + t];
    }
}

// Every query's output, out (n_q, n_heads * head_dim); (query, head) pairs spread over the host's
// cores (the long-context cases are billions of multiply-adds).
static void ref_attention(const ref_attn *r, int n_q, double *out) {
    const int nh = r->n_heads, d = r->head_dim;
#pragma omp parallel
    {
        double *probs = ref_new(r->q_pos0 + n_q);
#pragma omp for schedule(dynamic)
        for (int task = 0; task < n_q * nh; task++)
            ref_attend(r, task / nh, task % nh, probs, out + (int64_t)task * d);
        free(probs);
    }
}

// The capture rows (n_capture, n_keys) of the newest query against the reference: each row's
// relative error and its sum within tolerance (counted in *bad_rows, worst error in *worst), and
// its argmax where the reference has a clear winner.
static void check_capture_rows(const dy_attention_args *a, const ref_attn *r, const float *capture, int *bad_rows,
                               double *worst, int *agree, int *clear) {
    const int ctx = a->n_keys;
    int32_t heads[8];
    be->download(be, heads, a->capture_heads, (size_t)a->n_capture * sizeof *heads);
    double *probs = ref_new(ctx), *out = ref_new(a->head_dim);
    *bad_rows = *agree = *clear = 0;
    *worst = 0;
    for (int c = 0; c < a->n_capture; c++) {
        const float *row = capture + (int64_t)c * ctx;
        ref_attend(r, a->n_q - 1, heads[c], probs, out);
        double total = 0;
        for (int j = 0; j < ctx; j++) total += row[j];
        const double e = rel_err(row, ctx, probs, 1, ctx);
        *bad_rows += !(e < tol.rel && fabs(total - 1) < tol.rel);
        if (e > *worst) *worst = e;
        int row_agree, row_clear;
        argmax_rows(row, ctx, probs, 1, ctx, argmax_margin(DY_F32), &row_agree, &row_clear);
        *agree += row_agree;
        *clear += row_clear;
    }
    free(probs);
    free(out);
}

// Runs attention a into out (with a capture buffer made here, guarded past its rows) and checks
// the output and the capture rows against the reference r. One query runs again with n_keys given
// as the bound max_ctx, as a recorded decode step does (the op reads the position on the device).
static void check_attention(const dy_attention_args *a, const ref_attn *r, mat *out, const char *what) {
    const int ctx = a->n_keys, cols = a->n_heads * a->head_dim, guard = 16;
    const size_t cap_n = (size_t)(a->n_capture * ctx + guard);
    float *capture = xmalloc(cap_n * sizeof(float));
    for (size_t i = 0; i < cap_n; i++) capture[i] = NAN;
    dy_attention_args args = *a;
    args.out = &out->v;
    args.capture_out = backend_upload(be, capture, cap_n * sizeof(float));
    be->attention(be, &args);
    mat_download(out);
    be->download(be, capture, args.capture_out, cap_n * sizeof(float));

    double *ref = ref_new((int64_t)a->n_q * cols);
    ref_attention(r, a->n_q, ref);
    const double e = rel_err(out->host, out->v.stride, ref, a->n_q, cols);
    int bad_rows, agree, clear;
    double e_cap;
    check_capture_rows(a, r, capture, &bad_rows, &e_cap, &agree, &clear);
    bool guard_ok = true;
    for (int i = 0; i < guard; i++) guard_ok &= isnan(capture[a->n_capture * ctx + i]);
    check(e < tol.rel && pad_intact(out) && bad_rows == 0 && agree == clear && guard_ok,
          "%s: output %.3g, capture (%d heads) %.3g, %d rows off (error or sum), capture argmax %d/%d%s", what, e,
          a->n_capture, e_cap, bad_rows, agree, clear, guard_ok ? "" : ", capture written past its rows");
    if (a->n_q == 1) {
        args.n_keys = a->max_ctx;
        args.n_capture = 0;
        be->attention(be, &args);
        mat_download(out);
        const double e_bound = rel_err(out->host, out->v.stride, ref, 1, cols);
        check(e_bound < tol.rel && pad_intact(out), "%s, n_keys given as the bound %d: output %.3g", what, a->max_ctx,
              e_bound);
    }
    free(ref);
    free(capture);
    be->release(be, args.capture_out);
}

typedef struct {
    int n_heads, n_kv_heads, head_dim, n_q, q_pos0;
    bool long_context;  // run only when asked (op_conformance_run)
} attn_case;

static const attn_case attn_cases[] = {
    // decode: one query against 1..40001 keys, GQA ratios 1 to 8
    {4, 4, 32, 1, 0, false},
    {4, 4, 64, 1, 0, false},
    {4, 4, 32, 1, 6, false},
    {8, 2, 64, 1, 6, false},
    {8, 2, 64, 1, 63, false},
    {8, 1, 64, 1, 100, false},
    {8, 1, 128, 1, 63, false},
    {16, 2, 128, 1, 150, false},
    {32, 4, 128, 1, 299, false},
    {4, 2, 32, 1, 700, false},  // the tiny presets' head_dim
    {16, 4, 128, 1, 999, false},
    {16, 2, 64, 1, 3001, false},
    {32, 4, 128, 1, 4999, false},
    {8, 8, 128, 1, 4999, false},
    {32, 8, 128, 1, 40000, true},  // splits of a few hundred keys, not multiples of the tile; a 128k cache
    // prefill from an empty cache and on top of cached positions
    {4, 4, 32, 40, 0, false},
    {4, 4, 64, 64, 0, false},
    {32, 4, 128, 33, 0, false},
    {32, 4, 128, 64, 0, false},
    {4, 2, 32, 40, 9, false},
    {8, 2, 64, 40, 25, false},
    {16, 2, 128, 17, 25, false},
    {8, 1, 32, 3, 25, false},
    {8, 1, 64, 64, 100, false},
    {16, 4, 128, 17, 100, false},
    {8, 2, 64, 3, 100, false},
    {8, 1, 64, 129, 63, false},  // tile edges: 129 queries from position 63
    {32, 8, 128, 300, 1000, true},
    {32, 8, 128, 513, 8000, true},
};

// A case with bias (-inf every 11th key) and temperature 0.7 or without, its q and output rows at
// 16-byte aligned strides (the tensor-core prefill) or odd ones.
static void attention_case(const attn_case *c, bool biased, bool aligned) {
    const int nh = c->n_heads, nkv = c->n_kv_heads, hd = c->head_dim, n_q = c->n_q, pos0 = c->q_pos0;
    const int ctx = pos0 + n_q;
    // Room past the context (NAN-filled), up to a 128k cache for the largest decode case.
    const int max_ctx = ctx + (n_q == 1 && ctx > 10000 ? 131072 - ctx : 7);
    char what[160];
    snprintf(what, sizeof what, "attention heads %d/%d head_dim %d n_q %d q_pos0 %d%s%s", nh, nkv, hd, n_q, pos0,
             biased ? " bias (-inf) temperature 0.7" : "", aligned ? " aligned rows" : "");
    mat k = cache_new(nkv, max_ctx, ctx, hd), v = cache_new(nkv, max_ctx, ctx, hd);
    mat q = mat_random(n_q, nh * hd, nh * hd + (aligned ? 8 : 3), 2),
        out = mat_random(n_q, nh * hd, nh * hd + (aligned ? 8 : 5), 1);
    // (max_ctx) values, NAN past the context: the bias of the keys a query attends to, no more.
    float *bias = xmalloc((size_t)max_ctx * sizeof(float));
    for (int j = 0; j < max_ctx; j++) bias[j] = j >= ctx ? NAN : j % 11 == 5 ? -INFINITY : uniform(0, 1.5f);
    const int32_t heads[3] = {nh - 1, 0, nh / 2};  // distinct: every case has 4 heads or more
    float *dev_bias = backend_upload(be, bias, (size_t)max_ctx * sizeof(float));
    int32_t *dev_heads = backend_upload(be, heads, sizeof heads), *dev_pos = positions_new(pos0, n_q);
    const float scale = 1.0f / sqrtf((float)hd) / (biased ? 0.7f : 1.0f);
    const dy_attention_args a = {
        .q = &q.v, .k = k.v.data, .v = v.v.data, .max_ctx = max_ctx, .n_q = n_q, .positions = dev_pos, .n_keys = ctx,
        .n_heads = nh, .n_kv_heads = nkv, .head_dim = hd, .scale = scale, .bias = biased ? dev_bias : NULL,
        .n_capture = 3, .capture_heads = dev_heads,
    };
    const ref_attn r = {nh, nkv, hd, pos0, scale, q.host, q.v.stride, k.host, v.host, (int64_t)max_ctx * hd, hd, hd,
                        biased ? bias : NULL};
    check_attention(&a, &r, &out, what);
    free(bias);
    be->release(be, dev_bias);
    be->release(be, dev_heads);
    be->release(be, dev_pos);
    mat_free(&k);
    mat_free(&v);
    mat_free(&q);
    mat_free(&out);
}

static void check_attention_cases(bool long_contexts) {
    for (size_t ci = 0; ci < sizeof attn_cases / sizeof *attn_cases; ci++) {
        const attn_case *c = &attn_cases[ci];
        if (c->long_context && !long_contexts) continue;
        for (int biased = 0; biased < 2; biased++)
            for (int aligned = 0; aligned <= (c->n_q > 1); aligned++)  // decode reads rows the same way either way
                attention_case(c, biased, aligned);
    }
}

// Every key masked is a caller error; the op defines the result as zeros (output and capture).
static void attention_all_masked_case(int hd) {
    enum { nh = 4, nkv = 2, n_q = 2, pos0 = 5, ctx = pos0 + n_q };
    mat k = cache_new(nkv, ctx, ctx, hd), v = cache_new(nkv, ctx, ctx, hd);
    mat q = mat_random(n_q, nh * hd, nh * hd, 1), out = mat_random(n_q, nh * hd, nh * hd, 1);
    float bias[ctx], capture[ctx];
    for (int j = 0; j < ctx; j++) bias[j] = -INFINITY;
    const int32_t head = 3;
    float *dev_bias = backend_upload(be, bias, sizeof bias), *dev_capture = backend_upload(be, bias, sizeof bias);
    int32_t *dev_head = backend_upload(be, &head, sizeof head), *dev_pos = positions_new(pos0, n_q);
    const dy_attention_args a = {
        .q = &q.v, .k = k.v.data, .v = v.v.data, .max_ctx = ctx, .n_q = n_q, .positions = dev_pos, .n_keys = ctx,
        .n_heads = nh, .n_kv_heads = nkv, .head_dim = hd, .scale = 0.2f, .bias = dev_bias, .n_capture = 1,
        .capture_heads = dev_head, .capture_out = dev_capture, .out = &out.v,
    };
    be->attention(be, &a);
    mat_download(&out);
    be->download(be, capture, dev_capture, sizeof capture);
    int nonzero = 0;
    for (int i = 0; i < n_q * nh * hd; i++) nonzero += out.host[i] != 0.0f;
    for (int j = 0; j < ctx; j++) nonzero += capture[j] != 0.0f;
    check(nonzero == 0, "attention head_dim %d with every key masked: %d nonzero output or capture values", hd,
          nonzero);
    be->release(be, dev_bias);
    be->release(be, dev_capture);
    be->release(be, dev_head);
    be->release(be, dev_pos);
    mat_free(&k);
    mat_free(&v);
    mat_free(&q);
    mat_free(&out);
}

// The other side of attention_inputs: K/V rows into a cache. inv_freq all 0: every angle is 0, cos
// 1 and sin 0, so k stays exactly as it was.
static void op_kv_write(dy_view *k, const dy_view *v, void *k_cache, void *v_cache, int max_ctx, int n_kv_heads,
                        int head_dim, const int32_t *positions) {
    const size_t bytes = (size_t)(head_dim / 2) * sizeof(float);
    float *zeros = memset(xmalloc(bytes), 0, bytes), *inv_freq = backend_upload(be, zeros, bytes);
    const dy_attention_inputs a = {.k = k, .v = v, .n_kv_heads = n_kv_heads, .head_dim = head_dim,
                                   .positions = positions, .inv_freq = inv_freq, .attn_factor = 1.0f,
                                   .k_cache = k_cache, .v_cache = v_cache, .max_ctx = max_ctx};
    be->attention_inputs(be, &a);
    be->release(be, inv_freq);
    free(zeros);
}

// Values of the written cache rows (positions [0, ctx) of each KV head) that differ from the rows
// given, and values past them that are no longer NAN.
static int64_t cache_differs(const mat *cache, const mat *rows, int n_kv_heads, int max_ctx, int ctx) {
    const int hd = (int)cache->v.cols;
    int64_t differ = 0;
    for (int g = 0; g < n_kv_heads; g++)
        for (int j = 0; j < max_ctx; j++) {
            const float *got = cache->host + ((int64_t)g * max_ctx + j) * hd;
            if (j < ctx)
                differ += memcmp(got, rows->host + j * rows->v.stride + g * hd, (size_t)hd * sizeof(float)) != 0;
            else
                for (int t = 0; t < hd; t++) differ += !isnan(got[t]);
        }
    return differ;
}

// K/V rows written to the cache in three chunks (25, 1, 14 positions), then prefill and decode
// attention over that cache against the reference reading the plain rows.
static void check_kv_write_then_attention(void) {
    const int nh = 8, nkv = 2, hd = 64, ctx = 40, max_ctx = 48, kv_cols = nkv * hd;
    mat keys = mat_random(ctx, kv_cols, kv_cols + 3, 1), values = mat_random(ctx, kv_cols, kv_cols + 1, 1);
    mat k_cache = cache_new(nkv, max_ctx, ctx, hd), v_cache = cache_new(nkv, max_ctx, ctx, hd);
    const int chunks[][2] = {{0, 25}, {25, 1}, {26, 14}};  // (pos0, rows)
    for (int c = 0; c < 3; c++) {
        const int pos0 = chunks[c][0], n = chunks[c][1];
        dy_view kc = dy_view_rows(&keys.v, pos0, n);
        const dy_view vc = dy_view_rows(&values.v, pos0, n);
        int32_t *dev_pos = positions_new(pos0, n);
        op_kv_write(&kc, &vc, k_cache.v.data, v_cache.v.data, max_ctx, nkv, hd, dev_pos);
        be->release(be, dev_pos);
    }
    mat_download(&k_cache);
    mat_download(&v_cache);
    const int64_t differ =
        cache_differs(&k_cache, &keys, nkv, max_ctx, ctx) + cache_differs(&v_cache, &values, nkv, max_ctx, ctx);
    check(differ == 0,
          "kv_write in chunks of 25, 1, 14 rows: %lld cache values differ from the rows given or are written past them",
          (long long)differ);

    const int32_t heads[3] = {5, 2, 5};  // head 5 twice: both rows must hold its probabilities
    int32_t *dev_heads = backend_upload(be, heads, sizeof heads);
    const int passes[][2] = {{26, 14}, {39, 1}}, out_pads[] = {2, 8};  // (q_pos0, n_q); odd or aligned output rows
    for (int p = 0; p < 2; p++)
        for (int oi = 0; oi < 2; oi++) {
            const int pos0 = passes[p][0], n_q = passes[p][1];
            mat q = mat_random(n_q, nh * hd, nh * hd, 2), out = mat_random(n_q, nh * hd, nh * hd + out_pads[oi], 1);
            const float scale = 1.0f / sqrtf((float)hd);
            int32_t *dev_pos = positions_new(pos0, n_q);
            const dy_attention_args a = {
                .q = &q.v, .k = k_cache.v.data, .v = v_cache.v.data, .max_ctx = max_ctx, .n_q = n_q,
                .positions = dev_pos, .n_keys = pos0 + n_q, .n_heads = nh, .n_kv_heads = nkv, .head_dim = hd,
                .scale = scale, .n_capture = 3, .capture_heads = dev_heads,
            };
            // The reference reads the rows given to the cache write: key j of KV head g at j * stride + g * head_dim.
            const ref_attn r = {nh, nkv, hd, pos0, scale, q.host, q.v.stride, keys.host, values.host,
                                hd, keys.v.stride, values.v.stride, NULL};
            char what[64];
            snprintf(what, sizeof what, "kv_write + %s, output stride %d", p ? "decode" : "prefill", (int)out.v.stride);
            check_attention(&a, &r, &out, what);
            be->release(be, dev_pos);
            mat_free(&q);
            mat_free(&out);
        }
    be->release(be, dev_heads);
    mat_free(&keys);
    mat_free(&values);
    mat_free(&k_cache);
    mat_free(&v_cache);
}

// ---- MoE -------------------------------------------------------------------------------------

typedef struct {
    int n_experts, hidden, inter;
    mat router, gate[8], up[8], down[8];
    dy_mlp_weights weights[8];
} moe_case;

static void moe_case_new(moe_case *m, int n_experts, int hidden, int inter) {
    m->n_experts = n_experts;
    m->hidden = hidden;
    m->inter = inter;
    m->router = mat_random(n_experts, hidden, hidden, 1);
    for (int e = 0; e < n_experts; e++) {
        m->gate[e] = mat_random(inter, hidden, hidden, 0.5f);
        m->up[e] = mat_random(inter, hidden, hidden, 0.5f);
        m->down[e] = mat_random(hidden, inter, inter, 0.5f);
        m->weights[e] = (dy_mlp_weights){m->gate[e].v, m->up[e].v, m->down[e].v};
    }
}

static void moe_case_free(moe_case *m) {
    mat_free(&m->router);
    for (int e = 0; e < m->n_experts; e++) {
        mat_free(&m->gate[e]);
        mat_free(&m->up[e]);
        mat_free(&m->down[e]);
    }
}

// The reference block in double (up to 8 experts, inter up to 64); equal probabilities go to the
// lower expert index, or to the higher one when ties_high (to show the op's output differs).
static void ref_moe(const moe_case *m, const mat *x, int top_k, bool norm_topk, bool ties_high, double *out) {
    const int E = m->n_experts, H = m->hidden, I = m->inter;
    for (int t = 0; t < x->v.rows; t++) {
        const float *xt = x->host + t * x->v.stride;
        double prob[8], sum = 0, max = -INFINITY, weight[8] = {0}, picked = 0;
        for (int e = 0; e < E; e++) {
            prob[e] = 0;
            for (int c = 0; c < H; c++) prob[e] += (double)xt[c] * m->router.host[e * H + c];
            if (prob[e] > max) max = prob[e];
        }
        for (int e = 0; e < E; e++) sum += prob[e] = exp(prob[e] - max);
        bool taken[8] = {false};
        for (int k = 0; k < top_k; k++) {
            int best = -1;
            for (int e = 0; e < E; e++)
                if (!taken[e] && (best < 0 || prob[e] > prob[best] || (ties_high && prob[e] == prob[best]))) best = e;
            taken[best] = true;
            weight[best] = prob[best] / sum;
            picked += weight[best];
        }
        for (int c = 0; c < H; c++) out[t * H + c] = 0;
        for (int e = 0; e < E; e++) {
            if (!taken[e]) continue;
            const double w = norm_topk ? weight[e] / picked : weight[e];
            double act[64];
            for (int i = 0; i < I; i++) {
                double g = 0, u = 0;
                for (int c = 0; c < H; c++) {
                    g += (double)xt[c] * m->gate[e].host[i * H + c];
                    u += (double)xt[c] * m->up[e].host[i * H + c];
                }
                act[i] = ref_silu(g) * u;
            }
            for (int c = 0; c < H; c++) {
                double y = 0;
                for (int i = 0; i < I; i++) y += act[i] * m->down[e].host[c * I + i];
                out[t * H + c] += w * y;
            }
        }
    }
}

static void check_moe(void) {
    const int shapes[][2] = {{37, 20}, {130, 64}}, row_counts[] = {1, 3, 17};  // (hidden, inter)
    for (int si = 0; si < 2; si++) {
        moe_case m;
        moe_case_new(&m, 8, shapes[si][0], shapes[si][1]);
        for (int ri = 0; ri < 3; ri++)
            for (int norm = 0; norm < 2; norm++)
                for (int top_k = 1; top_k <= 2; top_k++) {
                    const int n = row_counts[ri], h = m.hidden;
                    mat x = mat_random(n, h, h + 3, 1), out = mat_random(n, h, h + 2, 1);
                    double *ref = ref_new((int64_t)n * h);
                    ref_moe(&m, &x, top_k, norm, false, ref);
                    be->moe(be, &x.v, &m.router.v, m.weights, 8, top_k, norm, &out.v);
                    mat_download(&out);
                    const double e = rel_err(out.host, out.v.stride, ref, n, h);
                    check(e < tol.rel && pad_intact(&out),
                          "moe 8 experts hidden %d inter %d rows %d top-%d norm_topk %d: relative error %.3g", h,
                          m.inter, n, top_k, norm, e);
                    free(ref);
                    mat_free(&x);
                    mat_free(&out);
                }
        moe_case_free(&m);
    }
}

// Router rows 2, 5 and 6 are identical and dominate every token's logits: top-2 must pick 2 and 5
// (ties to the lower index), top-1 must pick 2; choosing 6 instead is visibly different.
static void check_moe_tie(void) {
    const int n = 3, hidden = 37, inter = 20;
    const dy_dtype act = be->act_dtype;
    moe_case m;
    moe_case_new(&m, 8, hidden, inter);
    for (int i = 0; i < 8 * hidden; i++) m.router.host[i] = stored(act, m.router.host[i] * 0.1f);
    m.router.host[2 * hidden] = 3.0f;
    memcpy(m.router.host + 5 * hidden, m.router.host + 2 * hidden, hidden * sizeof(float));
    memcpy(m.router.host + 6 * hidden, m.router.host + 2 * hidden, hidden * sizeof(float));
    mat_upload(&m.router);
    mat x = mat_random(n, hidden, hidden, 1), out = mat_random(n, hidden, hidden, 1);
    for (int t = 0; t < n; t++) x.host[t * hidden] = stored(act, uniform(3, 4));
    mat_upload(&x);
    double *lower = ref_new(n * hidden), *higher = ref_new(n * hidden);
    for (int norm = 0; norm < 2; norm++)
        for (int top_k = 1; top_k <= 2; top_k++) {
            ref_moe(&m, &x, top_k, norm, false, lower);
            ref_moe(&m, &x, top_k, norm, true, higher);
            be->moe(be, &x.v, &m.router.v, m.weights, 8, top_k, norm, &out.v);
            mat_download(&out);
            const double e_lower = rel_err(out.host, hidden, lower, n, hidden);
            const double e_higher = rel_err(out.host, hidden, higher, n, hidden);
            check(e_lower < tol.rel && e_higher > tol.distinct,
                  "moe tie top-%d norm_topk %d: %.3g from the lower-index choice, %.3g from the higher-index one",
                  top_k, norm, e_lower, e_higher);
        }
    free(lower);
    free(higher);
    mat_free(&x);
    mat_free(&out);
    moe_case_free(&m);
}

void op_conformance_run(dy_backend *backend, bool long_contexts) {
    be = backend;
    if (be->act_dtype != DY_F32 && be->act_dtype != DY_BF16)
        setup_die("op conformance: activations neither fp32 nor bf16");
    tol = be->act_dtype == DY_BF16 ? bf16_tolerance : fp32_tolerance;
    check_alloc();
    check_upload_weight();
    check_upload_weight_raw();
    check_embedding();
    check_add_rmsnorm();
    check_matmul();
    check_lm_head();
    check_gate_up_swiglu();
    check_norm_rope();
    check_attention_inputs();
    check_attention_cases(long_contexts);
    attention_all_masked_case(32);
    attention_all_masked_case(64);
    check_kv_write_then_attention();
    check_moe();
    check_moe_tie();
}

// The CPU backend (the fp32 reference) against naive double-precision references written here,
// on fresh random inputs: odd shapes, strided views, GQA, decode and prefill attention with bias,
// temperature and capture, the KV cache write, MoE routing with a crafted tie. Results are
// compared by relative error ||got - ref|| / ||ref||.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "op_calls.h"

static const double TOL = 1e-5;

// xorshift64*, seeded once: every run sees the same inputs, every call fresh ones.
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(float lo, float hi) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    const double u = (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;  // [0, 1)
    return (float)(lo + (hi - lo) * u);
}

static void *dev_copy(dy_backend *be, const void *host, size_t bytes) {
    void *p = be->alloc(be, bytes);
    assert_non_null(p);
    be->upload(be, p, host, bytes);
    return p;
}

// Backend positions pos0, pos0 + 1, ..., pos0 + n - 1 (what the model uploads for a pass).
static int32_t *positions_new(dy_backend *be, int pos0, int n) {
    int32_t pos[n];
    for (int i = 0; i < n; i++) pos[i] = pos0 + i;
    return dev_copy(be, pos, sizeof pos);
}

// A matrix in backend memory and its host mirror, both (rows, stride). Padding columns hold NAN:
// an op that reads them poisons its result, one that writes them fails pad_intact.
typedef struct {
    dy_view v;
    float *host;
} mat;

static size_t mat_bytes(const mat *m) { return (size_t)(m->v.rows * m->v.stride) * sizeof(float); }

static mat mat_random(dy_backend *be, int64_t rows, int64_t cols, int64_t stride, float amplitude) {
    mat m = {{NULL, DY_F32, rows, cols, stride}, malloc((size_t)(rows * stride) * sizeof(float))};
    assert_non_null(m.host);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < stride; c++) m.host[r * stride + c] = c < cols ? uniform(-amplitude, amplitude) : NAN;
    m.v.data = dev_copy(be, m.host, mat_bytes(&m));
    return m;
}

static void mat_upload(dy_backend *be, mat *m) { be->upload(be, m->v.data, m->host, mat_bytes(m)); }
static void mat_download(dy_backend *be, mat *m) { be->download(be, m->host, m->v.data, mat_bytes(m)); }

static void mat_free(dy_backend *be, mat *m) {
    be->release(be, m->v.data);
    free(m->host);
}

static void assert_pad_intact(const mat *m, const char *what) {
    for (int64_t r = 0; r < m->v.rows; r++)
        for (int64_t c = m->v.cols; c < m->v.stride; c++)
            if (!isnan(m->host[r * m->v.stride + c])) fail_msg("%s: padding of row %lld written", what, (long long)r);
}

static double *ref_new(int64_t n) {
    double *p = calloc((size_t)n, sizeof(double));
    assert_non_null(p);
    return p;
}

// got: (rows, cols) at stride; ref: dense (rows, cols).
static void assert_close(const float *got, int64_t stride, const double *ref, int64_t rows, int64_t cols,
                         const char *what) {
    double num = 0, den = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            const double d = got[r * stride + c] - ref[r * cols + c];
            num += d * d;
            den += ref[r * cols + c] * ref[r * cols + c];
        }
    const double err = sqrt(num / den);
    if (!(err < TOL)) fail_msg("%s: relative error %g", what, err);
}

static dy_backend *backend(void **state) { return *state; }

static int setup(void **state) {
    dy_backend *be = dy_backend_cpu_create();
    // Room for every op below: up to 40 rows, MoE with 8 experts of width 20 over hidden 37.
    const dy_op_limits limits = {.max_rows = 40, .hidden = 37, .intermediate = 20, .n_experts = 8, .experts_per_token = 2};
    if (!be || be->prepare(be, &limits)) return -1;
    *state = be;
    return 0;
}

static int teardown(void **state) {
    backend(state)->destroy(backend(state));
    return 0;
}

// ---- memory ----------------------------------------------------------------------------------

static void test_memory_and_views(void **state) {
    dy_backend *be = backend(state);
    assert_string_equal(be->name, "cpu");
    assert_int_equal(be->act_dtype, DY_F32);
    void *empty = be->alloc(be, 0);  // documented: a valid pointer, released like any other
    assert_non_null(empty);
    be->release(be, empty);
    for (size_t bytes = 1; bytes < 5000; bytes = bytes * 3 + 1) {
        void *p = be->alloc(be, bytes);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 64, 0);
        be->release(be, p);
    }

    // upload_weight honours the destination stride and leaves the padding alone.
    mat w = mat_random(be, 5, 37, 40, 1);
    float src[5 * 37];
    for (int i = 0; i < 5 * 37; i++) src[i] = uniform(-1, 1);
    be->upload_weight(be, &w.v, src);
    mat_download(be, &w);
    for (int r = 0; r < 5; r++) assert_memory_equal(w.host + r * 40, src + r * 37, 37 * sizeof(float));
    assert_pad_intact(&w, "upload_weight");

    dy_view rows = dy_view_rows(&w.v, 3, 2);
    assert_ptr_equal(rows.data, (float *)w.v.data + 3 * 40);
    assert_true(rows.rows == 2 && rows.cols == 37 && rows.stride == 40 && rows.dtype == DY_F32);
    dy_view half = {w.v.data, DY_BF16, 9, 30, 33};
    assert_ptr_equal(dy_view_rows(&half, 4, 5).data, (char *)w.v.data + 4 * 33 * 2);
    mat_free(be, &w);
}

static void test_embedding(void **state) {
    dy_backend *be = backend(state);
    mat table = mat_random(be, 50, 37, 41, 1), out = mat_random(be, 17, 37, 39, 1);
    int32_t ids[17];
    for (int i = 0; i < 17; i++) ids[i] = (i * 13 + 7) % 50;
    ids[16] = 49;
    int32_t *dev_ids = dev_copy(be, ids, sizeof ids);
    be->embedding(be, &table.v, dev_ids, &out.v);
    mat_download(be, &out);
    for (int i = 0; i < 17; i++) assert_memory_equal(out.host + i * 39, table.host + ids[i] * 41, 37 * sizeof(float));
    assert_pad_intact(&out, "embedding");
    be->release(be, dev_ids);
    mat_free(be, &table);
    mat_free(be, &out);
}

// ---- norms, matmul, gate/up + SwiGLU -------------------------------------------------------------------

static void test_add_rmsnorm(void **state) {
    dy_backend *be = backend(state);
    const int row_counts[] = {1, 3, 17, 33}, col_counts[] = {37, 130};
    for (int ri = 0; ri < 4; ri++)
        for (int ci = 0; ci < 2; ci++)
            for (int with_delta = 0; with_delta < 2; with_delta++) {
                const int n = row_counts[ri], d = col_counts[ci];
                const float eps = ri % 2 ? 1e-6f : 0.25f;  // a large eps shows where it enters
                char what[96];
                snprintf(what, sizeof what, "add_rmsnorm rows %d cols %d delta %d eps %g", n, d, with_delta, eps);
                mat x = mat_random(be, n, d, d + 5, 2), delta = mat_random(be, n, d, d + 3, 1),
                    w = mat_random(be, 1, d, d, 1), out = mat_random(be, n, d, d + 2, 1);
                double *sum = ref_new(n * d), *ref = ref_new(n * d);
                for (int r = 0; r < n; r++) {
                    double ms = 0;
                    for (int c = 0; c < d; c++) {
                        sum[r * d + c] = x.host[r * (d + 5) + c] + (with_delta ? delta.host[r * (d + 3) + c] : 0.0);
                        ms += sum[r * d + c] * sum[r * d + c] / d;
                    }
                    for (int c = 0; c < d; c++) ref[r * d + c] = w.host[c] * sum[r * d + c] / sqrt(ms + eps);
                }
                be->add_rmsnorm(be, &x.v, with_delta ? &delta.v : NULL, &w.v, eps, &out.v);
                mat_download(be, &x);
                mat_download(be, &out);
                assert_close(x.host, d + 5, sum, n, d, what);
                assert_close(out.host, d + 2, ref, n, d, what);
                assert_pad_intact(&x, what);
                assert_pad_intact(&out, what);
                free(sum);
                free(ref);
                mat_free(be, &x);
                mat_free(be, &delta);
                mat_free(be, &w);
                mat_free(be, &out);
            }
}

static void test_matmul(void **state) {
    dy_backend *be = backend(state);
    const int row_counts[] = {1, 3, 17, 33}, dims[] = {1, 37, 130};
    for (int ri = 0; ri < 4; ri++)
        for (int ii = 1; ii < 3; ii++)
            for (int oi = 0; oi < 3; oi++)
                for (int strided = 0; strided < 2; strided++) {
                    const int n = row_counts[ri], in = dims[ii], of = dims[oi];
                    const int xs = strided ? in + 7 : in, ws = strided ? in + 1 : in, os = strided ? of + 2 : of;
                    char what[96];
                    snprintf(what, sizeof what, "matmul (%d, %d) @ (%d, %d)^T strided %d", n, in, of, in, strided);
                    mat x = mat_random(be, n, in, xs, 1), w = mat_random(be, of, in, ws, 1),
                        out = mat_random(be, n, of, os, 1);
                    double *ref = ref_new(n * of);
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < of; j++)
                            for (int k = 0; k < in; k++) ref[i * of + j] += (double)x.host[i * xs + k] * w.host[j * ws + k];
                    be->matmul(be, &x.v, &w.v, &out.v);
                    mat_download(be, &out);
                    assert_close(out.host, os, ref, n, of, what);
                    assert_pad_intact(&out, what);
                    free(ref);
                    mat_free(be, &x);
                    mat_free(be, &w);
                    mat_free(be, &out);
                }
}

static double ref_silu(double x) { return x / (1.0 + exp(-x)); }

// The stacked gate/up product and SwiGLU: the first inter columns of out hold silu(gate) * up.
static void test_gate_up_swiglu(void **state) {
    dy_backend *be = backend(state);
    const int row_counts[] = {1, 17}, in_counts[] = {37, 128}, inters[] = {5, 64};
    for (int k = 0; k < 8; k++) {
        const int n = row_counts[k % 2], in = in_counts[k / 2 % 2], inter = inters[k / 4], cols = 2 * inter;
        char what[96];
        snprintf(what, sizeof what, "gate_up_swiglu (%d, %d) @ (2 x %d, %d)^T", n, in, inter, in);
        mat x = mat_random(be, n, in, in + 3, 1), w = mat_random(be, cols, in, in + 1, 1),
            out = mat_random(be, n, cols, cols + 2, 1);
        double *ref = ref_new(n * inter);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < inter; j++) {
                double gate = 0, up = 0;
                for (int c = 0; c < in; c++) {
                    gate += (double)x.host[i * (in + 3) + c] * w.host[j * (in + 1) + c];
                    up += (double)x.host[i * (in + 3) + c] * w.host[(inter + j) * (in + 1) + c];
                }
                ref[i * inter + j] = ref_silu(gate) * up;
            }
        be->gate_up_swiglu(be, &x.v, &w.v, &out.v);
        mat_download(be, &out);
        assert_close(out.host, cols + 2, ref, n, inter, what);
        assert_pad_intact(&out, what);
        free(ref);
        mat_free(be, &x);
        mat_free(be, &w);
        mat_free(be, &out);
    }
}

// ---- norm + RoPE -----------------------------------------------------------------------------

// One head vector src (head_dim) normalised (times w when not NULL) if normalise, then rotated.
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

static void test_norm_rope(void **state) {
    dy_backend *be = backend(state);
    const int head_dims[] = {32, 64, 128}, head_counts[] = {1, 3, 8}, row_counts[] = {1, 3, 17};
    const float factors[] = {1.0f, 1.1386f};
    for (int di = 0; di < 3; di++)
        for (int hi = 0; hi < 3; hi++)
            for (int ri = 0; ri < 3; ri++)
                for (int mode = 0; mode < 3; mode++)  // no norm, norm without weight, norm with weight
                    for (int fi = 0; fi < 2; fi++) {
                        const int hd = head_dims[di], nh = head_counts[hi], n = row_counts[ri], half = hd / 2;
                        const int cols = nh * hd, stride = cols + 4;
                        const float af = factors[fi], eps = ri == 1 ? 0.25f : 1e-6f;  // a large eps shows where it enters
                        char what[112];
                        snprintf(what, sizeof what, "norm_rope head_dim %d heads %d rows %d mode %d factor %g eps %g",
                                 hd, nh, n, mode, af, eps);
                        mat x = mat_random(be, n, cols, stride, 3), w = mat_random(be, 1, hd, hd, 1);
                        int32_t pos[17];
                        float inv_freq[64];
                        for (int r = 0; r < n; r++) pos[r] = (int32_t)uniform(0, 40000);
                        pos[0] = 0;
                        for (int i = 0; i < half; i++) inv_freq[i] = (float)pow(1e6, -2.0 * i / hd);
                        int32_t *dev_pos = dev_copy(be, pos, (size_t)n * sizeof(int32_t));
                        float *dev_freq = dev_copy(be, inv_freq, (size_t)half * sizeof(float));

                        double *ref = ref_new(n * cols);
                        for (int r = 0; r < n; r++)
                            for (int h = 0; h < nh; h++)
                                ref_norm_rope(x.host + r * stride + h * hd, hd, mode > 0, mode == 2 ? w.host : NULL, eps,
                                              pos[r], inv_freq, af, ref + r * cols + h * hd);
                        op_norm_rope(be, &x.v, nh, hd, mode == 2 ? &w.v : NULL, eps, mode > 0, dev_pos, dev_freq, af);
                        mat_download(be, &x);
                        assert_close(x.host, stride, ref, n, cols, what);
                        assert_pad_intact(&x, what);
                        free(ref);
                        be->release(be, dev_pos);
                        be->release(be, dev_freq);
                        mat_free(be, &x);
                        mat_free(be, &w);
                    }
}

// Both sides in one call, as the model runs it: q and k normalised with their own weights and
// rotated, the rotated k and the v rows in the cache at their positions, every other cache row
// as it was.
static void test_attention_inputs(void **state) {
    dy_backend *be = backend(state);
    enum { n = 5, nh = 8, nkv = 2, hd = 64, half = hd / 2, max_ctx = 300 };
    const int32_t pos[n] = {0, 7, 299, 150, 151};
    float inv_freq[half];
    for (int i = 0; i < half; i++) inv_freq[i] = (float)pow(1e6, -2.0 * i / hd);
    mat q = mat_random(be, n, nh * hd, nh * hd + 8, 3), k = mat_random(be, n, nkv * hd, nkv * hd + 4, 3),
        v = mat_random(be, n, nkv * hd, nkv * hd, 1), wq = mat_random(be, 1, hd, hd, 1), wk = mat_random(be, 1, hd, hd, 1),
        k_cache = mat_random(be, nkv * max_ctx, hd, hd, 1), v_cache = mat_random(be, nkv * max_ctx, hd, hd, 1);
    int32_t *dev_pos = dev_copy(be, pos, sizeof pos);
    float *dev_freq = dev_copy(be, inv_freq, sizeof inv_freq);
    float *k_cache0 = malloc(mat_bytes(&k_cache)), *v_cache0 = malloc(mat_bytes(&v_cache));
    assert_non_null(k_cache0);
    assert_non_null(v_cache0);
    memcpy(k_cache0, k_cache.host, mat_bytes(&k_cache));
    memcpy(v_cache0, v_cache.host, mat_bytes(&v_cache));
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
    mat_download(be, &q);
    mat_download(be, &k);
    mat_download(be, &k_cache);
    mat_download(be, &v_cache);
    assert_close(q.host, q.v.stride, ref_q, n, nh * hd, "attention_inputs q");
    assert_close(k.host, k.v.stride, ref_k, n, nkv * hd, "attention_inputs k");
    assert_pad_intact(&q, "attention_inputs q");
    assert_pad_intact(&k, "attention_inputs k");
    for (int g = 0; g < nkv; g++)
        for (int j = 0; j < max_ctx; j++) {
            int r = -1;
            for (int i = 0; i < n; i++) r = pos[i] == j ? i : r;
            const size_t row = (size_t)(g * max_ctx + j) * hd, bytes = hd * sizeof(float);
            if (r < 0) {
                assert_memory_equal(k_cache.host + row, k_cache0 + row, bytes);
                assert_memory_equal(v_cache.host + row, v_cache0 + row, bytes);
            } else {
                assert_memory_equal(k_cache.host + row, k.host + r * k.v.stride + g * hd, bytes);
                assert_memory_equal(v_cache.host + row, v.host + r * v.v.stride + g * hd, bytes);
            }
        }
    free(ref_q);
    free(ref_k);
    free(k_cache0);
    free(v_cache0);
    be->release(be, dev_pos);
    be->release(be, dev_freq);
    mat *mats[] = {&q, &k, &v, &wq, &wk, &k_cache, &v_cache};
    for (int i = 0; i < 7; i++) mat_free(be, mats[i]);
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

static int argmax_f(const float *p, int n) {
    int best = 0;
    for (int j = 1; j < n; j++)
        if (p[j] > p[best]) best = j;
    return best;
}

// Runs the op on a and checks its output and capture rows against the reference r.
static void check_attention(dy_backend *be, const dy_attention_args *a, const ref_attn *r, mat *out,
                            const char *what) {
    const int ctx = a->n_keys, cols = a->n_heads * a->head_dim, guard = 16;
    float *capture = malloc((size_t)(a->n_capture * ctx + guard) * sizeof(float));
    assert_non_null(capture);
    for (int i = 0; i < a->n_capture * ctx + guard; i++) capture[i] = NAN;
    dy_attention_args args = *a;
    args.out = &out->v;
    args.capture_out = dev_copy(be, capture, (size_t)(a->n_capture * ctx + guard) * sizeof(float));
    be->attention(be, &args);
    mat_download(be, out);
    be->download(be, capture, args.capture_out, (size_t)(a->n_capture * ctx + guard) * sizeof(float));

    double *ref = ref_new(a->n_q * cols), *probs = ref_new(ctx);
    for (int i = 0; i < a->n_q; i++)
        for (int h = 0; h < a->n_heads; h++) ref_attend(r, i, h, probs, ref + i * cols + h * a->head_dim);
    assert_close(out->host, out->v.stride, ref, a->n_q, cols, what);
    assert_pad_intact(out, what);

    int32_t heads[8];
    be->download(be, heads, a->capture_heads, (size_t)a->n_capture * sizeof(int32_t));
    for (int c = 0; c < a->n_capture; c++) {
        const float *row = capture + c * ctx;
        ref_attend(r, a->n_q - 1, heads[c], probs, ref);
        double total = 0, top = -1, second = -1;
        int best = 0;
        for (int j = 0; j < ctx; j++) {
            total += row[j];
            if (probs[j] > top) {
                second = top;
                top = probs[j];
                best = j;
            } else if (probs[j] > second) {
                second = probs[j];
            }
        }
        char row_what[160];
        snprintf(row_what, sizeof row_what, "%s capture row %d (head %d)", what, c, heads[c]);
        if (!(fabs(total - 1) < TOL)) fail_msg("%s: sums to %.9g", row_what, total);
        assert_close(row, ctx, probs, 1, ctx, row_what);
        if (top - second > 1e-4 * top && argmax_f(row, ctx) != best)
            fail_msg("%s: argmax key %d, reference %d", row_what, argmax_f(row, ctx), best);
    }
    for (int i = 0; i < guard; i++)
        if (!isnan(capture[a->n_capture * ctx + i])) fail_msg("%s: capture written past its rows", what);
    free(ref);
    free(probs);
    free(capture);
    be->release(be, args.capture_out);
}

static void test_attention(void **state) {
    dy_backend *be = backend(state);
    static const struct {
        int n_heads, n_kv_heads, head_dim, n_q, q_pos0;
    } cases[] = {
        // decode: one query against 1..300 keys
        {4, 4, 32, 1, 0},
        {4, 4, 32, 1, 6},
        {8, 2, 64, 1, 63},
        {8, 1, 64, 1, 100},
        {16, 2, 128, 1, 150},
        {32, 4, 128, 1, 299},
        // prefill from an empty cache and on top of 25 cached positions
        {4, 4, 32, 40, 0},
        {8, 2, 64, 40, 25},
        {16, 2, 128, 17, 25},
        {32, 4, 128, 33, 0},
        {8, 1, 32, 3, 25},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
        for (int variant = 0; variant < 2; variant++) {  // plain; bias with -inf, temperature 0.7
            const int nh = cases[ci].n_heads, nkv = cases[ci].n_kv_heads, hd = cases[ci].head_dim;
            const int n_q = cases[ci].n_q, pos0 = cases[ci].q_pos0, ctx = pos0 + n_q, max_ctx = ctx + 7;
            char what[128];
            snprintf(what, sizeof what, "attention heads %d/%d head_dim %d n_q %d q_pos0 %d variant %d", nh, nkv, hd,
                     n_q, pos0, variant);
            // Cache positions past the context hold NAN: reading them would poison the output.
            mat k = mat_random(be, (int64_t)nkv * max_ctx, hd, hd, 1), v = mat_random(be, (int64_t)nkv * max_ctx, hd, hd, 1);
            for (int g = 0; g < nkv; g++)
                for (int j = ctx; j < max_ctx; j++)
                    for (int t = 0; t < hd; t++) {
                        k.host[(g * max_ctx + j) * hd + t] = NAN;
                        v.host[(g * max_ctx + j) * hd + t] = NAN;
                    }
            mat_upload(be, &k);
            mat_upload(be, &v);
            mat q = mat_random(be, n_q, nh * hd, nh * hd + 3, 2), out = mat_random(be, n_q, nh * hd, nh * hd + 5, 1);
            float *bias = malloc((size_t)ctx * sizeof(float));
            assert_non_null(bias);
            for (int j = 0; j < ctx; j++) bias[j] = j % 11 == 5 ? -INFINITY : uniform(0, 1.5f);
            const int32_t heads[3] = {nh - 1, 0, nh / 2};  // distinct: every case has 4 heads or more
            float *dev_bias = dev_copy(be, bias, (size_t)ctx * sizeof(float));
            int32_t *dev_heads = dev_copy(be, heads, sizeof heads), *dev_pos = positions_new(be, pos0, n_q);
            const float scale = 1.0f / sqrtf((float)hd) / (variant ? 0.7f : 1.0f);
            dy_attention_args a = {
                .q = &q.v, .k = k.v.data, .v = v.v.data, .max_ctx = max_ctx, .n_q = n_q, .positions = dev_pos, .n_keys = ctx,
                .n_heads = nh, .n_kv_heads = nkv, .head_dim = hd, .scale = scale, .bias = variant ? dev_bias : NULL,
                .n_capture = 3, .capture_heads = dev_heads,
            };
            const ref_attn r = {nh, nkv, hd, pos0, scale, q.host, q.v.stride, k.host, v.host, (int64_t)max_ctx * hd, hd,
                                hd, variant ? bias : NULL};
            check_attention(be, &a, &r, &out, what);
            free(bias);
            be->release(be, dev_bias);
            be->release(be, dev_heads);
            be->release(be, dev_pos);
            mat_free(be, &k);
            mat_free(be, &v);
            mat_free(be, &q);
            mat_free(be, &out);
        }
}

// Every key masked is a caller error; the op defines the result as zeros (output and capture).
static void test_attention_all_masked(void **state) {
    dy_backend *be = backend(state);
    enum { nh = 4, nkv = 2, hd = 32, n_q = 2, pos0 = 5, ctx = pos0 + n_q };
    mat k = mat_random(be, nkv * ctx, hd, hd, 1), v = mat_random(be, nkv * ctx, hd, hd, 1);
    mat q = mat_random(be, n_q, nh * hd, nh * hd, 1), out = mat_random(be, n_q, nh * hd, nh * hd, 1);
    float bias[ctx], capture[ctx];
    for (int j = 0; j < ctx; j++) bias[j] = -INFINITY;
    const int32_t head = 3;
    float *dev_bias = dev_copy(be, bias, sizeof bias), *dev_capture = dev_copy(be, bias, sizeof bias);
    int32_t *dev_head = dev_copy(be, &head, sizeof head), *dev_pos = positions_new(be, pos0, n_q);
    const dy_attention_args a = {
        .q = &q.v, .k = k.v.data, .v = v.v.data, .max_ctx = ctx, .n_q = n_q, .positions = dev_pos, .n_keys = ctx, .n_heads = nh,
        .n_kv_heads = nkv, .head_dim = hd, .scale = 0.2f, .bias = dev_bias, .n_capture = 1,
        .capture_heads = dev_head, .capture_out = dev_capture, .out = &out.v,
    };
    be->attention(be, &a);
    mat_download(be, &out);
    be->download(be, capture, dev_capture, sizeof capture);
    for (int i = 0; i < n_q * nh * hd; i++) assert_true(out.host[i] == 0.0f);
    for (int j = 0; j < ctx; j++) assert_true(capture[j] == 0.0f);
    be->release(be, dev_bias);
    be->release(be, dev_capture);
    be->release(be, dev_head);
    be->release(be, dev_pos);
    mat_free(be, &k);
    mat_free(be, &v);
    mat_free(be, &q);
    mat_free(be, &out);
}

// K/V rows written to the cache (attention_inputs) in three chunks (25, 1, 14 positions), then prefill and decode
// attention over that cache against the reference reading the plain rows.
static void test_kv_write_then_attention(void **state) {
    dy_backend *be = backend(state);
    const int nh = 8, nkv = 2, hd = 64, ctx = 40, max_ctx = 48, kv_cols = nkv * hd;
    mat keys = mat_random(be, ctx, kv_cols, kv_cols + 3, 1), values = mat_random(be, ctx, kv_cols, kv_cols + 1, 1);
    mat k_cache = mat_random(be, (int64_t)nkv * max_ctx, hd, hd, 1);
    mat v_cache = mat_random(be, (int64_t)nkv * max_ctx, hd, hd, 1);
    const int chunks[][2] = {{0, 25}, {25, 1}, {26, 14}};  // (pos0, rows)
    for (int c = 0; c < 3; c++) {
        const int pos0 = chunks[c][0], n = chunks[c][1];
        dy_view kc = dy_view_rows(&keys.v, pos0, n);
        const dy_view vc = dy_view_rows(&values.v, pos0, n);
        int32_t *dev_pos = positions_new(be, pos0, n);
        op_kv_write(be, &kc, &vc, k_cache.v.data, v_cache.v.data, max_ctx, nkv, hd, dev_pos);
        be->release(be, dev_pos);
    }
    mat_download(be, &k_cache);
    mat_download(be, &v_cache);
    for (int g = 0; g < nkv; g++)
        for (int j = 0; j < ctx; j++) {
            const size_t bytes = hd * sizeof(float);
            assert_memory_equal(k_cache.host + (g * max_ctx + j) * hd, keys.host + j * keys.v.stride + g * hd, bytes);
            assert_memory_equal(v_cache.host + (g * max_ctx + j) * hd, values.host + j * values.v.stride + g * hd, bytes);
        }

    const int32_t heads[3] = {5, 2, 5};  // head 5 twice: both rows must hold its probabilities
    int32_t *dev_heads = dev_copy(be, heads, sizeof heads);
    const int passes[][2] = {{26, 14}, {39, 1}};  // (q_pos0, n_q)
    for (int p = 0; p < 2; p++) {
        const int pos0 = passes[p][0], n_q = passes[p][1];
        mat q = mat_random(be, n_q, nh * hd, nh * hd, 2), out = mat_random(be, n_q, nh * hd, nh * hd + 2, 1);
        const float scale = 1.0f / sqrtf((float)hd);
        int32_t *dev_pos = positions_new(be, pos0, n_q);
        const dy_attention_args a = {
            .q = &q.v, .k = k_cache.v.data, .v = v_cache.v.data, .max_ctx = max_ctx, .n_q = n_q, .positions = dev_pos,
            .n_keys = pos0 + n_q,
            .n_heads = nh, .n_kv_heads = nkv, .head_dim = hd, .scale = scale, .n_capture = 3, .capture_heads = dev_heads,
        };
        // The reference reads the rows given to the cache write: key j of KV head g at j * stride + g * head_dim.
        const ref_attn r = {nh, nkv, hd, pos0, scale, q.host, q.v.stride, keys.host, values.host,
                            hd, keys.v.stride, values.v.stride, NULL};
        check_attention(be, &a, &r, &out, p ? "kv_write + decode" : "kv_write + prefill");
        be->release(be, dev_pos);
        mat_free(be, &q);
        mat_free(be, &out);
    }
    be->release(be, dev_heads);
    mat_free(be, &keys);
    mat_free(be, &values);
    mat_free(be, &k_cache);
    mat_free(be, &v_cache);
}

// ---- MoE -------------------------------------------------------------------------------------

typedef struct {
    int n_experts, hidden, inter;
    mat router, gate[8], up[8], down[8];
    dy_mlp_weights weights[8];
} moe_case;

static void moe_case_new(dy_backend *be, moe_case *m, int n_experts, int hidden, int inter) {
    m->n_experts = n_experts;
    m->hidden = hidden;
    m->inter = inter;
    m->router = mat_random(be, n_experts, hidden, hidden, 1);
    for (int e = 0; e < n_experts; e++) {
        m->gate[e] = mat_random(be, inter, hidden, hidden, 0.5f);
        m->up[e] = mat_random(be, inter, hidden, hidden, 0.5f);
        m->down[e] = mat_random(be, hidden, inter, inter, 0.5f);
        m->weights[e] = (dy_mlp_weights){m->gate[e].v, m->up[e].v, m->down[e].v};
    }
}

static void moe_case_free(dy_backend *be, moe_case *m) {
    mat_free(be, &m->router);
    for (int e = 0; e < m->n_experts; e++) {
        mat_free(be, &m->gate[e]);
        mat_free(be, &m->up[e]);
        mat_free(be, &m->down[e]);
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

static void test_moe(void **state) {
    dy_backend *be = backend(state);
    const int row_counts[] = {1, 3, 17}, hidden = 37, inter = 20;
    moe_case m;
    moe_case_new(be, &m, 8, hidden, inter);
    for (int ri = 0; ri < 3; ri++)
        for (int norm = 0; norm < 2; norm++)
            for (int top_k = 1; top_k <= 2; top_k++) {
                const int n = row_counts[ri];
                char what[96];
                snprintf(what, sizeof what, "moe rows %d top-%d norm_topk %d", n, top_k, norm);
                mat x = mat_random(be, n, hidden, hidden + 3, 1), out = mat_random(be, n, hidden, hidden + 2, 1);
                double *ref = ref_new(n * hidden);
                ref_moe(&m, &x, top_k, norm, false, ref);
                be->moe(be, &x.v, &m.router.v, m.weights, 8, top_k, norm, &out.v);
                mat_download(be, &out);
                assert_close(out.host, out.v.stride, ref, n, hidden, what);
                assert_pad_intact(&out, what);
                free(ref);
                mat_free(be, &x);
                mat_free(be, &out);
            }
    moe_case_free(be, &m);
}

// Router rows 2, 5 and 6 are identical and dominate every token's logits: top-2 must pick 2 and 5
// (ties to the lower index), top-1 must pick 2; choosing 6 instead is visibly different.
static void test_moe_tie(void **state) {
    dy_backend *be = backend(state);
    const int n = 3, hidden = 37, inter = 20;
    moe_case m;
    moe_case_new(be, &m, 8, hidden, inter);
    for (int e = 0; e < 8; e++)
        for (int c = 0; c < hidden; c++) m.router.host[e * hidden + c] *= 0.1f;
    m.router.host[2 * hidden] = 3.0f;
    memcpy(m.router.host + 5 * hidden, m.router.host + 2 * hidden, hidden * sizeof(float));
    memcpy(m.router.host + 6 * hidden, m.router.host + 2 * hidden, hidden * sizeof(float));
    mat_upload(be, &m.router);
    mat x = mat_random(be, n, hidden, hidden, 1), out = mat_random(be, n, hidden, hidden, 1);
    for (int t = 0; t < n; t++) x.host[t * hidden] = uniform(3, 4);
    mat_upload(be, &x);
    double *lower = ref_new(n * hidden), *higher = ref_new(n * hidden);
    for (int norm = 0; norm < 2; norm++)
        for (int top_k = 1; top_k <= 2; top_k++) {
            char what[64];
            snprintf(what, sizeof what, "moe tie top-%d norm_topk %d", top_k, norm);
            ref_moe(&m, &x, top_k, norm, false, lower);
            ref_moe(&m, &x, top_k, norm, true, higher);
            be->moe(be, &x.v, &m.router.v, m.weights, 8, top_k, norm, &out.v);
            mat_download(be, &out);
            assert_close(out.host, hidden, lower, n, hidden, what);
            double num = 0, den = 0;
            for (int i = 0; i < n * hidden; i++) {
                num += (out.host[i] - higher[i]) * (out.host[i] - higher[i]);
                den += higher[i] * higher[i];
            }
            if (!(sqrt(num / den) > 1e-2)) fail_msg("%s: output matches the higher-index choice", what);
        }
    free(lower);
    free(higher);
    mat_free(be, &x);
    mat_free(be, &out);
    moe_case_free(be, &m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_and_views),    cmocka_unit_test(test_embedding),
        cmocka_unit_test(test_add_rmsnorm),         cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_gate_up_swiglu),              cmocka_unit_test(test_norm_rope), cmocka_unit_test(test_attention_inputs),
        cmocka_unit_test(test_attention),           cmocka_unit_test(test_attention_all_masked),
        cmocka_unit_test(test_kv_write_then_attention), cmocka_unit_test(test_moe),
        cmocka_unit_test(test_moe_tie),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

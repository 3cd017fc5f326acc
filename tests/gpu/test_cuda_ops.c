// The CUDA backend (bf16) against its CPU twin (kernels/cpu, fp32) on the same inputs: fresh
// random values rounded to bf16 on the host, so both backends start from identical numbers and
// differ only by the GPU's bf16 outputs and fp32 (not double) sums. Every op on odd shapes and
// strided views; attention with GQA, decode against up to 5000 keys, prefill, bias with -inf,
// temperature and capture; MoE routing with a crafted tie; pick (next token) on fp32 logits with
// ties and -inf; then the tiny presets end to end.
// Results are compared by relative error ||gpu - cpu|| / ||cpu|| < 2e-2 and by argmax where the
// CPU result has a clear winner. One line per check; the last line is "N passed, M failed".
// Without a GPU it prints SKIPPED and exits 77 (ctest: skipped).
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../op_calls.h"
#include "../test_util.h"
#include "kernels/device_info.h"
#include "runtime/model/model.h"

static const double TOL = 2e-2;

static dy_backend *cpu, *gpu;

static void die(const char *what) {
    fprintf(stderr, "test setup failed: %s\n", what);
    exit(99);
}

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) die("out of host memory");
    return p;
}

// xorshift64*, seeded once: every run sees the same inputs, every call fresh ones.
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(float lo, float hi) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    const double u = (double)((rng * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;  // [0, 1)
    return (float)(lo + (hi - lo) * u);
}

static float bf16_round(float x) { return dy_bf16_to_f32(dy_f32_to_bf16(x)); }

static void *copy_to(dy_backend *be, const void *host, size_t bytes) {
    void *p = be->alloc(be, bytes);
    if (!p) die("backend out of memory");
    be->upload(be, p, host, bytes);
    return p;
}

// Backend positions pos0, pos0 + 1, ..., pos0 + n - 1 (what the model uploads for a pass).
static int32_t *positions_new(dy_backend *be, int pos0, int n) {
    int32_t *pos = xmalloc((size_t)n * sizeof(int32_t));
    for (int i = 0; i < n; i++) pos[i] = pos0 + i;
    int32_t *dev = copy_to(be, pos, (size_t)n * sizeof(int32_t));
    free(pos);
    return dev;
}

// ---- matrices on both backends ---------------------------------------------------------------

// The same matrix on both backends: host (rows, stride) fp32 values, bf16-exact, NAN in the
// padding columns (an op that reads them poisons its result, one that writes them is caught).
// The GPU copy is bf16, or fp32 where gpu.dtype says so (matmul's fp32 output).
typedef struct {
    dy_view cpu, gpu;
    float *host;
} twin;

static size_t elements(const dy_view *v) { return (size_t)(v->rows * v->stride); }

static void twin_upload(twin *t) {
    const size_t n = elements(&t->cpu);
    cpu->upload(cpu, t->cpu.data, t->host, n * sizeof(float));
    if (t->gpu.dtype == DY_F32) {
        gpu->upload(gpu, t->gpu.data, t->host, n * sizeof(float));
        return;
    }
    uint16_t *raw = xmalloc(n * sizeof *raw);
    for (size_t i = 0; i < n; i++) raw[i] = dy_f32_to_bf16(t->host[i]);
    gpu->upload(gpu, t->gpu.data, raw, n * sizeof *raw);
    free(raw);
}

static twin twin_new(int64_t rows, int64_t cols, int64_t stride, float amplitude, dy_dtype gpu_dtype) {
    twin t = {{NULL, DY_F32, rows, cols, stride}, {NULL, gpu_dtype, rows, cols, stride}, NULL};
    const size_t n = elements(&t.cpu);
    t.host = xmalloc(n * sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < stride; c++)
            t.host[r * stride + c] = c < cols ? bf16_round(uniform(-amplitude, amplitude)) : NAN;
    t.cpu.data = cpu->alloc(cpu, n * sizeof(float));
    t.gpu.data = gpu->alloc(gpu, n * dy_dtype_size(gpu_dtype));
    if (!t.cpu.data || !t.gpu.data) die("backend out of memory");
    twin_upload(&t);
    return t;
}

static twin twin_bf16(int64_t rows, int64_t cols, int64_t stride, float amplitude) {
    return twin_new(rows, cols, stride, amplitude, DY_BF16);
}

static void twin_free(twin *t) {
    cpu->release(cpu, t->cpu.data);
    gpu->release(gpu, t->gpu.data);
    free(t->host);
}

// A view's values as fp32, (rows, stride), malloc'd.
static float *read_view(dy_backend *be, const dy_view *v) {
    const size_t n = elements(v);
    float *out = xmalloc(n * sizeof(float));
    if (v->dtype == DY_F32) {
        be->download(be, out, v->data, n * sizeof(float));
        return out;
    }
    uint16_t *raw = xmalloc(n * sizeof *raw);
    be->download(be, raw, v->data, n * sizeof *raw);
    for (size_t i = 0; i < n; i++) out[i] = dy_bf16_to_f32(raw[i]);
    free(raw);
    return out;
}

// ||got - want|| / ||want|| over (rows, cols), both at stride.
static double rel_err(const float *got, const float *want, int64_t rows, int64_t cols, int64_t stride) {
    double num = 0, den = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) {
            const double d = (double)got[r * stride + c] - want[r * stride + c];
            num += d * d;
            den += (double)want[r * stride + c] * want[r * stride + c];
        }
    return sqrt(num / den);
}

static bool pad_intact(const float *v, int64_t rows, int64_t cols, int64_t stride) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = cols; c < stride; c++)
            if (!isnan(v[r * stride + c])) return false;
    return true;
}

static int argmax(const float *v, int64_t n) {
    int best = 0;
    for (int64_t j = 1; j < n; j++)
        if (v[j] > v[best]) best = (int)j;
    return best;
}

// Over rows of (cols) at stride: *clear counts the rows whose CPU values have a clear winner (the
// top two more than margin * |top| apart), *agree those of them where the GPU's argmax is it.
static void argmax_rows(const float *got, const float *want, int64_t rows, int64_t cols, int64_t stride,
                        double margin, int *agree, int *clear) {
    *agree = *clear = 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *w = want + r * stride;
        const int best = argmax(w, cols);
        double second = -INFINITY;
        for (int64_t j = 0; j < cols; j++)
            if (j != best && w[j] > second) second = w[j];
        if (w[best] - second <= margin * fabs(w[best])) continue;
        ++*clear;
        *agree += argmax(got + r * stride, cols) == best;
    }
}

// The GPU result of an op against the CPU twin's: relative error; *pad_ok when the GPU left the
// padding alone. got/want: when not NULL, receive the values (caller frees).
static double twin_compare(const twin *t, bool *pad_ok, float **got, float **want) {
    float *g = read_view(gpu, &t->gpu), *c = read_view(cpu, &t->cpu);
    const double e = rel_err(g, c, t->cpu.rows, t->cpu.cols, t->cpu.stride);
    *pad_ok = pad_intact(g, t->gpu.rows, t->gpu.cols, t->gpu.stride);
    if (got) *got = g;
    else free(g);
    if (want) *want = c;
    else free(c);
    return e;
}

// ---- memory ----------------------------------------------------------------------------------

static void test_create_and_memory(int n_devices) {
    dy_error err = {{0}};
    dy_backend *none = dy_backend_cuda_create(n_devices, &err);
    check(!none && strstr(err.msg, "no such device"), "create(device %d, past the last) fails: \"%s\"", n_devices,
          err.msg);
    if (none) none->destroy(none);
    check(strcmp(gpu->name, "cuda") == 0 && gpu->act_dtype == DY_BF16, "backend \"%s\" stores bf16", gpu->name);

    void *empty = gpu->alloc(gpu, 0);
    unsigned char src[1000], back[1000];
    for (int i = 0; i < 1000; i++) src[i] = (unsigned char)(i * 7 + 3);
    void *p = copy_to(gpu, src, sizeof src);
    gpu->download(gpu, back, p, sizeof back);
    check(empty && memcmp(src, back, sizeof src) == 0, "alloc(0) gives a pointer; 1000 bytes round trip");
    gpu->release(gpu, empty);
    gpu->release(gpu, p);

    // Ties (1 + 2^-8 -> 1, 1 + 3 * 2^-8 -> 1 + 2^-6), a subnormal, a huge value; the second shape
    // is larger than the staging buffer (4M values), so it goes up in blocks.
    const int64_t shapes[][3] = {{5, 37, 40}, {1100, 4000, 4003}};
    for (int s = 0; s < 2; s++) {
        const int64_t rows = shapes[s][0], cols = shapes[s][1], stride = shapes[s][2], n = rows * stride;
        float *w = xmalloc((size_t)(rows * cols) * sizeof(float));
        for (int64_t i = 0; i < rows * cols; i++) w[i] = uniform(-2, 2);
        const float special[] = {1.00390625f, 1.01171875f, -1.00390625f, 1e-40f, 3e38f};
        memcpy(w, special, sizeof special);
        uint16_t *raw = xmalloc((size_t)n * sizeof *raw);
        for (int64_t i = 0; i < n; i++) raw[i] = 0xFFFF;  // NaN: the padding must stay so
        dy_view dst = {copy_to(gpu, raw, (size_t)n * sizeof *raw), DY_BF16, rows, cols, stride};
        gpu->upload_weight(gpu, &dst, w);
        gpu->download(gpu, raw, dst.data, (size_t)n * sizeof *raw);
        int64_t wrong = 0, pad_written = 0;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < stride; c++) {
                if (c < cols) wrong += raw[r * stride + c] != dy_f32_to_bf16(w[r * cols + c]);
                else pad_written += raw[r * stride + c] != 0xFFFF;
            }
        check(wrong == 0 && pad_written == 0,
              "upload_weight (%lld, %lld) stride %lld: %lld values differ from round-to-nearest-even, %lld padding "
              "values written",
              (long long)rows, (long long)cols, (long long)stride, (long long)wrong, (long long)pad_written);
        gpu->release(gpu, dst.data);
        free(raw);
        free(w);
    }
}

// ---- embedding, norms, matmul, gate/up + SwiGLU --------------------------------------------------------

static void test_embedding(void) {
    const int row_counts[] = {1, 3, 17}, col_counts[] = {37, 130};
    for (int ri = 0; ri < 3; ri++)
        for (int ci = 0; ci < 2; ci++) {
            const int n = row_counts[ri], d = col_counts[ci];
            twin table = twin_bf16(50, d, d + 4, 1), out = twin_bf16(n, d, d + 2, 1);
            int32_t ids[17];
            for (int i = 0; i < n; i++) ids[i] = (i * 13 + 7) % 50;
            ids[n - 1] = 49;
            int32_t *cpu_ids = copy_to(cpu, ids, (size_t)n * sizeof *ids), *gpu_ids = copy_to(gpu, ids, (size_t)n * sizeof *ids);
            cpu->embedding(cpu, &table.cpu, cpu_ids, &out.cpu);
            gpu->embedding(gpu, &table.gpu, gpu_ids, &out.gpu);
            bool pad;
            const double e = twin_compare(&out, &pad, NULL, NULL);
            check(e == 0 && pad, "embedding rows %d cols %d: relative error %.3g (a copy: exact)", n, d, e);
            cpu->release(cpu, cpu_ids);
            gpu->release(gpu, gpu_ids);
            twin_free(&table);
            twin_free(&out);
        }
}

// Odd widths and strides take the element-by-element kernel; widths of 16-byte pieces at aligned
// strides (the models' hidden sizes) the kernel that holds a row in registers, up to 4 pieces a
// thread (8192 columns) and past it.
static void test_add_rmsnorm(void) {
    const int row_counts[] = {1, 3, 17}, col_counts[] = {37, 130, 1024, 128, 2048, 4096, 8192, 10240};
    int k = 0;
    for (int ri = 0; ri < 3; ri++)
        for (int ci = 0; ci < 8; ci++)
            for (int with_delta = 0; with_delta < 2; with_delta++, k++) {
                const int n = row_counts[ri], d = col_counts[ci], pad = ci < 3 ? 1 : 8;  // odd strides, or aligned
                const float eps = k % 2 ? 1e-6f : 0.25f;  // a large eps shows where it enters
                twin x = twin_bf16(n, d, d + 5 * pad, 2), delta = twin_bf16(n, d, d + 3 * pad, 1), w = twin_bf16(1, d, d, 1),
                     out = twin_bf16(n, d, d + 2 * pad, 1);
                cpu->add_rmsnorm(cpu, &x.cpu, with_delta ? &delta.cpu : NULL, &w.cpu, eps, &out.cpu);
                gpu->add_rmsnorm(gpu, &x.gpu, with_delta ? &delta.gpu : NULL, &w.gpu, eps, &out.gpu);
                bool pad_out, pad_x;
                const double e_out = twin_compare(&out, &pad_out, NULL, NULL), e_x = twin_compare(&x, &pad_x, NULL, NULL);
                check(e_out < TOL && e_x < TOL && pad_out && pad_x,
                      "add_rmsnorm rows %d cols %d delta %d eps %g: out %.3g, residual %.3g", n, d, with_delta, eps,
                      e_out, e_x);
                twin_free(&x);
                twin_free(&delta);
                twin_free(&w);
                twin_free(&out);
            }
}

// x (n, in) @ w (of, in)^T on both; x may be rows [x_row0, x_row0 + n) of a larger matrix (a
// view whose pointer is not aligned).
static void matmul_case(int n, int in, int of, bool strided, dy_dtype out_dtype, int x_row0) {
    const int xs = strided ? in + 7 : in, ws = strided ? in + 1 : in, os = strided ? of + 2 : of;
    twin x = twin_bf16(n + x_row0, in, xs, 1), w = twin_bf16(of, in, ws, 1), out = twin_new(n, of, os, 1, out_dtype);
    const dy_view xc = dy_view_rows(&x.cpu, x_row0, n), xg = dy_view_rows(&x.gpu, x_row0, n);
    cpu->matmul(cpu, &xc, &w.cpu, &out.cpu);
    gpu->matmul(gpu, &xg, &w.gpu, &out.gpu);
    bool pad;
    float *got, *want;
    const double e = twin_compare(&out, &pad, &got, &want);
    int agree, clear;
    // bf16 outputs two values within 2^-8 of each other may swap or tie; fp32 ones only differ
    // by the order of the fp32 sums.
    argmax_rows(got, want, n, of, os, out_dtype == DY_BF16 ? 1e-2 : 1e-4, &agree, &clear);
    check(e < TOL && pad && agree == clear, "matmul (%d, %d) @ (%d, %d)^T%s%s -> %s: relative error %.3g, row argmax %d/%d",
          n, in, of, in, strided ? " strided" : "", x_row0 ? " (x from row 1)" : "", out_dtype == DY_F32 ? "fp32" : "bf16",
          e, agree, clear);
    free(got);
    free(want);
    twin_free(&x);
    twin_free(&w);
    twin_free(&out);
}

static void test_matmul(void) {
    const int row_counts[] = {1, 3, 17}, dims[] = {37, 130};
    for (int ri = 0; ri < 3; ri++)
        for (int ii = 0; ii < 2; ii++)
            for (int oi = 0; oi < 2; oi++)
                for (int strided = 0; strided < 2; strided++)
                    for (int f32 = 0; f32 < 2; f32++)
                        matmul_case(row_counts[ri], dims[ii], dims[oi], strided, f32 ? DY_F32 : DY_BF16, 0);
    matmul_case(3, 37, 130, true, DY_BF16, 1);  // x at an odd element offset
    matmul_case(17, 130, 37, true, DY_F32, 1);
    matmul_case(17, 1024, 1000, false, DY_BF16, 0);  // tensor-core sized
    matmul_case(64, 4096, 512, false, DY_F32, 0);
    matmul_case(1, 4096, 1024, false, DY_F32, 0);  // decode-shaped
}

// The stacked gate/up product and SwiGLU: one row of 16-byte pieces takes the fused GEMV, the
// rest cuBLASLt and the elementwise kernel; the first inter columns are compared.
static void test_gate_up_swiglu(void) {
    const int row_counts[] = {1, 3, 17}, in_counts[] = {37, 128, 4096}, inters[] = {5, 64, 1536};
    for (int ri = 0; ri < 3; ri++)
        for (int ii = 0; ii < 3; ii++)
            for (int ti = 0; ti < 3; ti++) {
                const int n = row_counts[ri], in = in_counts[ii], inter = inters[ti], cols = 2 * inter;
                const int pad = in % 8 ? 3 : 8;  // aligned rows where the width allows
                twin x = twin_bf16(n, in, in + pad, 1), w = twin_bf16(cols, in, in + (in % 8 ? 1 : 8), 1),
                     out = twin_bf16(n, cols, cols + 2, 1);
                cpu->gate_up_swiglu(cpu, &x.cpu, &w.cpu, &out.cpu);
                gpu->gate_up_swiglu(gpu, &x.gpu, &w.gpu, &out.gpu);
                float *got = read_view(gpu, &out.gpu), *want = read_view(cpu, &out.cpu);
                const double e = rel_err(got, want, n, inter, cols + 2);
                check(e < TOL, "gate_up_swiglu (%d, %d) @ (2 x %d, %d)^T: relative error %.3g", n, in, inter, in, e);
                free(got);
                free(want);
                twin_free(&x);
                twin_free(&w);
                twin_free(&out);
            }
}

// ---- norm + RoPE -----------------------------------------------------------------------------

static void test_norm_rope(void) {
    const int head_dims[] = {32, 64, 128, 256}, head_counts[] = {1, 3, 8}, row_counts[] = {1, 3, 17};
    int k = 0;
    for (int di = 0; di < 4; di++)
        for (int hi = 0; hi < 3; hi++)
            for (int mode = 0; mode < 3; mode++, k++) {  // no norm, norm without weight, norm with weight
                const int hd = head_dims[di], nh = head_counts[hi], n = row_counts[k % 3], half = hd / 2;
                const int cols = nh * hd;
                const float af = k % 2 ? 1.1386f : 1.0f, eps = k % 4 == 1 ? 0.25f : 1e-6f;
                twin x = twin_bf16(n, cols, cols + 4, 3), w = twin_bf16(1, hd, hd, 1);
                int32_t pos[17];
                float inv_freq[128];
                for (int r = 0; r < n; r++) pos[r] = (int32_t)uniform(0, 40000);
                pos[0] = 0;
                for (int i = 0; i < half; i++) inv_freq[i] = (float)pow(1e6, -2.0 * i / hd);
                int32_t *cpu_pos = copy_to(cpu, pos, (size_t)n * sizeof *pos), *gpu_pos = copy_to(gpu, pos, (size_t)n * sizeof *pos);
                float *cpu_freq = copy_to(cpu, inv_freq, (size_t)half * sizeof(float)),
                      *gpu_freq = copy_to(gpu, inv_freq, (size_t)half * sizeof(float));
                op_norm_rope(cpu, &x.cpu, nh, hd, mode == 2 ? &w.cpu : NULL, eps, mode > 0, cpu_pos, cpu_freq, af);
                op_norm_rope(gpu, &x.gpu, nh, hd, mode == 2 ? &w.gpu : NULL, eps, mode > 0, gpu_pos, gpu_freq, af);
                bool pad;
                const double e = twin_compare(&x, &pad, NULL, NULL);
                check(e < TOL && pad, "norm_rope head_dim %d heads %d rows %d mode %d factor %g eps %g: relative error %.3g",
                      hd, nh, n, mode, af, eps, e);
                cpu->release(cpu, cpu_pos);
                gpu->release(gpu, gpu_pos);
                cpu->release(cpu, cpu_freq);
                gpu->release(gpu, gpu_freq);
                twin_free(&x);
                twin_free(&w);
            }
}

// Both sides in one call, as the model runs it: q and k against the CPU twin, and the cache rows
// at the positions bit for bit the GPU's own rotated k and the v rows; every other row untouched.
static void test_attention_inputs(void) {
    const int head_dims[] = {32, 128};
    for (int di = 0; di < 2; di++) {
        enum { n = 5, nh = 8, nkv = 2, max_ctx = 300 };
        const int hd = head_dims[di], half = hd / 2;
        const int32_t pos[n] = {0, 7, 299, 150, 151};
        float inv_freq[64];
        for (int i = 0; i < half; i++) inv_freq[i] = (float)pow(1e6, -2.0 * i / hd);
        twin q = twin_bf16(n, nh * hd, nh * hd + 8, 3), k = twin_bf16(n, nkv * hd, nkv * hd + 8, 3),
             v = twin_bf16(n, nkv * hd, nkv * hd, 1), wq = twin_bf16(1, hd, hd, 1), wk = twin_bf16(1, hd, hd, 1),
             k_cache = twin_bf16(nkv * max_ctx, hd, hd, 1), v_cache = twin_bf16(nkv * max_ctx, hd, hd, 1);
        int32_t *pos_cpu = copy_to(cpu, pos, sizeof pos), *pos_gpu = copy_to(gpu, pos, sizeof pos);
        float *freq_cpu = copy_to(cpu, inv_freq, (size_t)half * sizeof(float)),
              *freq_gpu = copy_to(gpu, inv_freq, (size_t)half * sizeof(float));
        dy_attention_inputs a = {
            .q = &q.cpu, .k = &k.cpu, .v = &v.cpu, .q_norm = &wq.cpu, .k_norm = &wk.cpu, .n_heads = nh,
            .n_kv_heads = nkv, .head_dim = hd, .eps = 1e-6f, .normalise = true, .positions = pos_cpu,
            .inv_freq = freq_cpu, .attn_factor = 1.1f, .k_cache = k_cache.cpu.data, .v_cache = v_cache.cpu.data,
            .max_ctx = max_ctx,
        };
        cpu->attention_inputs(cpu, &a);
        a.q = &q.gpu, a.k = &k.gpu, a.v = &v.gpu, a.q_norm = &wq.gpu, a.k_norm = &wk.gpu, a.positions = pos_gpu;
        a.inv_freq = freq_gpu, a.k_cache = k_cache.gpu.data, a.v_cache = v_cache.gpu.data;
        gpu->attention_inputs(gpu, &a);
        bool pad_q, pad_k;
        const double e_q = twin_compare(&q, &pad_q, NULL, NULL), e_k = twin_compare(&k, &pad_k, NULL, NULL);
        float *kg = read_view(gpu, &k.gpu), *vg = read_view(gpu, &v.gpu), *kc = read_view(gpu, &k_cache.gpu),
              *vc = read_view(gpu, &v_cache.gpu);
        int wrong_rows = 0;
        for (int g = 0; g < nkv; g++)
            for (int j = 0; j < max_ctx; j++) {
                int r = -1;
                for (int i = 0; i < n; i++) r = pos[i] == j ? i : r;
                const size_t row = (size_t)(g * max_ctx + j) * hd, bytes = (size_t)hd * sizeof(float);
                const float *want_k = r < 0 ? k_cache.host + row : kg + r * k.gpu.stride + g * hd,
                            *want_v = r < 0 ? v_cache.host + row : vg + r * v.gpu.stride + g * hd;
                wrong_rows += memcmp(kc + row, want_k, bytes) != 0 || memcmp(vc + row, want_v, bytes) != 0;
            }
        check(e_q < TOL && e_k < TOL && pad_q && pad_k && wrong_rows == 0,
              "attention_inputs head_dim %d, %d/%d heads: q %.3g, k %.3g, %d cache rows wrong", hd, nh, nkv, e_q, e_k,
              wrong_rows);
        free(kg);
        free(vg);
        free(kc);
        free(vc);
        cpu->release(cpu, pos_cpu);
        gpu->release(gpu, pos_gpu);
        cpu->release(cpu, freq_cpu);
        gpu->release(gpu, freq_gpu);
        twin *twins[] = {&q, &k, &v, &wq, &wk, &k_cache, &v_cache};
        for (int i = 0; i < 7; i++) twin_free(twins[i]);
    }
}

// ---- attention -------------------------------------------------------------------------------

typedef struct {
    int n_heads, n_kv_heads, head_dim, n_q, q_pos0, max_ctx;
    float scale;
    bool aligned;  // 16-byte aligned q and output rows (the tensor-core prefill kernel), or odd strides
} attn_shape;

// Attention of q against the caches on both backends, with bias (host, q_pos0 + n_q values, or
// NULL) and n_capture heads; compares the outputs, the capture rows and their argmax.
static void compare_attention(const char *what, const attn_shape *s, const twin *q, const twin *k_cache,
                              const twin *v_cache, const float *bias, const int32_t *heads, int n_capture) {
    const int ctx = s->q_pos0 + s->n_q, cols = s->n_heads * s->head_dim, guard = 16;
    const size_t cap_n = (size_t)(n_capture * ctx + guard);
    twin out = twin_bf16(s->n_q, cols, cols + (s->aligned ? 8 : 5), 1);
    float *capture = xmalloc(cap_n * sizeof(float));
    for (size_t i = 0; i < cap_n; i++) capture[i] = NAN;
    float *cap_cpu = copy_to(cpu, capture, cap_n * sizeof(float)), *cap_gpu = copy_to(gpu, capture, cap_n * sizeof(float));
    int32_t *heads_cpu = copy_to(cpu, heads, (size_t)n_capture * sizeof *heads),
            *heads_gpu = copy_to(gpu, heads, (size_t)n_capture * sizeof *heads);
    float *bias_cpu = bias ? copy_to(cpu, bias, (size_t)ctx * sizeof(float)) : NULL,
          *bias_gpu = bias ? copy_to(gpu, bias, (size_t)ctx * sizeof(float)) : NULL;
    int32_t *pos_cpu = positions_new(cpu, s->q_pos0, s->n_q), *pos_gpu = positions_new(gpu, s->q_pos0, s->n_q);
    dy_attention_args a = {
        .q = &q->cpu, .k = k_cache->cpu.data, .v = v_cache->cpu.data, .max_ctx = s->max_ctx, .n_q = s->n_q,
        .positions = pos_cpu, .n_keys = ctx, .n_heads = s->n_heads, .n_kv_heads = s->n_kv_heads,
        .head_dim = s->head_dim, .scale = s->scale, .bias = bias_cpu, .n_capture = n_capture,
        .capture_heads = heads_cpu, .capture_out = cap_cpu, .out = &out.cpu,
    };
    cpu->attention(cpu, &a);
    a.q = &q->gpu;
    a.k = k_cache->gpu.data;
    a.v = v_cache->gpu.data;
    a.positions = pos_gpu;
    a.bias = bias_gpu;
    a.capture_heads = heads_gpu;
    a.capture_out = cap_gpu;
    a.out = &out.gpu;
    gpu->attention(gpu, &a);

    bool pad;
    const double e = twin_compare(&out, &pad, NULL, NULL);
    float *want = xmalloc(cap_n * sizeof(float));
    cpu->download(cpu, want, cap_cpu, cap_n * sizeof(float));
    gpu->download(gpu, capture, cap_gpu, cap_n * sizeof(float));
    const double e_cap = rel_err(capture, want, n_capture, ctx, ctx);
    int agree, clear;
    argmax_rows(capture, want, n_capture, ctx, ctx, 1e-4, &agree, &clear);
    bool guard_ok = true;
    for (int i = 0; i < guard; i++) guard_ok &= isnan(capture[n_capture * ctx + i]);
    check(e < TOL && e_cap < TOL && agree == clear && pad && guard_ok,
          "%s: output %.3g, capture (%d heads) %.3g, capture argmax %d/%d%s", what, e, n_capture, e_cap, agree, clear,
          guard_ok ? "" : ", capture written past its rows");
    if (s->n_q == 1) {  // a recorded decode step: n_keys only bounds the keys, the position is read on the device
        a.n_keys = s->max_ctx;
        a.n_capture = 0;
        gpu->attention(gpu, &a);
        const double e_bound = twin_compare(&out, &pad, NULL, NULL);
        check(e_bound < TOL && pad, "%s, n_keys given as the bound %d: output %.3g", what, s->max_ctx, e_bound);
    }
    free(want);
    free(capture);
    cpu->release(cpu, cap_cpu);
    gpu->release(gpu, cap_gpu);
    cpu->release(cpu, heads_cpu);
    gpu->release(gpu, heads_gpu);
    cpu->release(cpu, pos_cpu);
    gpu->release(gpu, pos_gpu);
    if (bias) {
        cpu->release(cpu, bias_cpu);
        gpu->release(gpu, bias_gpu);
    }
    twin_free(&out);
}

// Caches (n_kv_heads * max_ctx, head_dim) with NAN at positions past ctx: reading them would
// poison the output.
static twin cache_new(int n_kv_heads, int max_ctx, int ctx, int head_dim) {
    twin t = twin_bf16((int64_t)n_kv_heads * max_ctx, head_dim, head_dim, 1);
    for (int g = 0; g < n_kv_heads; g++)
        for (int j = ctx; j < max_ctx; j++)
            for (int i = 0; i < head_dim; i++) t.host[((int64_t)g * max_ctx + j) * head_dim + i] = NAN;
    twin_upload(&t);
    return t;
}

static void test_attention(void) {
    static const struct {
        int n_heads, n_kv_heads, head_dim, n_q, q_pos0;
    } cases[] = {
        // decode: one query against 1..5000 keys, GQA ratios 1, 4, 8
        {4, 4, 64, 1, 0},
        {8, 2, 64, 1, 6},
        {4, 2, 32, 1, 700},  // the tiny presets' head_dim
        {8, 1, 128, 1, 63},
        {16, 4, 128, 1, 999},
        {32, 4, 128, 1, 4999},
        {8, 8, 128, 1, 4999},
        {16, 2, 64, 1, 3001},
        {32, 8, 128, 1, 40000},  // splits of a few hundred keys, not multiples of the tile
        // prefill from an empty cache and on top of 100 cached positions
        {4, 4, 64, 64, 0},
        {8, 1, 64, 64, 100},
        {16, 4, 128, 17, 100},
        {32, 4, 128, 64, 0},
        {8, 2, 64, 3, 100},
        {4, 2, 32, 40, 9},
        {8, 1, 64, 129, 63},     // tile edges: 129 queries from position 63
        {32, 8, 128, 300, 1000},
        {32, 8, 128, 513, 8000},
    };
    // variant bit 0: bias with -inf and temperature 0.7; bit 1: 16-byte aligned rows
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
        for (int variant = 0; variant < 4; variant++) {
            const bool biased = variant & 1, aligned = variant & 2;
            if (aligned && cases[ci].n_q == 1) continue;  // decode reads rows the same way either way
            const int nh = cases[ci].n_heads, nkv = cases[ci].n_kv_heads, hd = cases[ci].head_dim;
            const int n_q = cases[ci].n_q, pos0 = cases[ci].q_pos0, ctx = pos0 + n_q;
            // Room past the context (NAN-filled), up to a 128k cache for the largest decode case.
            const int max_ctx = ctx + (n_q == 1 && ctx > 10000 ? 131072 - ctx : 7);
            const attn_shape s = {nh, nkv, hd, n_q, pos0, max_ctx, 1.0f / sqrtf((float)hd) / (biased ? 0.7f : 1.0f),
                                  aligned};
            char what[160];
            snprintf(what, sizeof what, "attention heads %d/%d head_dim %d n_q %d q_pos0 %d%s%s", nh, nkv, hd, n_q, pos0,
                     biased ? " bias (-inf) temperature 0.7" : "", aligned ? " aligned rows" : "");
            twin k = cache_new(nkv, s.max_ctx, ctx, hd), v = cache_new(nkv, s.max_ctx, ctx, hd);
            twin q = twin_bf16(n_q, nh * hd, nh * hd + (aligned ? 8 : 3), 2);
            float *bias = xmalloc((size_t)ctx * sizeof(float));
            for (int j = 0; j < ctx; j++) bias[j] = j % 11 == 5 ? -INFINITY : uniform(0, 1.5f);
            const int32_t heads[3] = {nh - 1, 0, nh / 2};  // distinct: every case has 4 heads or more
            compare_attention(what, &s, &q, &k, &v, biased ? bias : NULL, heads, 3);
            free(bias);
            twin_free(&k);
            twin_free(&v);
            twin_free(&q);
        }
}

// Every key masked: the op defines the result as zeros (output and capture).
static void test_attention_all_masked(void) {
    enum { nh = 4, nkv = 2, hd = 64, n_q = 2, pos0 = 5, ctx = pos0 + n_q };
    twin k = cache_new(nkv, ctx, ctx, hd), v = cache_new(nkv, ctx, ctx, hd);
    twin q = twin_bf16(n_q, nh * hd, nh * hd, 1), out = twin_bf16(n_q, nh * hd, nh * hd, 1);
    float bias[ctx], capture[ctx];
    for (int j = 0; j < ctx; j++) bias[j] = -INFINITY;
    const int32_t head = 3;
    float *dev_bias = copy_to(gpu, bias, sizeof bias), *dev_capture = copy_to(gpu, bias, sizeof bias);
    int32_t *dev_head = copy_to(gpu, &head, sizeof head), *dev_pos = positions_new(gpu, pos0, n_q);
    const dy_attention_args a = {
        .q = &q.gpu, .k = k.gpu.data, .v = v.gpu.data, .max_ctx = ctx, .n_q = n_q, .positions = dev_pos, .n_keys = ctx, .n_heads = nh,
        .n_kv_heads = nkv, .head_dim = hd, .scale = 0.2f, .bias = dev_bias, .n_capture = 1,
        .capture_heads = dev_head, .capture_out = dev_capture, .out = &out.gpu,
    };
    gpu->attention(gpu, &a);
    float *got = read_view(gpu, &out.gpu);
    gpu->download(gpu, capture, dev_capture, sizeof capture);
    int nonzero = 0;
    for (int i = 0; i < n_q * nh * hd; i++) nonzero += got[i] != 0.0f;
    for (int j = 0; j < ctx; j++) nonzero += capture[j] != 0.0f;
    check(nonzero == 0, "attention with every key masked: %d nonzero output or capture values", nonzero);
    free(got);
    gpu->release(gpu, dev_bias);
    gpu->release(gpu, dev_capture);
    gpu->release(gpu, dev_head);
    gpu->release(gpu, dev_pos);
    twin_free(&k);
    twin_free(&v);
    twin_free(&q);
    twin_free(&out);
}

// K/V rows written to the cache (attention_inputs) in three chunks (25, 1, 14 positions), then prefill and decode
// attention over that cache.
static void test_kv_write_then_attention(void) {
    const int nh = 8, nkv = 2, hd = 64, ctx = 40, max_ctx = 48, kv_cols = nkv * hd;
    twin keys = twin_bf16(ctx, kv_cols, kv_cols + 3, 1), values = twin_bf16(ctx, kv_cols, kv_cols + 1, 1);
    twin k_cache = cache_new(nkv, max_ctx, ctx, hd), v_cache = cache_new(nkv, max_ctx, ctx, hd);
    const int chunks[][2] = {{0, 25}, {25, 1}, {26, 14}};  // (pos0, rows)
    for (int c = 0; c < 3; c++) {
        const int pos0 = chunks[c][0], n = chunks[c][1];
        dy_view kc = dy_view_rows(&keys.cpu, pos0, n), kg = dy_view_rows(&keys.gpu, pos0, n);
        const dy_view vc = dy_view_rows(&values.cpu, pos0, n), vg = dy_view_rows(&values.gpu, pos0, n);
        int32_t *pos_cpu = positions_new(cpu, pos0, n), *pos_gpu = positions_new(gpu, pos0, n);
        op_kv_write(cpu, &kc, &vc, k_cache.cpu.data, v_cache.cpu.data, max_ctx, nkv, hd, pos_cpu);
        op_kv_write(gpu, &kg, &vg, k_cache.gpu.data, v_cache.gpu.data, max_ctx, nkv, hd, pos_gpu);
        cpu->release(cpu, pos_cpu);
        gpu->release(gpu, pos_gpu);
    }
    // Positions past ctx stay NAN on both; compare the written ones bit for bit.
    float *kg = read_view(gpu, &k_cache.gpu), *kc = read_view(cpu, &k_cache.cpu);
    float *vg = read_view(gpu, &v_cache.gpu), *vc = read_view(cpu, &v_cache.cpu);
    int64_t differ = 0;
    for (int g = 0; g < nkv; g++)
        for (int64_t i = (int64_t)g * max_ctx * hd; i < ((int64_t)g * max_ctx + ctx) * hd; i++)
            differ += memcmp(&kg[i], &kc[i], sizeof(float)) != 0 || memcmp(&vg[i], &vc[i], sizeof(float)) != 0;
    check(differ == 0, "kv_write in chunks of 25, 1, 14 rows: %lld cache values differ from the CPU twin's", (long long)differ);
    free(kg);
    free(kc);
    free(vg);
    free(vc);

    const int32_t heads[3] = {5, 2, 5};  // head 5 twice: both rows must hold its probabilities
    const int passes[][2] = {{26, 14}, {39, 1}};  // (q_pos0, n_q)
    for (int p = 0; p < 2; p++) {
        const attn_shape s = {nh, nkv, hd, passes[p][1], passes[p][0], max_ctx, 1.0f / sqrtf((float)hd), true};
        twin q = twin_bf16(s.n_q, nh * hd, nh * hd, 2);
        compare_attention(p ? "kv_write + decode" : "kv_write + prefill", &s, &q, &k_cache, &v_cache, NULL, heads, 3);
        twin_free(&q);
    }
    twin_free(&keys);
    twin_free(&values);
    twin_free(&k_cache);
    twin_free(&v_cache);
}

// ---- MoE -------------------------------------------------------------------------------------

typedef struct {
    int n_experts, hidden, inter;
    twin router, gate[8], up[8], down[8];
    dy_mlp_weights cpu_w[8], gpu_w[8];
} moe_case;

static void moe_case_new(moe_case *m, int n_experts, int hidden, int inter) {
    m->n_experts = n_experts;
    m->hidden = hidden;
    m->inter = inter;
    m->router = twin_bf16(n_experts, hidden, hidden, 1);
    for (int e = 0; e < n_experts; e++) {
        m->gate[e] = twin_bf16(inter, hidden, hidden, 0.5f);
        m->up[e] = twin_bf16(inter, hidden, hidden, 0.5f);
        m->down[e] = twin_bf16(hidden, inter, inter, 0.5f);
        m->cpu_w[e] = (dy_mlp_weights){m->gate[e].cpu, m->up[e].cpu, m->down[e].cpu};
        m->gpu_w[e] = (dy_mlp_weights){m->gate[e].gpu, m->up[e].gpu, m->down[e].gpu};
    }
}

static void moe_case_free(moe_case *m) {
    twin_free(&m->router);
    for (int e = 0; e < m->n_experts; e++) {
        twin_free(&m->gate[e]);
        twin_free(&m->up[e]);
        twin_free(&m->down[e]);
    }
}

static void test_moe(void) {
    const int shapes[][2] = {{37, 20}, {130, 64}}, row_counts[] = {1, 3, 17};
    for (int si = 0; si < 2; si++) {
        moe_case m;
        moe_case_new(&m, 8, shapes[si][0], shapes[si][1]);
        for (int ri = 0; ri < 3; ri++)
            for (int norm = 0; norm < 2; norm++)
                for (int top_k = 1; top_k <= 2; top_k++) {
                    const int n = row_counts[ri], h = m.hidden;
                    twin x = twin_bf16(n, h, h + 3, 1), out = twin_bf16(n, h, h + 2, 1);
                    cpu->moe(cpu, &x.cpu, &m.router.cpu, m.cpu_w, 8, top_k, norm, &out.cpu);
                    gpu->moe(gpu, &x.gpu, &m.router.gpu, m.gpu_w, 8, top_k, norm, &out.gpu);
                    bool pad;
                    const double e = twin_compare(&out, &pad, NULL, NULL);
                    check(e < TOL && pad, "moe 8 experts hidden %d inter %d rows %d top-%d norm_topk %d: relative error %.3g",
                          h, m.inter, n, top_k, norm, e);
                    twin_free(&x);
                    twin_free(&out);
                }
        moe_case_free(&m);
    }
}

// Router rows 2, 5 and 6 are identical and dominate every token's logits: top-2 must pick 2 and
// 5 (ties to the lower index), top-1 must pick 2. The higher-index choice (6 instead of 2) is
// the CPU twin run with experts 2 and 6 swapped; the GPU must match the first and not the second.
static void test_moe_tie(void) {
    const int n = 3, hidden = 37, inter = 20;
    moe_case m;
    moe_case_new(&m, 8, hidden, inter);
    for (int e = 0; e < 8; e++)
        for (int c = 0; c < hidden; c++) m.router.host[e * hidden + c] = bf16_round(m.router.host[e * hidden + c] * 0.1f);
    m.router.host[2 * hidden] = 3.0f;
    memcpy(m.router.host + 5 * hidden, m.router.host + 2 * hidden, hidden * sizeof(float));
    memcpy(m.router.host + 6 * hidden, m.router.host + 2 * hidden, hidden * sizeof(float));
    twin_upload(&m.router);
    twin x = twin_bf16(n, hidden, hidden, 1), out = twin_bf16(n, hidden, hidden, 1);
    for (int t = 0; t < n; t++) x.host[t * hidden] = bf16_round(uniform(3, 4));
    twin_upload(&x);
    dy_mlp_weights swapped[8];
    memcpy(swapped, m.cpu_w, sizeof swapped);
    swapped[2] = m.cpu_w[6];
    swapped[6] = m.cpu_w[2];
    for (int norm = 0; norm < 2; norm++)
        for (int top_k = 1; top_k <= 2; top_k++) {
            gpu->moe(gpu, &x.gpu, &m.router.gpu, m.gpu_w, 8, top_k, norm, &out.gpu);
            float *got = read_view(gpu, &out.gpu);
            cpu->moe(cpu, &x.cpu, &m.router.cpu, m.cpu_w, 8, top_k, norm, &out.cpu);
            float *lower = read_view(cpu, &out.cpu);
            cpu->moe(cpu, &x.cpu, &m.router.cpu, swapped, 8, top_k, norm, &out.cpu);
            float *higher = read_view(cpu, &out.cpu);
            const double e_lower = rel_err(got, lower, n, hidden, hidden), e_higher = rel_err(got, higher, n, hidden, hidden);
            check(e_lower < TOL && e_higher > 0.1,
                  "moe tie top-%d norm_topk %d: %.3g from the lower-index choice, %.3g from the higher-index one", top_k,
                  norm, e_lower, e_higher);
            free(got);
            free(lower);
            free(higher);
        }
    twin_free(&x);
    twin_free(&out);
    moe_case_free(&m);
}

// ---- pick ------------------------------------------------------------------------------------

enum { PICK_VOCAB_MAX = 151936 };
typedef enum { PICK_PLAIN, PICK_TIES, PICK_NEG_INF } pick_kind;
static const char *const pick_kind_names[] = {"plain", "exact ties", "-inf entries"};

// Fresh logits (vocab) uniform in [-8, 8); "exact ties" rounds them to a grid of 0.5 (hundreds
// of ties at every value, so also at the top-k and top-p thresholds); "-inf entries" sets about
// a third of them to -inf.
static void pick_logits(float *l, int vocab, pick_kind kind) {
    for (int i = 0; i < vocab; i++) {
        l[i] = uniform(-8.0f, 8.0f);
        if (kind == PICK_TIES) l[i] = roundf(l[i] * 2.0f) / 2.0f;
        if (kind == PICK_NEG_INF && uniform(0.0f, 1.0f) < 0.35f) l[i] = -INFINITY;
    }
}

static dy_pick pick_on(dy_backend *be, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out) {
    dy_pick got;
    be->pick(be, logits, vocab, p, out);
    be->download(be, &got, out, sizeof got);
    return got;
}

// Whether u is within 1e-5 of a boundary of the CPU's cumulative distribution (in units of the
// kept mass, which is what u is): the CPU's own tokens at u -/+ 1e-5 differ.
static bool near_boundary(const float *logits, int vocab, dy_pick_params p, dy_pick *out) {
    const double u = p.u;
    p.u = u - 1e-5 > 0 ? u - 1e-5 : 0;
    const int32_t below = pick_on(cpu, logits, vocab, &p, out).token;
    p.u = u + 1e-5 < 1 ? u + 1e-5 : 1 - 0x1p-53;
    return pick_on(cpu, logits, vocab, &p, out).token != below;
}

static bool logprob_close(float got, float want) { return got == want || fabs((double)got - want) <= 1e-4; }

// The GPU's pick against the CPU's on the same fp32 logits, over temperature {0, 0.7, 1.3} x
// top_k {0, 1, 50} x top_p {1, 0.9, 0.5} x six u, and forced tokens: argmax always equal,
// logprob within 1e-4, the token equal except where u lies within 1e-5 of a CDF boundary (the
// GPU's sums are rounded differently; those cases are counted apart).
static void test_pick(void) {
    static const int vocabs[] = {PICK_VOCAB_MAX, 1000}, top_ks[] = {0, 1, 50};
    static const float temperatures[] = {0.0f, 0.7f, 1.3f}, top_ps[] = {1.0f, 0.9f, 0.5f};
    static const double us[] = {0.0, 0.0421, 0.3, 0.5, 0.77, 0.999};
    float *host = xmalloc(PICK_VOCAB_MAX * sizeof(float));
    dy_pick *cpu_out = cpu->alloc(cpu, sizeof(dy_pick)), *gpu_out = gpu->alloc(gpu, sizeof(dy_pick));
    if (!cpu_out || !gpu_out) die("backend out of memory");
    for (int v = 0; v < 2; v++)
        for (int kind = PICK_PLAIN; kind <= PICK_NEG_INF; kind++) {
            const int vocab = vocabs[v];
            const size_t bytes = (size_t)vocab * sizeof(float);
            pick_logits(host, vocab, (pick_kind)kind);
            float *lc = copy_to(cpu, host, bytes), *lg = copy_to(gpu, host, bytes);
            int cases = 0, argmax_equal = 0, token_equal = 0, at_boundary = 0, logprob_ok = 0;
            double worst = 0;
            for (int t = 0; t < 3; t++)
                for (int k = 0; k < 3; k++)
                    for (int p = 0; p < 3; p++)
                        for (int ui = 0; ui < 6; ui++) {
                            const dy_pick_params params = {.temperature = temperatures[t], .sample_top_p = top_ps[p],
                                                           .sample_top_k = top_ks[k], .u = us[ui], .forced = -1};
                            const dy_pick want = pick_on(cpu, lc, vocab, &params, cpu_out);
                            const dy_pick got = pick_on(gpu, lg, vocab, &params, gpu_out);
                            cases++;
                            argmax_equal += got.argmax == want.argmax;
                            logprob_ok += logprob_close(got.logprob, want.logprob);
                            if (fabs((double)got.logprob - want.logprob) > worst) worst = fabs((double)got.logprob - want.logprob);
                            if (got.token == want.token) token_equal++;
                            else if (near_boundary(lc, vocab, params, cpu_out)) at_boundary++;
                            else
                                printf("  vocab %d %s T %g top_k %d top_p %g u %g: token %d on the GPU, %d on the CPU\n",
                                       vocab, pick_kind_names[kind], temperatures[t], top_ks[k], top_ps[p], us[ui],
                                       got.token, want.token);
                        }
            for (int f = 0; f < 8; f++) {  // forced tokens: only the logprob and the argmax
                int32_t id;
                do id = (int32_t)uniform(0.0f, (float)vocab) % vocab;
                while (isinf(host[id]));
                const dy_pick_params params = {.temperature = 0.7f, .sample_top_p = 0.5f, .sample_top_k = 1, .u = 0.5, .forced = id};
                const dy_pick want = pick_on(cpu, lc, vocab, &params, cpu_out), got = pick_on(gpu, lg, vocab, &params, gpu_out);
                cases++;
                argmax_equal += got.argmax == want.argmax;
                logprob_ok += logprob_close(got.logprob, want.logprob);
                token_equal += got.token == id && want.token == id;
            }
            check(argmax_equal == cases, "pick (vocab %d, %s): argmax equal in %d/%d cases", vocab, pick_kind_names[kind],
                  argmax_equal, cases);
            check(token_equal + at_boundary == cases,
                  "pick (vocab %d, %s): token equal in %d/%d cases, %d more with u within 1e-5 of a CDF boundary", vocab,
                  pick_kind_names[kind], token_equal, cases, at_boundary);
            check(logprob_ok == cases, "pick (vocab %d, %s): logprob within 1e-4 in %d/%d cases (worst %.3g)", vocab,
                  pick_kind_names[kind], logprob_ok, cases, worst);
            cpu->release(cpu, lc);
            gpu->release(gpu, lg);
        }
    cpu->release(cpu, cpu_out);
    gpu->release(gpu, gpu_out);
    free(host);
}

// ---- end to end ------------------------------------------------------------------------------

enum { PROMPT = 40, STEPS = 160, POSITIONS = PROMPT + STEPS };

// Logits (vocab) at token position pos: a fresh prefill of tokens [0, pos] for prompt positions
// (odd ones in two chunks, so prefill on top of cached positions runs too), one decode step
// for the rest (the prompt's K/V are in the cache from the last prefill).
static int logits_at(dy_model *m, const int32_t *tokens, int pos, float *logits, dy_error *err) {
    const dy_forward_opts with_logits = {.logits = logits}, without = {0};
    if (pos >= PROMPT) return dy_model_forward(m, tokens + pos, 1, pos, &with_logits, err);
    const int first = pos % 2 ? (pos + 1) / 2 : 0;
    if (first && dy_model_forward(m, tokens, first, 0, &without, err)) return -1;
    return dy_model_forward(m, tokens + first, pos + 1 - first, first, &with_logits, err);
}

// A tiny preset with vocab 1024 and bf16 weights (exact in both backends) run for PROMPT prompt
// positions and STEPS teacher-forced steps on both: the logits' relative error over all
// positions, and argmax agreement per position (the decode steps run as recorded graphs on the
// GPU). A disagreement must be a tie at bf16 precision: the CPU's two candidates within 2e-2 of
// the logits' rms of each other. The error is taken
// over all positions, not per position: in the MoE model a router near-tie can pick another
// expert under bf16 activations, which moves that one position's logits by several percent (up
// to ~7e-2 in a CPU emulation of bf16 rounding).
static void test_model(const char *preset) {
    dy_model_config cfg;
    load_preset(preset, &cfg, 1024);
    char *json = preset_json(preset, 1024), *dir = make_temp_dir("cuda-ops");
    write_checkpoint(dir, json, &cfg, DY_BF16, 1ull << 40, 7);
    dy_checkpoint ck;
    dy_model mc, mg;
    dy_error err;
    if (dy_checkpoint_open(dir, &ck, &err)) die(err.msg);
    if (dy_model_load(&mc, cpu, &ck, POSITIONS, PROMPT, &err) || dy_model_load(&mg, gpu, &ck, POSITIONS, PROMPT, &err))
        die(err.msg);
    const int vocab = cfg.vocab_size;
    int32_t tokens[POSITIONS];
    for (int i = 0; i < POSITIONS; i++) tokens[i] = (int32_t)uniform(0, (float)vocab) % vocab;
    float *got = xmalloc((size_t)POSITIONS * vocab * sizeof(float)), *want = xmalloc((size_t)POSITIONS * vocab * sizeof(float));
    double worst = 0;
    int worst_pos = 0, agree = 0, ties = 0;
    for (int p = 0; p < POSITIONS; p++) {
        float *g = got + (size_t)p * vocab, *w = want + (size_t)p * vocab;
        if (logits_at(&mc, tokens, p, w, &err) || logits_at(&mg, tokens, p, g, &err)) die(err.msg);
        const double e = rel_err(g, w, 1, vocab, vocab);
        if (e > worst) {
            worst = e;
            worst_pos = p;
        }
        const int best = argmax(w, vocab), picked = argmax(g, vocab);
        double rms = 0;
        for (int j = 0; j < vocab; j++) rms += (double)w[j] * w[j] / vocab;
        rms = sqrt(rms);
        if (picked == best) {
            agree++;
            continue;
        }
        const bool tie = w[best] - w[picked] < TOL * rms;
        ties += tie;
        printf("  %s position %d: argmax %d on the GPU, %d on the CPU (CPU logit gap %.3g, rms %.3g%s)\n", preset, p,
               picked, best, w[best] - w[picked], rms, tie ? ": a tie at bf16 precision" : "");
    }
    const double e = rel_err(got, want, POSITIONS, vocab, vocab);
    check(e < TOL, "%s (vocab %d): logits relative error %.3g over %d prompt positions and %d steps (worst %.3g at %d)",
          preset, vocab, e, PROMPT, STEPS, worst, worst_pos);
    // A random-weight tiny model has flat logits: 1-2% of its positions have a top-2 gap under
    // bf16's noise (measured 96.5-99.5% raw agreement over runs). That is bf16 storage, not this
    // backend: the CPU itself, with every stored activation and K value rounded to bf16, agrees
    // with the fp32 CPU on 196-199 of these 200 positions (three presets, two seeds), and 1e-6
    // relative noise in its matmul outputs alone moves its logits by 0.15-0.4% (of the ~0.6% that
    // bf16 storage costs), so no bf16 implementation matches another rounding for rounding.
    // Every disagreement must be such a tie, and ties may not pass 5% of the positions.
    check(agree + ties == POSITIONS && agree >= 0.95 * POSITIONS,
          "%s: argmax agreement %d/%d positions (%.1f%%); %d of the %d misses are bf16 ties", preset, agree, POSITIONS,
          100.0 * agree / POSITIONS, ties, POSITIONS - agree);
    free(got);
    free(want);
    dy_model_free(&mc);
    dy_model_free(&mg);
    dy_checkpoint_close(&ck);
    rm_rf(dir);
    free(dir);
    free(json);
}

int main(void) {
    const int n_devices = dy_cuda_device_count();
    if (n_devices == 0) {
        printf("SKIPPED: no CUDA device visible\n");
        return 77;
    }
    dy_error err;
    gpu = dy_backend_cuda_create(0, &err);
    cpu = dy_backend_cpu_create();
    if (!gpu) die(err.msg);
    // Room for every op below: up to 64 rows, MoE with 8 experts of width 64 over hidden 130,
    // decode attention with up to 32 heads of 128, picks over Qwen3's vocabulary.
    const dy_op_limits limits = {.max_rows = 64, .hidden = 130, .intermediate = 64, .n_experts = 8, .experts_per_token = 2,
                                 .n_heads = 32, .head_dim = 128, .vocab = PICK_VOCAB_MAX};
    if (!cpu || cpu->prepare(cpu, &limits) || gpu->prepare(gpu, &limits)) die("backend setup");

    test_create_and_memory(n_devices);
    test_embedding();
    test_add_rmsnorm();
    test_matmul();
    test_gate_up_swiglu();
    test_norm_rope();
    test_attention_inputs();
    test_attention();
    test_attention_all_masked();
    test_kv_write_then_attention();
    test_moe();
    test_moe_tie();
    test_pick();
    test_model("tiny-qwen3");
    test_model("tiny-llama");
    test_model("tiny-qwen3-moe");

    cpu->destroy(cpu);
    gpu->destroy(gpu);
    return check_summary();
}

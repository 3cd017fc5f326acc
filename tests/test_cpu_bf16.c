// The CPU backend with bf16 storage (--device cpu-bf16, kernels/cpu/backend_cpu_bf16.c), the
// twin of the CUDA backend's numerics, where no GPU is needed: the rounding helper on known bf16
// values; every op against the fp32 CPU op on the same fresh random inputs, its stored results
// equal to the fp32 results rounded to bf16 (bit for bit) where the GPU stores bf16 and equal
// to them unrounded where the GPU keeps fp32; and on each tiny preset, logits within bf16
// storage error of the fp32 CPU's over a prefill and teacher-forced decode steps. Each check
// also shows that the rounding it expects changes the values, so a twin that rounded nothing
// (or everything) fails it. One line per check; the last is "N passed, M failed".
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/ops_cpu.h"
#include "reference_fixture.h"
#include "runtime/model/model.h"
#include "test_util.h"

static dy_backend *cpu, *twin;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static bool is_bf16(float f) { return bits(dy_bf16_round(f)) == bits(f); }

// ---- the rounding helper ---------------------------------------------------------------------

static void check_rounding(void) {
    const struct {
        uint32_t in, want;
        const char *what;
    } cases[] = {
        {0x3F800000, 0x3F800000, "1 is kept"},
        {0x3F810000, 0x3F810000, "1 + 2^-7 (a bf16 value) is kept"},
        {0x3F808000, 0x3F800000, "tie 1 + 2^-8 goes to the even 1"},
        {0x3F818000, 0x3F820000, "tie 1 + 3 * 2^-8 goes to the even 1 + 2^-6"},
        {0x3F808001, 0x3F810000, "just above the tie rounds up"},
        {0x3F80FFFF, 0x3F810000, "just below 1 + 2^-7 rounds up"},
        {0xBF808000, 0xBF800000, "tie -1 - 2^-8 goes to the even -1"},
        {0x80000000, 0x80000000, "-0 keeps its sign"},
        {0x7F800000, 0x7F800000, "+inf"},
        {0xFF800000, 0xFF800000, "-inf"},
        {0x7F7FFFFF, 0x7F800000, "FLT_MAX rounds up to inf"},
        {0x7F7F7FFF, 0x7F7F0000, "below the tie at the largest bf16 stays finite"},
        {0x7F7F8000, 0x7F800000, "tie past the largest bf16 goes to the even inf"},
        {0x00000001, 0x00000000, "the smallest subnormal rounds to 0"},
        {0x00008000, 0x00000000, "subnormal tie goes to the even 0"},
        {0x00018000, 0x00020000, "subnormal tie goes to the even 2 * 2^-133"},
        {0x00028000, 0x00020000, "subnormal tie goes down to the even 2 * 2^-133"},
        {0x000116C2, 0x00010000, "1e-40 rounds to the subnormal 2^-133"},
        {0x80018000, 0x80020000, "negative subnormal tie"},
        {0x007FFFFF, 0x00800000, "the largest subnormal rounds up to the smallest normal"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const uint32_t got = bits(dy_bf16_round(from_bits(cases[i].in)));
        check(got == cases[i].want, "dy_bf16_round(0x%08X) = 0x%08X: %s (want 0x%08X)", cases[i].in, got,
              cases[i].what, cases[i].want);
    }
    // NaN stays NaN, also one whose payload sits in the bits rounding drops (a naive carry makes it inf).
    const uint32_t nans[] = {0x7FC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF};
    for (size_t i = 0; i < sizeof nans / sizeof *nans; i++) {
        const float got = dy_bf16_round(from_bits(nans[i]));
        check(isnan(got) && signbit(got) == signbit(from_bits(nans[i])), "dy_bf16_round(NaN 0x%08X) = 0x%08X, a NaN of the same sign",
              nans[i], bits(got));
    }
}

// ---- the ops ---------------------------------------------------------------------------------

// Padding columns hold this: not a bf16 value, so rounding it (writing past cols) shows.
static const float PAD = 0.1f;

// (rows, cols) at stride: uniform in [-amplitude, amplitude), never 0, PAD in the padding; bf16
// values when stored (what the twin holds between ops), fp32 ones otherwise.
static dy_view new_view(int64_t rows, int64_t cols, int64_t stride, float amplitude, bool stored) {
    float *p = xmalloc((size_t)(rows * stride) * sizeof(float));
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < stride; c++) {
            float v = uniform_f32(&rng, -amplitude, amplitude);
            if (v == 0) v = amplitude / 2;
            p[r * stride + c] = c >= cols ? PAD : stored ? dy_bf16_round(v) : v;
        }
    return (dy_view){p, DY_F32, rows, cols, stride};
}

static dy_view copy_view(const dy_view *v) {
    const size_t bytes = (size_t)(v->rows * v->stride) * sizeof(float);
    dy_view c = *v;
    c.data = memcpy(xmalloc(bytes), v->data, bytes);
    return c;
}

static float at(const dy_view *v, int64_t r, int64_t c) { return ((const float *)v->data)[r * v->stride + c]; }

// How got (the twin's result) compares with want (the fp32 op's): *mismatches counts the values
// not equal bit for bit to want's rounded to bf16 (rounded) or to want's as they are (!rounded),
// *changed those of want's that bf16 cannot hold (rounding them shows), *pad the padding values
// got no longer holds.
typedef struct {
    int64_t mismatches, changed, pad;
} comparison;

static comparison compare(const dy_view *got, const dy_view *want, bool rounded) {
    comparison k = {0};
    for (int64_t r = 0; r < got->rows; r++)
        for (int64_t c = 0; c < got->stride; c++) {
            const float g = at(got, r, c), w = at(want, r, c);
            if (c >= got->cols) {
                k.pad += bits(g) != bits(PAD);
                continue;
            }
            k.mismatches += bits(g) != bits(rounded ? dy_bf16_round(w) : w);
            k.changed += !is_bf16(w);
        }
    return k;
}

// One check line: got is want rounded to bf16 (or, !rounded, want unchanged), want holds values
// that bf16 cannot (so the check tells the two apart), the padding is untouched.
static void expect(const char *what, const dy_view *got, const dy_view *want, bool rounded) {
    const comparison k = compare(got, want, rounded);
    check(k.mismatches == 0 && k.changed > 0 && k.pad == 0,
          "%s: %s the fp32 result (%lld of %lld values differ; %lld of the fp32 values are not bf16; %lld padding "
          "values written)",
          what, rounded ? "bf16-rounded" : "equal to", (long long)k.mismatches, (long long)(got->rows * got->cols),
          (long long)k.changed, (long long)k.pad);
}

static void free_views(dy_view *views, int n) {
    for (int i = 0; i < n; i++) free(views[i].data);
}

static void check_upload_weight(void) {
    const dy_view host = new_view(5, 37, 37, 2, false);
    dy_view w_cpu = new_view(5, 37, 40, 1, false), w_twin = copy_view(&w_cpu);
    cpu->upload_weight(cpu, &w_cpu, host.data);
    twin->upload_weight(twin, &w_twin, host.data);
    expect("upload_weight (5, 37) at stride 40", &w_twin, &w_cpu, true);
    free_views((dy_view[]){host, w_cpu, w_twin}, 3);
}

// The table as uploaded raw (not through upload_weight), so its rows are not bf16 values.
static void check_embedding(void) {
    const dy_view table = new_view(10, 37, 40, 1, false);
    int32_t ids[4] = {3, 0, 9, 3};
    dy_view out_cpu = new_view(4, 37, 41, 1, false), out_twin = copy_view(&out_cpu);
    cpu->embedding(cpu, &table, ids, &out_cpu);
    twin->embedding(twin, &table, ids, &out_twin);
    expect("embedding of 4 ids", &out_twin, &out_cpu, true);
    free_views((dy_view[]){table, out_cpu, out_twin}, 3);
}

// With a delta the residual is stored (rounded) first and the norm normalises what was stored:
// the fp32 reference is the CPU op on that rounded residual, without a delta.
static void check_add_rmsnorm(void) {
    const dy_view delta = new_view(3, 64, 66, 1, true), w = new_view(1, 64, 64, 1, true);
    dy_view res_twin = new_view(3, 64, 65, 1, true), stored = copy_view(&res_twin), out_cpu = new_view(3, 64, 67, 1, false),
            out_twin = copy_view(&out_cpu), out_fused = copy_view(&out_cpu), res_fused = copy_view(&res_twin);
    for (int64_t r = 0; r < 3; r++)
        for (int64_t c = 0; c < 64; c++) ((float *)stored.data)[r * stored.stride + c] += at(&delta, r, c);
    dy_view sum = copy_view(&stored);  // the fp32 sums, before they are stored
    twin->add_rmsnorm(twin, &res_twin, &delta, &w, 1e-6f, &out_twin);
    expect("add_rmsnorm: the residual after += delta", &res_twin, &sum, true);
    for (int64_t r = 0; r < 3; r++)
        for (int64_t c = 0; c < 64; c++) ((float *)stored.data)[r * stored.stride + c] = dy_bf16_round(at(&sum, r, c));
    cpu->add_rmsnorm(cpu, &stored, NULL, &w, 1e-6f, &out_cpu);
    expect("add_rmsnorm: the norm of the stored residual", &out_twin, &out_cpu, true);
    // Normalising the unrounded sum instead gives other values: the order above is visible.
    cpu->add_rmsnorm(cpu, &res_fused, &delta, &w, 1e-6f, &out_fused);
    const comparison k = compare(&out_twin, &out_fused, true);
    check(k.mismatches > 0, "add_rmsnorm: %lld of 192 outputs differ from the norm of the unrounded sum",
          (long long)k.mismatches);
    // Without a delta (a pass's first layer) the residual is read alone.
    dy_view out2_cpu = copy_view(&out_cpu), out2_twin = copy_view(&out_cpu), res_before = copy_view(&res_twin);
    cpu->add_rmsnorm(cpu, &res_twin, NULL, &w, 1e-6f, &out2_cpu);
    twin->add_rmsnorm(twin, &res_twin, NULL, &w, 1e-6f, &out2_twin);
    expect("add_rmsnorm without delta", &out2_twin, &out2_cpu, true);
    check(compare(&res_twin, &res_before, false).mismatches == 0, "add_rmsnorm without delta leaves the residual");
    free_views((dy_view[]){delta, w, res_twin, stored, out_cpu, out_twin, out_fused, res_fused, sum, out2_cpu,
                           out2_twin, res_before},
               12);
}

static void check_matmul_and_lm_head(void) {
    const dy_view x = new_view(3, 37, 40, 1, true), w = new_view(20, 37, 39, 1, true);
    dy_view out_cpu = new_view(3, 20, 23, 1, false), out_twin = copy_view(&out_cpu);
    cpu->matmul(cpu, &x, &w, &out_cpu);
    twin->matmul(twin, &x, &w, &out_twin);
    expect("matmul (3, 37) @ (20, 37)^T", &out_twin, &out_cpu, true);
    const dy_view last = dy_view_rows(&x, 2, 1), head = new_view(50, 37, 37, 1, true);
    dy_view logits_cpu = new_view(1, 50, 50, 1, false), logits_twin = copy_view(&logits_cpu);
    cpu->lm_head(cpu, &last, &head, &logits_cpu);
    twin->lm_head(twin, &last, &head, &logits_twin);
    expect("lm_head (1, 37) @ (50, 37)^T: fp32 logits", &logits_twin, &logits_cpu, false);
    free_views((dy_view[]){x, w, out_cpu, out_twin, head, logits_cpu, logits_twin}, 7);
}

enum { HEADS = 4, KV_HEADS = 2, HEAD_DIM = 32, MAX_CTX = 16 };

// Qwen3 (normalise, q/k norm weights) or Llama (RoPE alone) inputs of 3 rows at positions 5..7:
// q and k rotated in place, the K/V rows written to caches that hold PAD elsewhere.
static void attention_inputs_case(bool normalise) {
    const int64_t q_cols = HEADS * HEAD_DIM, kv_cols = KV_HEADS * HEAD_DIM, cache = KV_HEADS * MAX_CTX;
    dy_view q_cpu = new_view(3, q_cols, q_cols + 3, 2, true), k_cpu = new_view(3, kv_cols, kv_cols + 1, 2, true);
    const dy_view v = new_view(3, kv_cols, kv_cols + 2, 2, true), q_norm = new_view(1, HEAD_DIM, HEAD_DIM, 1, true),
                  k_norm = new_view(1, HEAD_DIM, HEAD_DIM, 1, true);
    dy_view q_twin = copy_view(&q_cpu), k_twin = copy_view(&k_cpu), kc_cpu = new_view(cache, HEAD_DIM, HEAD_DIM, 1, true),
            vc_cpu = new_view(cache, HEAD_DIM, HEAD_DIM, 1, true);
    for (int64_t i = 0; i < cache * HEAD_DIM; i++) ((float *)kc_cpu.data)[i] = ((float *)vc_cpu.data)[i] = PAD;
    dy_view kc_twin = copy_view(&kc_cpu), vc_twin = copy_view(&vc_cpu);
    const int32_t positions[3] = {5, 6, 7};
    float inv_freq[HEAD_DIM / 2];
    for (int i = 0; i < HEAD_DIM / 2; i++) inv_freq[i] = powf(10000.0f, -2.0f * (float)i / HEAD_DIM);
    const dy_attention_inputs a = {.n_heads = HEADS, .n_kv_heads = KV_HEADS, .head_dim = HEAD_DIM, .eps = 1e-6f,
                             .normalise = normalise, .q_norm = normalise ? &q_norm : NULL,
                             .k_norm = normalise ? &k_norm : NULL, .positions = positions, .inv_freq = inv_freq,
                             .attn_factor = 1.0f, .max_ctx = MAX_CTX, .v = &v};
    dy_attention_inputs on_cpu = a, on_twin = a;
    on_cpu.q = &q_cpu;
    on_cpu.k = &k_cpu;
    on_cpu.k_cache = kc_cpu.data;
    on_cpu.v_cache = vc_cpu.data;
    on_twin.q = &q_twin;
    on_twin.k = &k_twin;
    on_twin.k_cache = kc_twin.data;
    on_twin.v_cache = vc_twin.data;
    cpu->attention_inputs(cpu, &on_cpu);
    twin->attention_inputs(twin, &on_twin);
    const char *kind = normalise ? "attention_inputs (q/k norm + RoPE)" : "attention_inputs (RoPE)";
    char what[160];
    snprintf(what, sizeof what, "%s: q", kind);
    expect(what, &q_twin, &q_cpu, true);
    snprintf(what, sizeof what, "%s: k", kind);
    expect(what, &k_twin, &k_cpu, true);
    // The cache rows at the three positions are k (rounded as stored) and v; all others keep PAD.
    int64_t k_mismatch = 0, v_mismatch = 0, untouched = 0;
    for (int64_t row = 0; row < cache; row++) {
        const int64_t pos = row % MAX_CTX;
        const bool written = pos >= 5 && pos <= 7;
        for (int64_t t = 0; t < HEAD_DIM; t++) {
            const float kt = at(&kc_twin, row, t), vt = at(&vc_twin, row, t);
            k_mismatch += bits(kt) != bits(written ? dy_bf16_round(at(&kc_cpu, row, t)) : PAD);
            v_mismatch += bits(vt) != bits(written ? at(&v, pos - 5, (row / MAX_CTX) * HEAD_DIM + t) : PAD);
            untouched += !written && bits(kt) == bits(PAD) && bits(vt) == bits(PAD);
        }
    }
    check(k_mismatch == 0 && v_mismatch == 0 && untouched == (cache - KV_HEADS * 3) * HEAD_DIM,
          "%s: the cache holds the rounded k and the v rows at positions 5..7 (%lld, %lld differ), PAD elsewhere",
          kind, (long long)k_mismatch, (long long)v_mismatch);
    free_views((dy_view[]){q_cpu, k_cpu, v, q_norm, k_norm, q_twin, k_twin, kc_cpu, vc_cpu, kc_twin, vc_twin}, 11);
}

// n_q queries ending at position 7 against bf16 caches, with a bias (one key masked) and the
// newest query's probabilities captured for heads 3 and 1.
static void attention_case(int n_q) {
    const int64_t cols = HEADS * HEAD_DIM, n_keys = 8;
    const dy_view q = new_view(n_q, cols, cols + 1, 2, true), k = new_view(KV_HEADS * MAX_CTX, HEAD_DIM, HEAD_DIM, 2, true),
                  v = new_view(KV_HEADS * MAX_CTX, HEAD_DIM, HEAD_DIM, 1, true),
                  bias = new_view(1, n_keys, n_keys, 1, false);
    ((float *)bias.data)[2] = -INFINITY;
    dy_view out_cpu = new_view(n_q, cols, cols + 2, 1, false), out_twin = copy_view(&out_cpu),
            capture_cpu = new_view(2, n_keys, n_keys, 1, false), capture_twin = copy_view(&capture_cpu);
    int32_t positions[8];
    for (int i = 0; i < n_q; i++) positions[i] = (int32_t)(n_keys - n_q + i);
    const int32_t heads[2] = {3, 1};
    const dy_attention_args a = {.q = &q, .k = k.data, .v = v.data, .max_ctx = MAX_CTX, .n_q = n_q, .positions = positions,
                           .n_keys = (int)n_keys, .n_heads = HEADS, .n_kv_heads = KV_HEADS, .head_dim = HEAD_DIM,
                           .scale = 1.0f / sqrtf(HEAD_DIM), .bias = bias.data, .n_capture = 2, .capture_heads = heads};
    dy_attention_args on_cpu = a, on_twin = a;
    on_cpu.out = &out_cpu;
    on_cpu.capture_out = capture_cpu.data;
    on_twin.out = &out_twin;
    on_twin.capture_out = capture_twin.data;
    cpu->attention(cpu, &on_cpu);
    twin->attention(twin, &on_twin);
    char what[120];
    snprintf(what, sizeof what, "attention, %d quer%s: the output", n_q, n_q == 1 ? "y" : "ies");
    expect(what, &out_twin, &out_cpu, true);
    snprintf(what, sizeof what, "attention, %d quer%s: fp32 captured probabilities", n_q, n_q == 1 ? "y" : "ies");
    expect(what, &capture_twin, &capture_cpu, false);
    free_views((dy_view[]){q, k, v, bias, out_cpu, out_twin, capture_cpu, capture_twin}, 8);
}

// The first inter columns of out as the twin must leave them: from the fp32 gate/up product
// (n, 2 * inter), rounded first where the GPU stores it (several rows, or a row the fused GEMV
// does not take), then SwiGLU.
static dy_view swiglu_reference(const dy_view *x, const dy_view *w, bool product_stored) {
    dy_view ref = new_view(x->rows, w->rows, w->rows, 1, false);
    cpu->matmul(cpu, x, w, &ref);
    if (product_stored)
        for (int64_t i = 0; i < ref.rows * ref.cols; i++) ((float *)ref.data)[i] = dy_bf16_round(((float *)ref.data)[i]);
    dy_cpu_swiglu_gate_up(&ref);
    return ref;
}

static void gate_up_swiglu_case(int n, int in, bool fused) {
    const int inter = 24;
    const dy_view x = new_view(n, in, in, 1, true), w = new_view(2 * inter, in, in, 1, true);
    dy_view out_twin = new_view(n, 2 * inter, 2 * inter, 1, false), ref = swiglu_reference(&x, &w, !fused),
            other = swiglu_reference(&x, &w, fused);
    twin->gate_up_swiglu(twin, &x, &w, &out_twin);
    dy_view half = out_twin, ref_half = ref;
    half.cols = ref_half.cols = inter;
    half.stride = ref_half.stride = 2 * inter;  // the scratch half is not compared
    char what[160];
    snprintf(what, sizeof what, "gate_up_swiglu (%d, %d): SwiGLU of the %s gate/up product", n, in,
             fused ? "unrounded (fused GEMV)" : "stored (rounded)");
    const comparison k = compare(&half, &ref_half, true);
    dy_view other_half = other;
    other_half.cols = inter;
    other_half.stride = 2 * inter;
    const comparison o = compare(&half, &other_half, true);
    check(k.mismatches == 0 && k.changed > 0 && o.mismatches > 0,
          "%s is the rounded SwiGLU (%lld of %d differ; %lld differ from the other rounding)", what,
          (long long)k.mismatches, n * inter, (long long)o.mismatches);
    free_views((dy_view[]){x, w, out_twin, ref, other}, 5);
}

// One token's top-2 renormalised routing as the shared op computes it (kernels/cpu/ops_mlp.c),
// from the fp32 router logits: softmax in double rounded to fp32, the two largest (ties to the
// lower index), weights renormalised over a double sum. chosen in ascending index order, the order
// in which the op adds the experts' outputs.
static void top2_routing(const float *logits, int n_experts, int chosen[2], float weights[2]) {
    double max = logits[0], sum = 0;
    for (int e = 1; e < n_experts; e++)
        if (logits[e] > max) max = logits[e];
    for (int e = 0; e < n_experts; e++) sum += exp(logits[e] - max);
    float p[16];
    for (int e = 0; e < n_experts; e++) p[e] = (float)(exp(logits[e] - max) / sum);
    int a = 0, b = -1;
    for (int e = 1; e < n_experts; e++)
        if (p[e] > p[a]) a = e;
    for (int e = 0; e < n_experts; e++)
        if (e != a && (b < 0 || p[e] > p[b])) b = e;
    const double picked = (double)p[a] + p[b];
    chosen[0] = a < b ? a : b;
    chosen[1] = a < b ? b : a;
    for (int k = 0; k < 2; k++) weights[k] = (float)(p[chosen[k]] / picked);
}

// Top-2 routing renormalised: each token's output is the weighted sum of its two experts' down
// products of the SwiGLU of the gate and up products, those three stored in bf16 as the GPU's MoE
// stores them, the down products and their weighted sum fp32 (the GPU's fp32 accumulator) until
// the output is stored. Rounding each down product before the sum gives other values, and so does
// rounding nothing until the end (the fp32 op's output rounded). The routing margins the twin
// records are the fp32 op's, bit for bit: the router logits stay fp32 on both.
static void check_moe(void) {
    enum { N = 5, HIDDEN = 64, INTER = 32, EXPERTS = 4 };
    const dy_view x = new_view(N, HIDDEN, HIDDEN, 1, true), router = new_view(EXPERTS, HIDDEN, HIDDEN, 1, true);
    dy_mlp_weights experts[EXPERTS];
    for (int e = 0; e < EXPERTS; e++)
        experts[e] = (dy_mlp_weights){new_view(INTER, HIDDEN, HIDDEN, 0.2f, true), new_view(INTER, HIDDEN, HIDDEN, 0.2f, true),
                                      new_view(HIDDEN, INTER, INTER, 0.2f, true)};
    dy_view out_twin = new_view(N, HIDDEN, HIDDEN, 1, false), out_cpu = copy_view(&out_twin),
            ref = new_view(N, HIDDEN, HIDDEN, 1, false), down_rounded = copy_view(&ref),
            logits = new_view(N, EXPERTS, EXPERTS, 1, false), gate_up = new_view(1, 2 * INTER, 2 * INTER, 1, false),
            down = new_view(1, HIDDEN, HIDDEN, 1, false);
    float margins_twin[N], margins_cpu[N];
    for (int t = 0; t < N; t++) margins_twin[t] = margins_cpu[t] = INFINITY;
    twin->moe_record_margins(twin, margins_twin);
    cpu->moe_record_margins(cpu, margins_cpu);
    twin->moe(twin, &x, &router, experts, EXPERTS, 2, true, &out_twin);
    cpu->moe(cpu, &x, &router, experts, EXPERTS, 2, true, &out_cpu);
    twin->moe_record_margins(twin, NULL);
    cpu->moe_record_margins(cpu, NULL);
    cpu->matmul(cpu, &x, &router, &logits);
    int used = 0;
    for (int t = 0; t < N; t++) {
        int chosen[2];
        float weight[2];
        top2_routing((const float *)logits.data + t * EXPERTS, EXPERTS, chosen, weight);
        float *r = (float *)ref.data + t * HIDDEN, *rr = (float *)down_rounded.data + t * HIDDEN;
        for (int c = 0; c < HIDDEN; c++) r[c] = rr[c] = 0.0f;
        const dy_view row = dy_view_rows(&x, t, 1);
        for (int k = 0; k < 2; k++) {
            const dy_mlp_weights *ex = &experts[chosen[k]];
            used |= 1 << chosen[k];
            dy_view gate = gate_up, up = gate_up;
            gate.cols = up.cols = INTER;
            up.data = (float *)gate_up.data + INTER;
            cpu->matmul(cpu, &row, &ex->gate, &gate);
            cpu->matmul(cpu, &row, &ex->up, &up);
            for (int i = 0; i < 2 * INTER; i++) ((float *)gate_up.data)[i] = dy_bf16_round(((float *)gate_up.data)[i]);
            dy_cpu_swiglu_gate_up(&gate_up);
            for (int i = 0; i < INTER; i++) ((float *)gate_up.data)[i] = dy_bf16_round(((float *)gate_up.data)[i]);
            cpu->matmul(cpu, &gate, &ex->down, &down);
            for (int c = 0; c < HIDDEN; c++) {
                const float d = ((const float *)down.data)[c];
                r[c] += d * weight[k];
                rr[c] += dy_bf16_round(d) * weight[k];
            }
        }
    }
    const comparison k = compare(&out_twin, &ref, true), unrounded = compare(&out_twin, &out_cpu, true),
                     early = compare(&out_twin, &down_rounded, true);
    check(k.mismatches == 0 && k.changed > 0 && unrounded.mismatches > 0 && early.mismatches > 0 &&
              used != 3 && used != 5 && used != 6 && used != 9 && used != 10 && used != 12,
          "moe top-2 of %d experts (experts used: mask %x): the rounded weighted sum of fp32 down products of the "
          "stored gate/up/SwiGLU values (%lld of %d differ; %lld differ from the fp32 op's output rounded, %lld from "
          "the sum of rounded down products)",
          EXPERTS, used, (long long)k.mismatches, N * HIDDEN, (long long)unrounded.mismatches,
          (long long)early.mismatches);
    int margins_differ = 0, margins_finite = 0;
    for (int t = 0; t < N; t++) {
        margins_differ += bits(margins_twin[t]) != bits(margins_cpu[t]);
        margins_finite += isfinite(margins_twin[t]) && margins_twin[t] > 0;
    }
    check(margins_differ == 0 && margins_finite == N,
          "moe routing margins: the twin records the fp32 op's (%d of %d differ; %d finite and > 0)", margins_differ, N,
          margins_finite);
    for (int e = 0; e < EXPERTS; e++) free_views((dy_view[]){experts[e].gate, experts[e].up, experts[e].down}, 3);
    free_views((dy_view[]){x, router, out_twin, out_cpu, ref, down_rounded, logits, gate_up, down}, 9);
}

// ---- the model -------------------------------------------------------------------------------

enum { PROMPT = 24, STEPS = 24, VOCAB = 1024 };

// Logits of the prompt's last position, then of STEPS teacher-forced steps: (STEPS + 1, VOCAB).
static float *teacher_forced_logits(dy_model *m, const int32_t *tokens) {
    float *logits = xmalloc((size_t)(STEPS + 1) * VOCAB * sizeof(float));
    dy_error err;
    const dy_forward_opts first = {.logits = logits};
    if (dy_model_forward(m, tokens, PROMPT, 0, &first, &err)) setup_die(err.msg);
    for (int s = 1; s <= STEPS; s++) {
        const dy_forward_opts step = {.logits = logits + (size_t)s * VOCAB};
        if (dy_model_forward(m, tokens + PROMPT + s - 1, 1, PROMPT + s - 1, &step, &err)) setup_die(err.msg);
    }
    return logits;
}

// A bf16 checkpoint (as make-model writes by default), so both backends hold the same weights:
// four layers of bf16 activation and KV storage move a random-weight model's logits by about
// 0.6% (measured 0.58-0.62% here; the GPU's own error against the CPU is 0.56% on the dense
// presets, 1.1% on the MoE one, tests/gpu/test_cuda_ops.c), far more than fp32 arithmetic could
// and within 1e-2; and the logits themselves stay fp32 (most are no bf16 values).
static void check_model(const char *preset) {
    dy_model_config cfg;
    load_preset(preset, &cfg, VOCAB);
    char *json = preset_json(preset, VOCAB), *dir = make_temp_dir("cpu-bf16");
    write_checkpoint(dir, json, &cfg, DY_BF16, 1ull << 40, 7);
    dy_checkpoint ck;
    dy_model mc, mt;
    dy_error err;
    if (dy_checkpoint_open(dir, &ck, &err) || dy_model_load(&mc, cpu, &ck, PROMPT + STEPS, PROMPT, &err) ||
        dy_model_load(&mt, twin, &ck, PROMPT + STEPS, PROMPT, &err))
        setup_die(err.msg);
    int32_t tokens[PROMPT + STEPS];
    for (int i = 0; i < PROMPT + STEPS; i++) tokens[i] = (int32_t)((i * 7919 + 13) % VOCAB);
    float *fp32 = teacher_forced_logits(&mc, tokens), *bf16 = teacher_forced_logits(&mt, tokens);
    const int n = (STEPS + 1) * VOCAB;
    int not_bf16 = 0;
    for (int i = 0; i < n; i++) not_bf16 += !is_bf16(bf16[i]);
    const double e = logits_rel_error(bf16, fp32, n);
    check(e > 1e-3 && e < 1e-2 && not_bf16 > n / 2,
          "%s: cpu-bf16 logits relative error %.3g from cpu's over the prompt and %d steps; %d of %d are fp32 values",
          preset, e, STEPS, not_bf16, n);
    free(fp32);
    free(bf16);
    dy_model_free(&mc);
    dy_model_free(&mt);
    dy_checkpoint_close(&ck);
    rm_rf(dir);
    free(dir);
    free(json);
}

int main(void) {
    dy_error err;
    cpu = dy_backend_create("cpu", 0, &err);
    twin = dy_backend_create("cpu-bf16", 0, &err);
    const dy_op_limits limits = {.max_rows = 8, .hidden = 64, .intermediate = 32, .n_experts = 4,
                                 .experts_per_token = 2, .n_heads = HEADS, .head_dim = HEAD_DIM, .vocab = 64};
    if (!cpu || !twin || cpu->prepare(cpu, &limits) || twin->prepare(twin, &limits)) setup_die("CPU backends");
    check(strcmp(twin->name, "cpu-bf16") == 0 && twin->act_dtype == DY_F32, "backend \"%s\" stores fp32 memory",
          twin->name);
    check_rounding();
    check_upload_weight();
    check_embedding();
    check_add_rmsnorm();
    check_matmul_and_lm_head();
    attention_inputs_case(true);
    attention_inputs_case(false);
    attention_case(3);
    attention_case(1);
    gate_up_swiglu_case(1, 64, true);
    gate_up_swiglu_case(3, 64, false);
    gate_up_swiglu_case(1, 37, false);  // a row the GPU's GEMV does not take (37 is no multiple of 8)
    check_moe();
    check_model("tiny-qwen3");
    check_model("tiny-llama");
    check_model("tiny-qwen3-moe");
    cpu->destroy(cpu);
    twin->destroy(twin);
    return check_summary();
}

// The dense MLP's gate/up product with SwiGLU, and the Qwen3-MoE sparse block following
// transformers' Qwen3MoeSparseMoeBlock: fp32 softmax over the router logits, top-k, optional
// renormalisation, then each chosen expert in ascending index order adds
// weight * down(silu(gate x) * up x) to its tokens' outputs.
#include <assert.h>
#include <math.h>
#include <string.h>

#include "kernels/moe_route.h"
#include "ops_cpu.h"
#include "scratch.h"

// torch's fp32 silu: x / (1 + exp(-x)).
static float silu(float x) { return x / (1.0f + expf(-x)); }

// out = silu(gate) * up, elementwise; out may be gate itself.
static void swiglu(const dy_view *gate, const dy_view *up, dy_view *out) {
    assert(gate->rows == out->rows && up->rows == out->rows && gate->cols == out->cols && up->cols == out->cols);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < out->rows; r++) {
        const float *g = (const float *)gate->data + r * gate->stride, *u = (const float *)up->data + r * up->stride;
        float *o = (float *)out->data + r * out->stride;
        for (int64_t c = 0; c < out->cols; c++) o[c] = silu(g[c]) * u[c];
    }
}

void dy_cpu_swiglu_gate_up(dy_view *gate_up) {
    assert(gate_up->cols % 2 == 0);
    const int64_t inter = gate_up->cols / 2;
    dy_view gate = *gate_up, up = *gate_up;
    gate.cols = up.cols = inter;
    up.data = (float *)gate_up->data + inter;
    swiglu(&gate, &up, &gate);
}

void dy_cpu_gate_up_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    assert(out->cols == w->rows && w->rows % 2 == 0);
    dy_cpu_matmul(b, x, w, out);
    dy_cpu_swiglu_gate_up(out);
}

// n values the MoE block keeps between its own steps, stored as the backend stores them: in bf16
// on the bf16-storage twin, as the CUDA op's expert gate, up and SwiGLU buffers hold them.
static void store_intermediate(dy_backend *b, float *values, int64_t n) {
    if (!((dy_cpu_impl *)b->impl)->bf16_storage) return;
    for (int64_t i = 0; i < n; i++) values[i] = dy_bf16_round(values[i]);
}

// One token: logits (n_experts) become fp32 probabilities in place (softmax in double), the
// experts_per_token largest are chosen (kernels/moe_route.h: ties to the lower index), and their
// weights optionally renormalised over a double sum. Returns the routing margin
// (dy_backend.moe_record_margins): the last chosen probability minus the largest one left, before
// renormalisation; INFINITY when every expert is chosen.
static float route(float *logits, int n_experts, int experts_per_token, bool norm_topk, int32_t *chosen, float *weights) {
    double max = logits[0], sum = 0;
    for (int e = 1; e < n_experts; e++)
        if (logits[e] > max) max = logits[e];
    for (int e = 0; e < n_experts; e++) sum += exp(logits[e] - max);
    for (int e = 0; e < n_experts; e++) logits[e] = (float)(exp(logits[e] - max) / sum);
    dy_moe_choose(logits, n_experts, experts_per_token, chosen, weights);
    float left = -INFINITY;  // the chosen probabilities are now -1, below every other
    for (int e = 0; e < n_experts; e++)
        if (logits[e] > left) left = logits[e];
    const float margin = experts_per_token < n_experts ? weights[experts_per_token - 1] - left : INFINITY;
    if (norm_topk) {
        double picked = 0;
        for (int k = 0; k < experts_per_token; k++) picked += weights[k];
        for (int k = 0; k < experts_per_token; k++) weights[k] = (float)(weights[k] / picked);
    }
    return margin;
}

// Scratch for n tokens: router probabilities (n, n_experts), choices and weights (n, experts_per_token), the
// token list of one expert (n), its gathered rows (n, hidden), gate and up (n, inter), down (n, hidden).
typedef struct {
    float *probs, *weights, *xs, *gate, *up, *down, *token_weight;
    int32_t *chosen, *tokens;
} moe_scratch;

static float *take(float **cursor, int64_t count) {
    float *p = *cursor;
    *cursor += count;
    return p;
}

size_t dy_cpu_moe_scratch_bytes(int64_t n, int64_t hidden, int64_t inter, int n_experts, int experts_per_token) {
    const int64_t floats = n * (n_experts + experts_per_token + 2 * hidden + 2 * inter + 1), ints = n * (experts_per_token + 1);
    return (size_t)(floats + ints) * sizeof(float);  // int32 and fp32 are both 4 bytes
}

static moe_scratch carve(dy_backend *b, int64_t n, int64_t hidden, int64_t inter, int n_experts, int experts_per_token) {
    float *f = dy_cpu_scratch(b, dy_cpu_moe_scratch_bytes(n, hidden, inter, n_experts, experts_per_token));
    moe_scratch s;
    s.probs = take(&f, n * n_experts);
    s.weights = take(&f, n * experts_per_token);
    s.xs = take(&f, n * hidden);
    s.gate = take(&f, n * inter);
    s.up = take(&f, n * inter);
    s.down = take(&f, n * hidden);
    s.token_weight = take(&f, n);
    s.chosen = (int32_t *)f;
    s.tokens = s.chosen + n * experts_per_token;
    return s;
}

void dy_cpu_moe(dy_backend *b, const dy_view *x, const dy_view *router, const dy_mlp_weights *experts, int n_experts,
                int experts_per_token, bool norm_topk, dy_view *out) {
    const int64_t n = x->rows, hidden = x->cols, inter = experts[0].gate.rows;
    assert(router->rows == n_experts && router->cols == hidden && out->rows == n && out->cols == hidden);
    assert(experts_per_token >= 1 && experts_per_token <= n_experts);
    moe_scratch s = carve(b, n, hidden, inter, n_experts, experts_per_token);

    float *margins = ((dy_cpu_impl *)b->impl)->moe_margins;
    dy_cpu_matmul_rows(x->data, x->stride, router->data, router->stride, s.probs, n_experts, n, hidden, n_experts);
    for (int64_t t = 0; t < n; t++) {
        const float margin = route(s.probs + t * n_experts, n_experts, experts_per_token, norm_topk,
                                   s.chosen + t * experts_per_token, s.weights + t * experts_per_token);
        if (margins && margin < margins[t]) margins[t] = margin;
    }
    for (int64_t t = 0; t < n; t++) memset((float *)out->data + t * out->stride, 0, (size_t)hidden * sizeof(float));

    for (int e = 0; e < n_experts; e++) {
        int64_t m = 0;  // tokens routed to e, gathered into xs
        for (int64_t t = 0; t < n; t++)
            for (int k = 0; k < experts_per_token; k++)
                if (s.chosen[t * experts_per_token + k] == e) {
                    s.tokens[m] = (int32_t)t;
                    s.token_weight[m] = s.weights[t * experts_per_token + k];
                    memcpy(s.xs + m * hidden, (const float *)x->data + t * x->stride, (size_t)hidden * sizeof(float));
                    m++;
                }
        if (m == 0) continue;
        const dy_mlp_weights *w = &experts[e];
        dy_cpu_matmul_rows(s.xs, hidden, w->gate.data, w->gate.stride, s.gate, inter, m, hidden, inter);
        dy_cpu_matmul_rows(s.xs, hidden, w->up.data, w->up.stride, s.up, inter, m, hidden, inter);
        store_intermediate(b, s.gate, m * inter);
        store_intermediate(b, s.up, m * inter);
        for (int64_t i = 0; i < m * inter; i++) s.gate[i] = silu(s.gate[i]) * s.up[i];
        store_intermediate(b, s.gate, m * inter);  // the down product's input; its output stays fp32 (the GPU's too)
        dy_cpu_matmul_rows(s.gate, inter, w->down.data, w->down.stride, s.down, hidden, m, inter, hidden);
        for (int64_t i = 0; i < m; i++) {
            float *o = (float *)out->data + s.tokens[i] * out->stride;
            for (int64_t c = 0; c < hidden; c++) o[c] += s.down[i * hidden + c] * s.token_weight[i];
        }
    }
}

void dy_cpu_moe_record_margins(dy_backend *b, float *margins) { ((dy_cpu_impl *)b->impl)->moe_margins = margins; }

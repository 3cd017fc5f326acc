// The CPU backend with bf16 storage: see bf16_storage_backend.h. It wraps the CPU backend's
// vtable and shares its impl (scratch), so the CPU ops run unchanged with this backend as their
// `b`; each wrapper runs the CPU op, then rounds what the op stored.
#include "bf16_storage_backend.h"

#include <stdlib.h>

#include "test_util.h"

typedef struct {
    dy_backend base;  // first: ops receive &base
    dy_backend *cpu;  // the wrapped CPU backend, whose ops and impl do the work
    int64_t logits_cols;
} bf16_storage_backend;

static bf16_storage_backend *self(dy_backend *b) { return (bf16_storage_backend *)b; }

static float round_bf16(float v) { return dy_bf16_to_f32(dy_f32_to_bf16(v)); }

static void round_floats(float *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = round_bf16(p[i]);
}

static void round_cols(const dy_view *v, int64_t cols) {
    for (int64_t r = 0; r < v->rows; r++) round_floats((float *)v->data + r * v->stride, cols);
}

static void round_view(const dy_view *v) { round_cols(v, v->cols); }

static void upload_weight(dy_backend *b, const dy_view *dst, const float *host_src) {
    const int64_t n = dst->rows * dst->cols;
    float *rounded = xmalloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) rounded[i] = round_bf16(host_src[i]);
    self(b)->cpu->upload_weight(b, dst, rounded);
    free(rounded);
}

static void destroy(dy_backend *b) {
    dy_backend *cpu = self(b)->cpu;
    free(b);
    cpu->destroy(cpu);
}

static void embedding(dy_backend *b, const dy_view *table, const int32_t *ids, dy_view *out) {
    self(b)->cpu->embedding(b, table, ids, out);
    round_view(out);
}

// The sum is stored in bf16 first and the norm reads the stored residual.
static void add_rmsnorm(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                        dy_view *out) {
    for (int64_t r = 0; delta && r < residual->rows; r++) {
        float *x = (float *)residual->data + r * residual->stride;
        const float *d = (const float *)delta->data + r * delta->stride;
        for (int64_t c = 0; c < residual->cols; c++) x[c] = round_bf16(x[c] + d[c]);
    }
    self(b)->cpu->add_rmsnorm(b, residual, NULL, w, eps, out);
    round_view(out);
}

static void matmul(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    self(b)->cpu->matmul(b, x, w, out);
    if (out->cols != self(b)->logits_cols) round_view(out);
}

static void attention_inputs(dy_backend *b, const dy_attention_inputs *a) {
    self(b)->cpu->attention_inputs(b, a);
    if (a->n_heads) round_cols(a->q, (int64_t)a->n_heads * a->head_dim);
    if (!a->n_kv_heads) return;
    round_cols(a->k, (int64_t)a->n_kv_heads * a->head_dim);
    // The cache got the k rows before this rounding; v rows are copies of (already rounded) v.
    for (int64_t r = 0; r < a->k->rows; r++)
        for (int h = 0; h < a->n_kv_heads; h++)
            round_floats((float *)a->k_cache + ((int64_t)h * a->max_ctx + a->positions[r]) * a->head_dim,
                         a->head_dim);
}

static void attention(dy_backend *b, const dy_attention_args *a) {
    self(b)->cpu->attention(b, a);
    round_view(a->out);
}

static void gate_up_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    self(b)->cpu->gate_up_swiglu(b, x, w, out);
    round_cols(out, out->cols / 2);  // the SwiGLU half; the other is scratch
}

static void moe(dy_backend *b, const dy_view *x, const dy_view *router, const dy_mlp_weights *experts, int n_experts,
                int top_k, bool norm_topk, dy_view *out) {
    self(b)->cpu->moe(b, x, router, experts, n_experts, top_k, norm_topk, out);
    round_view(out);
}

dy_backend *bf16_storage_backend_create(int64_t logits_cols) {
    dy_backend *cpu = dy_backend_cpu_create();
    bf16_storage_backend *s = calloc(1, sizeof *s);
    if (!cpu || !s) die("bf16 storage backend: out of memory");
    s->cpu = cpu;
    s->logits_cols = logits_cols;
    s->base = *cpu;
    s->base.name = "cpu-bf16";
    s->base.upload_weight = upload_weight;
    s->base.destroy = destroy;
    s->base.embedding = embedding;
    s->base.add_rmsnorm = add_rmsnorm;
    s->base.matmul = matmul;
    s->base.attention_inputs = attention_inputs;
    s->base.attention = attention;
    s->base.gate_up_swiglu = gate_up_swiglu;
    s->base.moe = moe;
    return &s->base;
}

#include "model.h"

#include <math.h>

#include "model_alloc.h"

// Capture buffers grow to the largest request seen (a DySCO head list; allocated once in practice).
static int reserve_capture(dy_model *m, int rows, dy_error *err) {
    if (rows <= m->capture_rows) return 0;
    m->capture = dy_model_alloc(m, (size_t)rows * (size_t)m->kv.max_ctx * sizeof(float));
    m->capture_heads = dy_model_alloc(m, (size_t)rows * sizeof(int32_t));
    if (!m->capture || !m->capture_heads)
        return dy_fail(err, "model: out of %s memory for attention capture", m->be->name);
    m->capture_rows = rows;
    return 0;
}

// Columns [c0, c0 + cols) of v's rows.
static dy_view columns(const dy_view *v, int64_t c0, int64_t cols) {
    dy_view c = *v;
    c.data = (char *)v->data + (size_t)c0 * dy_dtype_size(v->dtype);
    c.cols = cols;
    return c;
}

// The layers a pass runs (a speculative pass runs fewer) and its attention temperature.
static int layers_of(const dy_model *m, const dy_forward_opts *o) {
    return o->n_layers > 0 && o->n_layers < m->cfg.n_layers ? o->n_layers : m->cfg.n_layers;
}

static float temperature_of(const dy_forward_opts *o) { return o->temperature > 0 ? o->temperature : 1.0f; }

// n_keys: the keys of the newest query, or (a recorded step) the bound max_ctx.
static void attention_block(dy_model *m, int l, int n, int n_keys, const dy_forward_opts *o) {
    dy_backend *be = m->be;
    const dy_model_config *c = &m->cfg;
    const dy_layer_weights *w = &m->layers[l];
    void *k_cache = dy_kv_cache_k(&m->kv, l), *v_cache = dy_kv_cache_v(&m->kv, l);
    const int max_ctx = m->kv.max_ctx;
    const int64_t q_cols = (int64_t)c->n_heads * c->head_dim, kv_cols = (int64_t)c->n_kv_heads * c->head_dim;
    dy_view xn = dy_view_rows(&m->xn, 0, n), qkv = dy_view_rows(&m->qkv, 0, n), att = dy_view_rows(&m->att, 0, n),
            proj = dy_view_rows(&m->proj, 0, n);
    be->matmul(be, &xn, &w->qkv, &qkv);
    dy_view q = columns(&qkv, 0, q_cols), k = columns(&qkv, q_cols, kv_cols),
            v = columns(&qkv, q_cols + kv_cols, kv_cols);
    const bool qk_norm = c->arch != DY_ARCH_LLAMA;
    const dy_attention_inputs inputs = {
        .q = &q, .k = &k, .v = &v, .q_norm = qk_norm ? &w->q_norm : NULL, .k_norm = qk_norm ? &w->k_norm : NULL,
        .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads, .head_dim = c->head_dim, .eps = (float)c->rms_norm_eps,
        .normalise = qk_norm, .positions = m->positions, .inv_freq = m->inv_freq, .attn_factor = m->attn_factor,
        .k_cache = k_cache, .v_cache = v_cache, .max_ctx = max_ctx,
    };
    be->attention_inputs(be, &inputs);

    // The capture pairs of this layer, in the caller's order (the forward checked n_capture).
    int32_t heads[DY_MODEL_MAX_CAPTURE];
    int rows[DY_MODEL_MAX_CAPTURE], n_here = 0;
    for (int i = 0; i < o->n_capture; i++)
        if (o->capture_layer[i] == l) {
            heads[n_here] = o->capture_head[i];
            rows[n_here++] = i;
        }
    if (n_here) be->upload(be, m->capture_heads, heads, (size_t)n_here * sizeof(int32_t));
    dy_attention_args a = {
        .q = &q, .k = k_cache, .v = v_cache, .max_ctx = max_ctx, .n_q = n, .positions = m->positions,
        .n_keys = n_keys, .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads, .head_dim = c->head_dim,
        .scale = 1.0f / sqrtf((float)c->head_dim) / temperature_of(o), .bias = o->bias ? m->bias : NULL,
        .n_capture = n_here, .capture_heads = m->capture_heads, .capture_out = m->capture, .out = &att,
    };
    be->attention(be, &a);
    for (int i = 0; i < n_here; i++)
        be->download(be, o->capture_out + (size_t)rows[i] * (size_t)n_keys, m->capture + (size_t)i * (size_t)n_keys,
                     (size_t)n_keys * sizeof(float));
    be->matmul(be, &att, &w->o, &proj);
}

static void mlp_block(dy_model *m, int l, int n) {
    dy_backend *be = m->be;
    const dy_layer_weights *w = &m->layers[l];
    dy_view xn = dy_view_rows(&m->xn, 0, n), proj = dy_view_rows(&m->proj, 0, n);
    if (w->moe) {
        be->moe(be, &xn, &w->router, w->experts, m->cfg.n_experts, m->cfg.n_experts_per_tok, m->cfg.norm_topk_prob,
                &proj);
        return;
    }
    const int64_t inter = w->gate_up.rows / 2;
    dy_view gate_up = dy_view_rows(&m->gate_up, 0, n);
    gate_up.cols = 2 * inter;
    be->gate_up_swiglu(be, &xn, &w->gate_up, &gate_up);
    const dy_view act = columns(&gate_up, 0, inter);
    be->matmul(be, &act, &w->mlp.down, &proj);
}

// Every op of one pass over tokens already uploaded (ids, positions, bias): the layers, then
// the final norm and LM head of the last token into m->logits when logits is set.
static void run_ops(dy_model *m, int n, int n_keys, const dy_forward_opts *o, bool logits) {
    const dy_model_config *c = &m->cfg;
    dy_backend *be = m->be;
    dy_view x = dy_view_rows(&m->x, 0, n), xn = dy_view_rows(&m->xn, 0, n), proj = dy_view_rows(&m->proj, 0, n);
    be->embedding(be, &m->embed, m->ids, &x);
    for (int l = 0, layers = layers_of(m, o); l < layers; l++) {
        // The previous layer's MLP output joins the residual stream here, fused with the norm.
        be->add_rmsnorm(be, &x, l ? &proj : NULL, &m->layers[l].attn_norm, (float)c->rms_norm_eps, &xn);
        attention_block(m, l, n, n_keys, o);
        be->add_rmsnorm(be, &x, &proj, &m->layers[l].mlp_norm, (float)c->rms_norm_eps, &xn);
        mlp_block(m, l, n);
    }
    if (logits) {
        be->add_rmsnorm(be, &x, &proj, &m->final_norm, (float)c->rms_norm_eps, &xn);
        dy_view last = dy_view_rows(&xn, n - 1, 1);
        be->matmul(be, &last, &m->lm_head, &m->logits);
    }
}

// One-token steps without capture run as a recorded graph: the launch gaps between a few hundred
// small kernels are a large part of a decode step. A graph serves every position (the ops read
// the position on the device; attention is sized by the max_ctx bound) and is keyed by what
// changes the recorded ops. NULL when the backend cannot record (the step then runs directly).
static void *step_graph(dy_model *m, const dy_forward_opts *o, bool logits) {
    const int layers = layers_of(m, o);
    const float temperature = temperature_of(o);
    for (int i = 0; i < m->n_graphs; i++) {
        const struct dy_step_graph *g = &m->graphs[i];
        if (g->n_layers == layers && g->temperature == temperature && g->bias == (o->bias != NULL) &&
            g->logits == logits)
            return g->graph;
    }
    if (!m->be->graph_begin || m->n_graphs == DY_MODEL_MAX_STEP_GRAPHS) return NULL;
    m->be->graph_begin(m->be);
    run_ops(m, 1, m->kv.max_ctx, o, logits);
    void *graph = m->be->graph_end(m->be);
    if (graph) m->graphs[m->n_graphs++] = (struct dy_step_graph){layers, temperature, o->bias != NULL, logits, graph};
    return graph;
}

// The next token from the logits the LM head just wrote, chosen on the backend; only the
// 12-byte result comes back. (Not part of a recorded step: its parameters change every call.)
static void pick_next(dy_model *m, const dy_forward_opts *o) {
    m->be->pick(m->be, m->logits.data, m->cfg.vocab_size, o->pick, m->picked);
    m->be->download(m->be, o->picked, m->picked, sizeof *m->picked);
}

int dy_model_forward(dy_model *m, const int32_t *tokens, int n, int pos0, const dy_forward_opts *o, dy_error *err) {
    const dy_model_config *c = &m->cfg;
    dy_backend *be = m->be;
    if (n < 1 || n > m->max_chunk) return dy_fail(err, "model: %d tokens in one pass (1..%d)", n, m->max_chunk);
    if (pos0 < 0) return dy_fail(err, "model: position %d is before the start of the KV cache", pos0);
    if (pos0 > m->kv.max_ctx - n)  // not pos0 + n, which a huge pos0 would overflow
        return dy_fail(err, "model: position %lld is past the KV cache (%d positions)", (long long)pos0 + n - 1,
                       m->kv.max_ctx);
    const int ctx = pos0 + n;
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return dy_fail(err, "input: token id %d is outside the model's vocabulary (%d)", tokens[i], c->vocab_size);
    if (o->n_capture < 0 || o->n_capture > DY_MODEL_MAX_CAPTURE)
        return dy_fail(err, "model: %d capture pairs in one pass (0..%d)", o->n_capture, DY_MODEL_MAX_CAPTURE);
    for (int i = 0; i < o->n_capture; i++)
        if (o->capture_layer[i] < 0 || o->capture_layer[i] >= c->n_layers || o->capture_head[i] < 0 ||
            o->capture_head[i] >= c->n_heads)
            return dy_fail(err, "model: capture pair (%d, %d) out of range", o->capture_layer[i], o->capture_head[i]);
    if (reserve_capture(m, o->n_capture, err)) return -1;

    int32_t positions[n];  // n <= max_chunk, a prefill chunk
    for (int i = 0; i < n; i++) positions[i] = pos0 + i;
    be->upload(be, m->ids, tokens, (size_t)n * sizeof(int32_t));
    be->upload(be, m->positions, positions, (size_t)n * sizeof(int32_t));
    if (o->bias) be->upload(be, m->bias, o->bias, (size_t)ctx * sizeof(float));

    const bool logits = o->logits || o->pick;
    void *graph = n == 1 && o->n_capture == 0 ? step_graph(m, o, logits) : NULL;
    if (graph) be->graph_launch(be, graph);
    else run_ops(m, n, ctx, o, logits);
    if (o->logits) be->download(be, o->logits, m->logits.data, (size_t)c->vocab_size * sizeof(float));
    if (o->pick) pick_next(m, o);
    return 0;
}

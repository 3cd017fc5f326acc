#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_alloc.h"
#include "parallel/tp_pick.h"

// Capture buffers grow to the largest request seen (a DySCO head list; allocated once in practice).
static int reserve_capture(dy_model *m, int rows, dy_error *err) {
    if (!m->capture_first && !(m->capture_first = calloc((size_t)m->cfg.n_layers + 1, sizeof(int))))
        return dy_fail(err, "model: out of memory");
    if (rows <= m->capture_rows) return 0;
    m->capture = dy_model_alloc(m, (size_t)rows * (size_t)m->kv.max_ctx * sizeof(float));
    m->capture_heads = dy_model_alloc(m, (size_t)rows * sizeof(int32_t));
    if (!m->capture || !m->capture_heads)
        return dy_fail(err, "model: out of %s memory for attention capture", m->be->name);
    m->capture_rows = rows;
    return 0;
}

int dy_model_set_capture(dy_model *m, int n, const int *layer, const int *head, dy_error *err) {
    const dy_model_config *c = &m->cfg;
    if (n < 0 || n > DY_MODEL_MAX_CAPTURE)
        return dy_fail(err, "model: %d capture pairs in one pass (0..%d)", n, DY_MODEL_MAX_CAPTURE);
    for (int i = 0; i < n; i++)
        if (layer[i] < 0 || layer[i] >= c->n_layers || head[i] < 0 || head[i] >= c->n_heads)
            return dy_fail(err, "model: capture pair (%d, %d) out of range", layer[i], head[i]);
    if (reserve_capture(m, n, err)) return -1;
    // This rank's pairs (under tensor parallelism the heads it holds, as its local head index),
    // grouped by layer: a counting sort, stable, so the caller's order stays within a layer.
    const int h0 = m->shard.n_heads * m->shard.rank;
    bool owned[DY_MODEL_MAX_CAPTURE];
    int32_t heads[DY_MODEL_MAX_CAPTURE];
    int *first = m->capture_first;
    memset(first, 0, ((size_t)c->n_layers + 1) * sizeof *first);
    for (int i = 0; i < n; i++) {
        owned[i] = head[i] >= h0 && head[i] < h0 + m->shard.n_heads;
        first[layer[i] + 1] += owned[i];
    }
    for (int l = 0; l < c->n_layers; l++) first[l + 1] += first[l];
    int next[c->n_layers];
    memcpy(next, first, sizeof next);
    for (int i = 0; i < n; i++) {
        if (!owned[i]) continue;
        const int row = next[layer[i]]++;
        heads[row] = head[i] - h0;
        m->capture_order[row] = i;
    }
    m->n_capture = n;
    m->n_capture_owned = first[c->n_layers];
    m->be->upload(m->be, m->capture_heads, heads, (size_t)m->n_capture_owned * sizeof(int32_t));
    return 0;
}

// A partial sum of the ranks' shards (rows of a contiguous view) becomes the whole on every rank.
// At one process it is the communicator's identity, unless that is NCCL's (TP1 through NCCL).
static void all_reduce(dy_model *m, dy_view *v) {
    dy_comm *c = m->shard.comm;
    if (!c) return;
    assert(v->stride == v->cols);
    c->all_reduce_sum(c, v->data, (size_t)(v->rows * v->cols), v->dtype);
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
// Whether the pass adds m->bias to the logits (uploaded from the host, or left by a backend op).
static bool has_bias(const dy_forward_opts *o) { return o->bias != NULL || o->bias_on_device; }

// n_keys: the keys of the newest query, or (a recorded step) the bound max_ctx. project: whether
// the heads' output is projected back into the residual stream (false where nothing reads it).
static void attention_block(dy_model *m, int l, int n, int n_keys, const dy_forward_opts *o, bool project) {
    dy_backend *be = m->be;
    const dy_model_config *c = &m->cfg;
    const dy_layer_weights *w = &m->layers[l];
    void *k_cache = dy_kv_cache_k(&m->kv, l), *v_cache = dy_kv_cache_v(&m->kv, l);
    const int max_ctx = m->kv.max_ctx;
    const int n_heads = m->shard.n_heads, n_kv_heads = m->shard.n_kv_heads;  // this rank's
    const int64_t q_cols = (int64_t)n_heads * c->head_dim, kv_cols = (int64_t)n_kv_heads * c->head_dim;
    dy_view xn = dy_view_rows(&m->xn, 0, n), qkv = dy_view_rows(&m->qkv, 0, n), att = dy_view_rows(&m->att, 0, n),
            proj = dy_view_rows(&m->proj, 0, n);
    be->matmul(be, &xn, &w->qkv, &qkv);
    dy_view q = columns(&qkv, 0, q_cols), k = columns(&qkv, q_cols, kv_cols),
            v = columns(&qkv, q_cols + kv_cols, kv_cols);
    const bool qk_norm = c->arch != DY_ARCH_LLAMA;
    const dy_attention_inputs inputs = {
        .q = &q, .k = &k, .v = &v, .q_norm = qk_norm ? &w->q_norm : NULL, .k_norm = qk_norm ? &w->k_norm : NULL,
        .n_heads = n_heads, .n_kv_heads = n_kv_heads, .head_dim = c->head_dim, .eps = (float)c->rms_norm_eps,
        .normalise = qk_norm, .positions = m->positions, .inv_freq = m->inv_freq, .attn_factor = m->attn_factor,
        .k_cache = k_cache, .v_cache = v_cache, .max_ctx = max_ctx,
    };
    be->attention_inputs(be, &inputs);

    // This layer's capture rows (dy_model_set_capture grouped them), at stride n_keys.
    const int first = o->n_capture ? m->capture_first[l] : 0, n_here = o->n_capture ? m->capture_first[l + 1] - first : 0;
    // (No offset into the capture buffers before a capture allocated them.)
    int32_t *capture_heads = n_here ? m->capture_heads + first : NULL;
    float *capture_out = n_here ? m->capture + (size_t)first * (size_t)n_keys : NULL;
    dy_attention_args a = {
        .q = &q, .k = k_cache, .v = v_cache, .max_ctx = max_ctx, .n_q = n, .positions = m->positions,
        .n_keys = n_keys, .n_heads = n_heads, .n_kv_heads = n_kv_heads, .head_dim = c->head_dim,
        .scale = 1.0f / sqrtf((float)c->head_dim) / temperature_of(o),
        .bias = has_bias(o) ? m->bias : NULL, .n_capture = n_here,
        .capture_heads = capture_heads, .capture_out = capture_out, .out = &att,
    };
    be->attention(be, &a);
    if (!project) return;
    be->matmul(be, &att, &w->o, &proj);
    all_reduce(m, &proj);
}

static void mlp_block(dy_model *m, int l, int n) {
    dy_backend *be = m->be;
    const dy_layer_weights *w = &m->layers[l];
    dy_view xn = dy_view_rows(&m->xn, 0, n), proj = dy_view_rows(&m->proj, 0, n);
    if (w->moe) {
        be->moe(be, &xn, &w->router, w->experts, m->cfg.n_experts, m->cfg.n_experts_per_tok, m->cfg.norm_topk_prob,
                &proj);
        all_reduce(m, &proj);
        return;
    }
    const int64_t inter = w->gate_up.rows / 2;
    dy_view gate_up = dy_view_rows(&m->gate_up, 0, n);
    gate_up.cols = 2 * inter;
    be->gate_up_swiglu(be, &xn, &w->gate_up, &gate_up);
    const dy_view act = columns(&gate_up, 0, inter);
    be->matmul(be, &act, &w->mlp.down, &proj);
    all_reduce(m, &proj);
}

// Every op of one pass over tokens already uploaded (ids, positions, bias): the layers, then
// the final norm and LM head of the last token into m->logits when logits is set.
static void run_ops(dy_model *m, int n, int n_keys, const dy_forward_opts *o, bool logits) {
    const dy_model_config *c = &m->cfg;
    dy_backend *be = m->be;
    dy_view x = dy_view_rows(&m->x, 0, n), xn = dy_view_rows(&m->xn, 0, n), proj = dy_view_rows(&m->proj, 0, n);
    be->embedding(be, &m->embed, m->ids, &x);
    all_reduce(m, &x);
    const int layers = layers_of(m, o);
    // A pass that stops early without logits (DySCO's speculative pass) is read only through its
    // last layer's attention capture: that layer's output projection and MLP are never read, so
    // they are not run (in Qwen3-8B 87% of a layer's weights; every rank skips them alike).
    const bool tail_read = logits || layers == c->n_layers;
    for (int l = 0; l < layers; l++) {
        const bool output_read = tail_read || l < layers - 1;
        // The previous layer's MLP output joins the residual stream here, fused with the norm.
        be->add_rmsnorm(be, &x, l ? &proj : NULL, &m->layers[l].attn_norm, (float)c->rms_norm_eps, &xn);
        attention_block(m, l, n, n_keys, o, output_read);
        if (!output_read) break;
        be->add_rmsnorm(be, &x, &proj, &m->layers[l].mlp_norm, (float)c->rms_norm_eps, &xn);
        mlp_block(m, l, n);
    }
    if (logits) {
        be->add_rmsnorm(be, &x, &proj, &m->final_norm, (float)c->rms_norm_eps, &xn);
        dy_view last = dy_view_rows(&xn, n - 1, 1), logits_here = m->logits;
        logits_here.cols = logits_here.stride = m->shard.vocab;  // this rank's slice of the vocabulary
        be->lm_head(be, &last, &m->lm_head, &logits_here);
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
        if (g->n_layers == layers && g->temperature == temperature && g->bias == has_bias(o) &&
            g->logits == logits)
            return g->graph;
    }
    if (!m->be->graph_begin || m->n_graphs == DY_MODEL_MAX_STEP_GRAPHS) return NULL;
    m->be->graph_begin(m->be);
    run_ops(m, 1, m->kv.max_ctx, o, logits);
    void *graph = m->be->graph_end(m->be);
    if (graph)
        m->graphs[m->n_graphs++] = (struct dy_step_graph){layers, temperature, has_bias(o), logits, graph};
    return graph;
}

// Not part of a recorded step: its parameters change every call. Under tensor parallelism the
// ranks choose together from their vocabulary slices (parallel/tp_pick.h) on the host: the
// slice comes down (a copy on the CPU backend, vocab / tp floats from a GPU).
void dy_model_pick(dy_model *m, const dy_pick_params *p, dy_pick *out) {
    const dy_model_shard *s = &m->shard;
    if (s->tp > 1) {
        m->be->download(m->be, m->host_logits, m->logits.data, (size_t)s->vocab * sizeof(float));
        dy_tp_pick(s->comm->host, m->host_logits, s->vocab0, (int)s->vocab, p, out);
        return;
    }
    m->be->pick(m->be, m->logits.data, m->cfg.vocab_size, p, m->picked);
    m->be->download(m->be, out, m->picked, sizeof *m->picked);
}

static int check_token(const dy_model *m, int32_t t, dy_error *err) {
    return t < 0 || t >= m->cfg.vocab_size
               ? dy_fail(err, "input: token id %d is outside the model's vocabulary (%d)", t, m->cfg.vocab_size)
               : 0;
}

static int check_positions(const dy_model *m, int n, int pos0, dy_error *err) {
    if (n < 1 || n > m->max_chunk) return dy_fail(err, "model: %d tokens in one pass (1..%d)", n, m->max_chunk);
    if (pos0 < 0) return dy_fail(err, "model: position %d is before the start of the KV cache", pos0);
    if (pos0 > m->kv.max_ctx - n)  // not pos0 + n, which a huge pos0 would overflow
        return dy_fail(err, "model: position %lld is past the KV cache (%d positions)", (long long)pos0 + n - 1,
                       m->kv.max_ctx);
    return 0;
}

// The ids of a pass as this rank's embedding rows: under tensor parallelism an id another rank
// owns reads the zero row after this rank's (model_load.c), so the all-reduce of the lookups is
// the embedding.
static void upload_ids(dy_model *m, const int32_t *tokens, int n) {
    const dy_model_shard *s = &m->shard;
    if (s->tp == 1) {
        m->be->upload(m->be, m->ids, tokens, (size_t)n * sizeof(int32_t));
        return;
    }
    int32_t local[n];  // n <= max_chunk, a prefill chunk
    for (int i = 0; i < n; i++)
        local[i] = tokens[i] >= s->vocab0 && tokens[i] < s->vocab0 + s->vocab ? (int32_t)(tokens[i] - s->vocab0)
                                                                             : (int32_t)s->vocab;
    m->be->upload(m->be, m->ids, local, (size_t)n * sizeof(int32_t));
}

int dy_model_step_inputs(dy_model *m, int32_t token, int pos, dy_error *err) {
    if (check_positions(m, 1, pos, err) || check_token(m, token, err)) return -1;
    upload_ids(m, &token, 1);
    m->be->upload(m->be, m->positions, &pos, sizeof pos);
    return 0;
}

void dy_model_step_ops(dy_model *m, const dy_forward_opts *o, bool logits) {
    assert(!o->bias && !o->capture_out && (o->n_capture == 0 || o->n_capture == m->n_capture));
    run_ops(m, 1, m->kv.max_ctx, o, logits);
}

void dy_model_record_router_margins(dy_model *m, float *margins) {
    assert(m->be->moe_record_margins);
    m->router_margins = margins;
    m->be->moe_record_margins(m->be, margins);
}

int dy_model_forward(dy_model *m, const int32_t *tokens, int n, int pos0, const dy_forward_opts *o, dy_error *err) {
    dy_backend *be = m->be;
    if (check_positions(m, n, pos0, err)) return -1;
    const int ctx = pos0 + n;
    for (int i = 0; i < n; i++)
        if (check_token(m, tokens[i], err)) return -1;
    if (o->n_capture && !o->capture_out) {  // rows left in backend memory are a recorded step's (stride max_ctx)
        if (n != 1 || o->n_capture != m->n_capture)
            return dy_fail(err, "model: a capture kept in backend memory is a one-token step of the set capture");
    } else if (o->n_capture && dy_model_set_capture(m, o->n_capture, o->capture_layer, o->capture_head, err))
        return -1;

    int32_t positions[n];  // n <= max_chunk, a prefill chunk
    for (int i = 0; i < n; i++) positions[i] = pos0 + i;
    upload_ids(m, tokens, n);
    be->upload(be, m->positions, positions, (size_t)n * sizeof(int32_t));
    if (o->bias) be->upload(be, m->bias, o->bias, (size_t)ctx * sizeof(float));

    const bool logits = o->logits || o->pick;
    // A recorded step would write the margins of the position it was recorded at: recording runs the ops.
    if (m->router_margins) be->moe_record_margins(be, m->router_margins + pos0);
    void *graph = n == 1 && o->n_capture == 0 && !m->router_margins ? step_graph(m, o, logits) : NULL;
    const int n_keys = o->n_capture && !o->capture_out ? m->kv.max_ctx : ctx;
    if (graph) be->graph_launch(be, graph);
    else run_ops(m, n, n_keys, o, logits);
    if (o->capture_out && m->n_capture_owned < o->n_capture)  // the rows of heads other ranks hold
        memset(o->capture_out, 0, (size_t)o->n_capture * (size_t)ctx * sizeof(float));
    for (int r = 0; o->capture_out && r < m->n_capture_owned; r++)
        be->download(be, o->capture_out + (size_t)m->capture_order[r] * (size_t)ctx, m->capture + (size_t)r * (size_t)ctx,
                     (size_t)ctx * sizeof(float));
    if (o->logits) be->download(be, o->logits, m->logits.data, (size_t)m->shard.vocab * sizeof(float));
    if (o->pick) dy_model_pick(m, o->pick, o->picked);
    return 0;
}

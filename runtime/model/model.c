#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_plan.h"
#include "rope.h"
#include "runtime/checkpoint/model_tensors.h"
#include "runtime/checkpoint/weight_init.h"
#include "runtime/util/hash_map.h"

static void *backend_alloc(dy_model *m, size_t bytes) {
    if (m->n_allocations == m->cap_allocations) {
        int cap = m->cap_allocations ? 2 * m->cap_allocations : 256;
        void **grown = realloc(m->allocations, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        m->allocations = grown;
        m->cap_allocations = cap;
    }
    void *p = m->be->alloc(m->be, bytes ? bytes : 1);
    if (p) m->allocations[m->n_allocations++] = p;
    return p;
}

static int workspace(dy_model *m, dy_view *v, int64_t rows, int64_t cols, dy_dtype dtype, dy_error *err) {
    *v = (dy_view){backend_alloc(m, (size_t)(rows * cols) * dy_dtype_size(dtype)), dtype, rows, cols, cols};
    return v->data ? 0 : dy_fail(err, "model: out of %s memory for a (%lld, %lld) workspace", m->be->name,
                                (long long)rows, (long long)cols);
}

// Where weights come from: a checkpoint, or make-model's deterministic random initialisation
// (benchmarks at real shape without writing the checkpoint).
typedef struct {
    const dy_checkpoint *ck;     // NULL: random
    const dy_init_params *init;  // random
    dy_tensor_spec *specs;       // random: the architecture's tensors
    int n_specs;
    dy_str_map by_name;          // random: spec index by tensor name
} weight_source;

// The shape of a tensor as a matrix (a vector is one row).
static int weight_shape(const weight_source *src, const char *name, int64_t *rows, int64_t *cols, dy_error *err) {
    if (src->ck) {
        const dy_tensor *t = dy_checkpoint_find(src->ck, name);
        if (!t) return dy_fail(err, "%s: tensor %s: missing", src->ck->listing, name);
        *rows = t->ndim == 2 ? t->shape[0] : 1;
        *cols = t->ndim == 2 ? t->shape[1] : t->shape[0];
        return 0;
    }
    const int32_t i = dy_str_map_get(&src->by_name, name, strlen(name));
    if (i < 0) return dy_fail(err, "model: tensor %s: not part of the architecture", name);
    const dy_tensor_spec *spec = &src->specs[i];
    *rows = spec->ndim == 2 ? spec->shape[0] : 1;
    *cols = spec->ndim == 2 ? spec->shape[1] : spec->shape[0];
    return 0;
}

// One tensor (shape known to match dst) into dst, through host scratch of the largest tensor.
static void place_weight(dy_model *m, const weight_source *src, const char *name, const dy_view *dst, float *host) {
    if (src->ck) dy_tensor_read_f32(dy_checkpoint_find(src->ck, name), 0, dst->rows, 0, dst->cols, host);
    else {
        const dy_tensor_spec *spec = &src->specs[dy_str_map_get(&src->by_name, name, strlen(name))];
        dy_init_fill(spec, src->init, 0, (uint64_t)(dst->rows * dst->cols), host);
    }
    m->be->upload_weight(m->be, dst, host);
}

// Tensors names[0..n), of equal width, stacked by rows into one backend matrix *whole; parts[i]
// is the rows of names[i] (whole may be NULL when n is 1).
static int load_stacked(dy_model *m, const weight_source *src, const char *const *names, int n, dy_view *whole,
                        dy_view *const *parts, float *host, dy_error *err) {
    int64_t rows[4], cols[4], total = 0;
    for (int i = 0; i < n; i++) {
        if (weight_shape(src, names[i], &rows[i], &cols[i], err)) return -1;
        if (cols[i] != cols[0])
            return dy_fail(err, "model: tensor %s: %lld columns, %s has %lld", names[i], (long long)cols[i], names[0],
                           (long long)cols[0]);
        total += rows[i];
    }
    dy_view stacked;
    if (workspace(m, &stacked, total, cols[0], m->be->act_dtype, err)) return -1;
    if (whole) *whole = stacked;
    for (int i = 0, r0 = 0; i < n; r0 += (int)rows[i], i++) {
        *parts[i] = dy_view_rows(&stacked, r0, rows[i]);
        place_weight(m, src, names[i], parts[i], host);
    }
    return 0;
}

static int load_weight(dy_model *m, const weight_source *src, const char *name, dy_view *dst, float *host,
                       dy_error *err) {
    const char *names[] = {name};
    dy_view *parts[] = {dst};
    return load_stacked(m, src, names, 1, NULL, parts, host, err);
}

static int load_mlp(dy_model *m, const weight_source *ck, const char *prefix, dy_mlp_weights *w, dy_view *gate_up,
                    float *host, dy_error *err) {
    char gate[160], up[160], down[160];
    snprintf(gate, sizeof gate, "%s.gate_proj.weight", prefix);
    snprintf(up, sizeof up, "%s.up_proj.weight", prefix);
    snprintf(down, sizeof down, "%s.down_proj.weight", prefix);
    const char *names[] = {gate, up};
    dy_view *parts[] = {&w->gate, &w->up};
    if (load_stacked(m, ck, names, 2, gate_up, parts, host, err)) return -1;
    return load_weight(m, ck, down, &w->down, host, err);
}

static int load_layer(dy_model *m, const weight_source *ck, int l, float *host, dy_error *err) {
    dy_layer_weights *w = &m->layers[l];
    const char *parts[] = {"input_layernorm", "self_attn.o_proj", "post_attention_layernorm"};
    dy_view *dst[] = {&w->attn_norm, &w->o, &w->mlp_norm};
    char name[160];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, parts[i]);
        if (load_weight(m, ck, name, dst[i], host, err)) return -1;
    }
    char q[96], k[96], v[96];
    snprintf(q, sizeof q, "model.layers.%d.self_attn.q_proj.weight", l);
    snprintf(k, sizeof k, "model.layers.%d.self_attn.k_proj.weight", l);
    snprintf(v, sizeof v, "model.layers.%d.self_attn.v_proj.weight", l);
    const char *qkv_names[] = {q, k, v};
    dy_view q_rows, k_rows, v_rows;  // only the stacked matrix is kept
    dy_view *qkv_parts[] = {&q_rows, &k_rows, &v_rows};
    if (load_stacked(m, ck, qkv_names, 3, &w->qkv, qkv_parts, host, err)) return -1;
    if (m->cfg.arch != DY_ARCH_LLAMA) {
        snprintf(name, sizeof name, "model.layers.%d.self_attn.q_norm.weight", l);
        if (load_weight(m, ck, name, &w->q_norm, host, err)) return -1;
        snprintf(name, sizeof name, "model.layers.%d.self_attn.k_norm.weight", l);
        if (load_weight(m, ck, name, &w->k_norm, host, err)) return -1;
    }
    w->moe = dy_layer_is_moe(&m->cfg, l);
    char prefix[96];
    if (!w->moe) {
        snprintf(prefix, sizeof prefix, "model.layers.%d.mlp", l);
        return load_mlp(m, ck, prefix, &w->mlp, &w->gate_up, host, err);
    }
    snprintf(name, sizeof name, "model.layers.%d.mlp.gate.weight", l);
    if (load_weight(m, ck, name, &w->router, host, err)) return -1;
    w->experts = calloc((size_t)m->cfg.n_experts, sizeof *w->experts);
    if (!w->experts) return dy_fail(err, "model: out of memory");
    for (int e = 0; e < m->cfg.n_experts; e++) {
        snprintf(prefix, sizeof prefix, "model.layers.%d.mlp.experts.%d", l, e);
        if (load_mlp(m, ck, prefix, &w->experts[e], NULL, host, err)) return -1;
    }
    return 0;
}

static int64_t largest_tensor(const weight_source *src) {
    int64_t most = 0;
    for (int i = 0; src->ck && i < src->ck->tensors.n; i++) {
        int64_t n = dy_tensor_numel(&src->ck->tensors.items[i]);
        if (n > most) most = n;
    }
    for (int i = 0; i < src->n_specs; i++) {
        int64_t n = dy_tensor_spec_numel(&src->specs[i]);
        if (n > most) most = n;
    }
    return most;
}

// A view of plan buffer b in dtype, whose element size the plan already counts.
static int plan_view(dy_model *m, const dy_memory_plan *p, dy_buffer b, dy_dtype dtype, dy_view *v, dy_error *err) {
    assert(dy_dtype_size(dtype) == p->buffers[b].elem_bytes);
    return workspace(m, v, p->buffers[b].rows, p->buffers[b].cols, dtype, err);
}

// Exactly what the plan lists: its buffers, the KV cache and (through prepare) the op scratch.
static int allocate_state(dy_model *m, const dy_memory_plan *p, dy_error *err) {
    const dy_model_config *c = &m->cfg;
    const int64_t hd = c->head_dim;
    const dy_dtype a = m->be->act_dtype;
    if (plan_view(m, p, DY_BUF_X, a, &m->x, err) || plan_view(m, p, DY_BUF_XN, a, &m->xn, err) ||
        plan_view(m, p, DY_BUF_QKV, a, &m->qkv, err) || plan_view(m, p, DY_BUF_ATT, a, &m->att, err) ||
        plan_view(m, p, DY_BUF_PROJ, a, &m->proj, err) || plan_view(m, p, DY_BUF_GATE_UP, a, &m->gate_up, err) ||
        plan_view(m, p, DY_BUF_LOGITS, DY_F32, &m->logits, err))
        return -1;
    m->k_cache = calloc((size_t)c->n_layers, sizeof *m->k_cache);
    m->v_cache = calloc((size_t)c->n_layers, sizeof *m->v_cache);
    if (!m->k_cache || !m->v_cache) return dy_fail(err, "model: out of memory");
    const size_t cache_bytes = p->kv_bytes / (2 * (uint64_t)c->n_layers);
    for (int l = 0; l < c->n_layers; l++) {
        m->k_cache[l] = backend_alloc(m, cache_bytes);
        m->v_cache[l] = backend_alloc(m, cache_bytes);
        if (!m->k_cache[l] || !m->v_cache[l])
            return dy_fail(err, "model: out of %s memory for the KV cache of %d positions", m->be->name, m->max_ctx);
    }
    m->ids = backend_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_IDS]));
    m->positions = backend_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_POSITIONS]));
    m->inv_freq = backend_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_INV_FREQ]));
    m->bias = backend_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_BIAS]));
    m->picked = backend_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_PICKED]));
    if (!m->ids || !m->positions || !m->inv_freq || !m->bias || !m->picked)
        return dy_fail(err, "model: out of %s memory", m->be->name);
    if (m->be->prepare(m->be, &p->limits)) return dy_fail(err, "model: out of %s memory for op scratch", m->be->name);
    float *inv_freq = malloc((size_t)(hd / 2) * sizeof(float));
    if (!inv_freq) return dy_fail(err, "model: out of memory");
    dy_rope_frequencies(c, inv_freq, &m->attn_factor);
    m->be->upload(m->be, m->inv_freq, inv_freq, (size_t)(hd / 2) * sizeof(float));
    free(inv_freq);
    return 0;
}

static int load(dy_model *m, dy_backend *be, const dy_model_config *cfg, const weight_source *src, int max_ctx,
                int max_chunk, dy_error *err) {
    memset(m, 0, sizeof *m);
    // Nothing is allocated before the plan says it fits.
    dy_memory_plan plan;
    if (dy_memory_plan_make(cfg, max_ctx, max_chunk, 1, be->act_dtype, &plan, err)) return -1;
    plan.scratch_bytes = be->scratch_bytes ? be->scratch_bytes(be, &plan.limits) : 0;
    if (dy_memory_plan_check(&plan, be, err)) return -1;
    m->cfg = *cfg;
    m->be = be;
    m->max_ctx = max_ctx;
    m->max_chunk = max_chunk;
    float *host = malloc((size_t)largest_tensor(src) * sizeof(float));
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    int rc = host && m->layers ? 0 : dy_fail(err, "model: out of memory");
    if (rc == 0) rc = load_weight(m, src, "model.embed_tokens.weight", &m->embed, host, err);
    for (int l = 0; l < m->cfg.n_layers && rc == 0; l++) rc = load_layer(m, src, l, host, err);
    if (rc == 0) rc = load_weight(m, src, "model.norm.weight", &m->final_norm, host, err);
    if (rc == 0) {
        if (m->cfg.tie_word_embeddings) m->lm_head = m->embed;
        else rc = load_weight(m, src, "lm_head.weight", &m->lm_head, host, err);
    }
    free(host);
    if (rc == 0) rc = allocate_state(m, &plan, err);
    if (rc) dy_model_free(m);
    return rc;
}

int dy_model_load(dy_model *m, dy_backend *be, const dy_checkpoint *ck, int max_ctx, int max_chunk, dy_error *err) {
    const weight_source src = {.ck = ck};
    return load(m, be, &ck->config, &src, max_ctx, max_chunk, err);
}

int dy_model_load_random(dy_model *m, dy_backend *be, const dy_model_config *cfg, const dy_init_params *init,
                         int max_ctx, int max_chunk, dy_error *err) {
    weight_source src = {.init = init};
    src.n_specs = dy_model_tensor_specs(cfg, &src.specs, err);
    if (src.n_specs < 0) return -1;
    // MoE models have tens of thousands of tensors: look them up by hash, not by scanning.
    int rc = dy_str_map_init(&src.by_name, (uint32_t)src.n_specs) ? dy_fail(err, "model: out of memory") : 0;
    for (int i = 0; i < src.n_specs && rc == 0; i++)
        if (dy_str_map_put(&src.by_name, src.specs[i].name, strlen(src.specs[i].name), i)) rc = dy_fail(err, "model: out of memory");
    if (rc == 0) rc = load(m, be, cfg, &src, max_ctx, max_chunk, err);
    dy_str_map_free(&src.by_name);
    free(src.specs);
    return rc;
}

void dy_model_free(dy_model *m) {
    for (int i = 0; i < m->n_graphs; i++) m->be->graph_free(m->be, m->graphs[i].graph);
    for (int i = 0; i < m->n_allocations; i++) m->be->release(m->be, m->allocations[i]);
    free(m->allocations);
    for (int l = 0; m->layers && l < m->cfg.n_layers; l++) free(m->layers[l].experts);
    free(m->layers);
    free(m->k_cache);
    free(m->v_cache);
    memset(m, 0, sizeof *m);
}

// Capture buffers grow to the largest request seen (a DySCO head list; allocated once in practice).
static int reserve_capture(dy_model *m, int rows, dy_error *err) {
    if (rows <= m->capture_rows) return 0;
    m->capture = backend_alloc(m, (size_t)rows * (size_t)m->max_ctx * sizeof(float));
    m->capture_heads = backend_alloc(m, (size_t)rows * sizeof(int32_t));
    if (!m->capture || !m->capture_heads) return dy_fail(err, "model: out of %s memory for attention capture", m->be->name);
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
    const int64_t q_cols = (int64_t)c->n_heads * c->head_dim, kv_cols = (int64_t)c->n_kv_heads * c->head_dim;
    dy_view xn = dy_view_rows(&m->xn, 0, n), qkv = dy_view_rows(&m->qkv, 0, n), att = dy_view_rows(&m->att, 0, n),
            proj = dy_view_rows(&m->proj, 0, n);
    be->matmul(be, &xn, &w->qkv, &qkv);
    dy_view q = columns(&qkv, 0, q_cols), k = columns(&qkv, q_cols, kv_cols), v = columns(&qkv, q_cols + kv_cols, kv_cols);
    const bool qk_norm = c->arch != DY_ARCH_LLAMA;
    const dy_attention_inputs inputs = {
        .q = &q, .k = &k, .v = &v, .q_norm = qk_norm ? &w->q_norm : NULL, .k_norm = qk_norm ? &w->k_norm : NULL,
        .n_heads = c->n_heads, .n_kv_heads = c->n_kv_heads, .head_dim = c->head_dim, .eps = (float)c->rms_norm_eps,
        .normalise = qk_norm, .positions = m->positions, .inv_freq = m->inv_freq, .attn_factor = m->attn_factor,
        .k_cache = m->k_cache[l], .v_cache = m->v_cache[l], .max_ctx = m->max_ctx,
    };
    be->attention_inputs(be, &inputs);

    // The capture pairs of this layer, in the caller's order.
    int32_t heads[256];
    int rows[256], n_here = 0;
    for (int i = 0; i < o->n_capture && n_here < 256; i++)
        if (o->capture_layer[i] == l) {
            heads[n_here] = o->capture_head[i];
            rows[n_here++] = i;
        }
    if (n_here) be->upload(be, m->capture_heads, heads, (size_t)n_here * sizeof(int32_t));
    dy_attention_args a = {
        .q = &q, .k = m->k_cache[l], .v = m->v_cache[l], .max_ctx = m->max_ctx, .n_q = n, .positions = m->positions,
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
        be->moe(be, &xn, &w->router, w->experts, m->cfg.n_experts, m->cfg.n_experts_per_tok, m->cfg.norm_topk_prob, &proj);
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
        if (g->n_layers == layers && g->temperature == temperature && g->bias == (o->bias != NULL) && g->logits == logits)
            return g->graph;
    }
    if (!m->be->graph_begin || m->n_graphs == (int)(sizeof m->graphs / sizeof *m->graphs)) return NULL;
    m->be->graph_begin(m->be);
    run_ops(m, 1, m->max_ctx, o, logits);
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
    const int ctx = pos0 + n;
    if (n < 1 || n > m->max_chunk) return dy_fail(err, "model: %d tokens in one pass (1..%d)", n, m->max_chunk);
    if (ctx > m->max_ctx) return dy_fail(err, "model: position %d is past the KV cache (%d positions)", ctx - 1, m->max_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return dy_fail(err, "input: token id %d is outside the model's vocabulary (%d)", tokens[i], c->vocab_size);
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

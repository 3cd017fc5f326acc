#include "model.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory_plan.h"
#include "model_alloc.h"
#include "rope.h"
#include "tp_shard.h"
#include "runtime/checkpoint/model_tensors.h"
#include "runtime/checkpoint/weight_init.h"
#include "runtime/util/hash_map.h"

// Room for the longest tensor name the loader spells, at the widest ints: no name is truncated.
enum { NAME_BYTES = sizeof "model.layers.-2147483648.mlp.experts.-2147483648.gate_proj.weight" };
// The most tensors stacked into one matrix: q, k and v.
enum { MAX_STACKED = 3 };

void *dy_model_alloc(dy_model *m, size_t bytes) {
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
    *v = (dy_view){dy_model_alloc(m, (size_t)(rows * cols) * dy_dtype_size(dtype)), dtype, rows, cols, cols};
    return v->data ? 0 : dy_fail(err, "model: out of %s memory for a (%lld, %lld) workspace", m->be->name,
                                (long long)rows, (long long)cols);
}

// Where weights come from: a checkpoint (validated against the architecture's tensors when it
// was opened), or make-model's deterministic random initialisation (benchmarks at real shape
// without writing the checkpoint).
typedef struct {
    const dy_checkpoint *ck;     // NULL: random
    const dy_init_params *init;  // random
    dy_tensor_spec *specs;       // the architecture's tensors: shapes and tensor-parallel splits
    int n_specs;
    dy_str_map by_name;          // spec index by tensor name
} weight_source;

// This rank's slice of a tensor (all of it in a one-process model).
static int weight_slice(const dy_model *m, const weight_source *src, const char *name, const dy_tensor_spec **spec,
                        dy_shard_range *r, dy_error *err) {
    const int32_t i = dy_str_map_get(&src->by_name, name, strlen(name));
    if (i < 0) return dy_fail(err, "model: tensor %s: not part of the architecture", name);
    *spec = &src->specs[i];
    *r = dy_tp_shard(&m->cfg, *spec, m->shard.tp, m->shard.rank);
    return 0;
}

// Slice r of tensor name (spec) into dst, its shape. A checkpoint tensor in the backend's weight
// dtype goes up as its bytes, straight from the mapping (the slice's rows are the tensor's row
// length apart); any other through host fp32 scratch of the largest tensor.
static void place_weight(dy_model *m, const weight_source *src, const char *name, const dy_tensor_spec *spec,
                         const dy_shard_range *r, const dy_view *dst, float *host) {
    const dy_tensor *t = src->ck ? dy_checkpoint_find(src->ck, name) : NULL;
    m->weight_bytes += r->rows * r->cols * (int64_t)dy_dtype_size(t ? t->dtype : m->cfg.dtype);
    if (t && t->dtype == m->be->weight_dtype && m->be->upload_weight_raw) {
        m->be->upload_weight_raw(m->be, dst, dy_tensor_element(t, r->row0, r->col0), dy_tensor_row_len(t));
        return;
    }
    if (t) dy_tensor_read_f32(t, r->row0, r->rows, r->col0, r->cols, host);
    else {  // element i of the tensor is a function of i alone: fill the slice row by row
        const int64_t full_cols = spec->ndim == 2 ? spec->shape[1] : spec->shape[0];
        for (int64_t row = 0; row < r->rows; row++)
            dy_init_fill(spec, src->init, (uint64_t)((r->row0 + row) * full_cols + r->col0), (uint64_t)r->cols,
                         host + row * r->cols);
    }
    m->be->upload_weight(m->be, dst, host);
}

// This rank's slices of tensors names[0..n), of equal width, stacked by rows into one backend
// matrix *whole, followed by zero_rows rows of zeros; parts[i] is the rows of names[i] (whole may
// be NULL when n is 1 and there are no zero rows).
static int load_stacked(dy_model *m, const weight_source *src, const char *const *names, int n, int zero_rows,
                        dy_view *whole, dy_view *const *parts, float *host, dy_error *err) {
    assert(n <= MAX_STACKED);
    const dy_tensor_spec *specs[MAX_STACKED];
    dy_shard_range r[MAX_STACKED];
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        if (weight_slice(m, src, names[i], &specs[i], &r[i], err)) return -1;
        if (r[i].cols != r[0].cols)
            return dy_fail(err, "model: tensor %s: %lld columns, %s has %lld", names[i], (long long)r[i].cols,
                           names[0], (long long)r[0].cols);
        total += r[i].rows;
    }
    dy_view stacked;
    if (workspace(m, &stacked, total + zero_rows, r[0].cols, m->be->act_dtype, err)) return -1;
    if (zero_rows) {
        memset(host, 0, (size_t)(zero_rows * r[0].cols) * sizeof(float));
        const dy_view zeros = dy_view_rows(&stacked, total, zero_rows);
        m->be->upload_weight(m->be, &zeros, host);
    }
    if (whole) *whole = stacked;
    for (int i = 0, r0 = 0; i < n; r0 += (int)r[i].rows, i++) {
        *parts[i] = dy_view_rows(&stacked, r0, r[i].rows);
        place_weight(m, src, names[i], specs[i], &r[i], parts[i], host);
    }
    return 0;
}

static int load_weight(dy_model *m, const weight_source *src, const char *name, dy_view *dst, float *host,
                       dy_error *err) {
    const char *names[] = {name};
    dy_view *parts[] = {dst};
    return load_stacked(m, src, names, 1, 0, NULL, parts, host, err);
}

// The embedding table; a vocabulary-parallel one has a zero row after this rank's rows: ids
// other ranks own read it (model_forward.c, upload_ids), so each rank's lookup is its share of
// the all-reduced embedding. *vocab_rows: the rank's rows alone (a tied LM head).
static int load_embedding(dy_model *m, const weight_source *src, dy_view *vocab_rows, float *host, dy_error *err) {
    const char *names[] = {"model.embed_tokens.weight"};
    dy_view *parts[] = {vocab_rows};
    return load_stacked(m, src, names, 1, m->shard.tp > 1, &m->embed, parts, host, err);
}

static int load_mlp(dy_model *m, const weight_source *ck, const char *prefix, dy_mlp_weights *w, dy_view *gate_up,
                    float *host, dy_error *err) {
    char gate[NAME_BYTES], up[NAME_BYTES], down[NAME_BYTES];
    snprintf(gate, sizeof gate, "%s.gate_proj.weight", prefix);
    snprintf(up, sizeof up, "%s.up_proj.weight", prefix);
    snprintf(down, sizeof down, "%s.down_proj.weight", prefix);
    const char *names[] = {gate, up};
    dy_view *parts[] = {&w->gate, &w->up};
    if (load_stacked(m, ck, names, 2, 0, gate_up, parts, host, err)) return -1;
    return load_weight(m, ck, down, &w->down, host, err);
}

static int load_layer(dy_model *m, const weight_source *ck, int l, float *host, dy_error *err) {
    dy_layer_weights *w = &m->layers[l];
    const char *parts[] = {"input_layernorm", "self_attn.o_proj", "post_attention_layernorm"};
    dy_view *dst[] = {&w->attn_norm, &w->o, &w->mlp_norm};
    char name[NAME_BYTES];
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "model.layers.%d.%s.weight", l, parts[i]);
        if (load_weight(m, ck, name, dst[i], host, err)) return -1;
    }
    char q[NAME_BYTES], k[NAME_BYTES], v[NAME_BYTES];
    snprintf(q, sizeof q, "model.layers.%d.self_attn.q_proj.weight", l);
    snprintf(k, sizeof k, "model.layers.%d.self_attn.k_proj.weight", l);
    snprintf(v, sizeof v, "model.layers.%d.self_attn.v_proj.weight", l);
    const char *qkv_names[] = {q, k, v};
    dy_view q_rows, k_rows, v_rows;  // only the stacked matrix is kept
    dy_view *qkv_parts[] = {&q_rows, &k_rows, &v_rows};
    if (load_stacked(m, ck, qkv_names, 3, 0, &w->qkv, qkv_parts, host, err)) return -1;
    if (m->cfg.arch != DY_ARCH_LLAMA) {
        snprintf(name, sizeof name, "model.layers.%d.self_attn.q_norm.weight", l);
        if (load_weight(m, ck, name, &w->q_norm, host, err)) return -1;
        snprintf(name, sizeof name, "model.layers.%d.self_attn.k_norm.weight", l);
        if (load_weight(m, ck, name, &w->k_norm, host, err)) return -1;
    }
    w->moe = dy_layer_is_moe(&m->cfg, l);
    char prefix[NAME_BYTES];
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
    const int kv_heads = m->shard.n_kv_heads;  // this rank's
    assert(dy_kv_cache_bytes(c->n_layers, kv_heads, p->ctx, c->head_dim, a) == p->kv_bytes);
    if (dy_kv_cache_init(&m->kv, m->be, c->n_layers, kv_heads, (int)p->ctx, c->head_dim, err)) return -1;
    m->ids = dy_model_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_IDS]));
    m->positions = dy_model_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_POSITIONS]));
    m->inv_freq = dy_model_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_INV_FREQ]));
    m->bias = dy_model_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_BIAS]));
    m->picked = dy_model_alloc(m, dy_buffer_bytes(&p->buffers[DY_BUF_PICKED]));
    if (!m->ids || !m->positions || !m->inv_freq || !m->bias || !m->picked)
        return dy_fail(err, "model: out of %s memory", m->be->name);
    if (m->shard.tp > 1 && !(m->host_logits = malloc((size_t)m->shard.vocab * sizeof(float))))
        return dy_fail(err, "model: out of memory");
    if (m->be->prepare(m->be, &p->limits)) return dy_fail(err, "model: out of %s memory for op scratch", m->be->name);
    float *inv_freq = malloc((size_t)(hd / 2) * sizeof(float));
    if (!inv_freq) return dy_fail(err, "model: out of memory");
    dy_rope_frequencies(c, inv_freq, &m->attn_factor);
    m->be->upload(m->be, m->inv_freq, inv_freq, (size_t)(hd / 2) * sizeof(float));
    free(inv_freq);
    return 0;
}

static int load(dy_model *m, dy_backend *be, dy_comm *comm, const dy_model_config *cfg, const weight_source *src,
                int max_ctx, int max_chunk, dy_error *err) {
    memset(m, 0, sizeof *m);
    const int tp = comm ? comm->size : 1;
    // The collectives must run on the memory the backend computes in: host memory over MPI, a
    // GPU's over NCCL (dy_comm_for_backend gives the right one). The bf16-storage twin stands for
    // one GPU: under tensor parallelism it would have to round each partial sum as NCCL does.
    if (comm && (tp > 1 || comm->device_memory) && comm->device_memory != (be->stream != NULL))
        return dy_fail(err, "model: the %s collectives run on %s memory, but the %s backend computes in %s memory",
                       comm->name, comm->device_memory ? "device" : "host", be->name, be->stream ? "device" : "host");
    if (tp > 1 && strcmp(be->name, "cpu-bf16") == 0)
        return dy_fail(err, "model: the cpu-bf16 twin runs as one process (it is the twin of one GPU)");
    // Nothing is allocated before the plan says it fits.
    dy_memory_plan plan;
    if (dy_memory_plan_make(cfg, max_ctx, max_chunk, tp, be->act_dtype, &plan, err)) return -1;
    plan.scratch_bytes = be->scratch_bytes ? be->scratch_bytes(be, &plan.limits) : 0;
    if (dy_memory_plan_check(&plan, be, err)) return -1;
    m->cfg = *cfg;
    m->be = be;
    m->max_chunk = max_chunk;
    m->shard = dy_model_shard_of(cfg, comm);
    float *host = malloc((size_t)largest_tensor(src) * sizeof(float));
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    int rc = host && m->layers ? 0 : dy_fail(err, "model: out of memory");
    dy_view vocab_rows;
    if (rc == 0) rc = load_embedding(m, src, &vocab_rows, host, err);
    for (int l = 0; l < m->cfg.n_layers && rc == 0; l++) rc = load_layer(m, src, l, host, err);
    if (rc == 0) rc = load_weight(m, src, "model.norm.weight", &m->final_norm, host, err);
    if (rc == 0) {
        if (m->cfg.tie_word_embeddings) m->lm_head = vocab_rows;
        else rc = load_weight(m, src, "lm_head.weight", &m->lm_head, host, err);
    }
    free(host);
    if (rc == 0) rc = allocate_state(m, &plan, err);
    if (rc) dy_model_free(m);
    return rc;
}

// The architecture's tensors of cfg, by name (MoE models have tens of thousands: a hash, not a scan).
static int load_from(dy_model *m, dy_backend *be, dy_comm *comm, const dy_model_config *cfg, weight_source *src,
                     int max_ctx, int max_chunk, dy_error *err) {
    src->n_specs = dy_model_tensor_specs(cfg, &src->specs, err);
    if (src->n_specs < 0) return -1;
    int rc = dy_str_map_init(&src->by_name, (uint32_t)src->n_specs) ? dy_fail(err, "model: out of memory") : 0;
    for (int i = 0; i < src->n_specs && rc == 0; i++)
        if (dy_str_map_put(&src->by_name, src->specs[i].name, strlen(src->specs[i].name), i))
            rc = dy_fail(err, "model: out of memory");
    if (rc == 0) rc = load(m, be, comm, cfg, src, max_ctx, max_chunk, err);
    dy_str_map_free(&src->by_name);
    free(src->specs);
    return rc;
}

int dy_model_load(dy_model *m, dy_backend *be, const dy_checkpoint *ck, int max_ctx, int max_chunk, dy_error *err) {
    return dy_model_load_shard(m, be, ck, NULL, max_ctx, max_chunk, err);
}

int dy_model_load_shard(dy_model *m, dy_backend *be, const dy_checkpoint *ck, dy_comm *comm, int max_ctx,
                        int max_chunk, dy_error *err) {
    weight_source src = {.ck = ck};
    return load_from(m, be, comm, &ck->config, &src, max_ctx, max_chunk, err);
}

int dy_model_load_random(dy_model *m, dy_backend *be, const dy_model_config *cfg, const dy_init_params *init,
                         int max_ctx, int max_chunk, dy_error *err) {
    return dy_model_load_random_shard(m, be, cfg, init, NULL, max_ctx, max_chunk, err);
}

int dy_model_load_random_shard(dy_model *m, dy_backend *be, const dy_model_config *cfg, const dy_init_params *init,
                               dy_comm *comm, int max_ctx, int max_chunk, dy_error *err) {
    weight_source src = {.init = init};
    return load_from(m, be, comm, cfg, &src, max_ctx, max_chunk, err);
}

void dy_model_free(dy_model *m) {
    for (int i = 0; i < m->n_graphs; i++) m->be->graph_free(m->be, m->graphs[i].graph);
    for (int i = 0; i < m->n_allocations; i++) m->be->release(m->be, m->allocations[i]);
    free(m->allocations);
    dy_kv_cache_free(&m->kv);
    for (int l = 0; m->layers && l < m->cfg.n_layers; l++) free(m->layers[l].experts);
    free(m->layers);
    free(m->capture_first);
    free(m->host_logits);
    memset(m, 0, sizeof *m);
}

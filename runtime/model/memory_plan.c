#include "memory_plan.h"

#include <stdlib.h>

#include "kv_cache.h"
#include "tp_shard.h"

static const double GIB = 1024.0 * 1024.0 * 1024.0;

int dy_memory_plan_make(const dy_model_config *cfg, int64_t ctx, int64_t chunk, int tp, dy_dtype dtype,
                        dy_memory_plan *plan, dy_error *err) {
    if (ctx < 1) return dy_fail(err, "--ctx %lld: must be at least 1", (long long)ctx);
    if (chunk < 1) return dy_fail(err, "--prefill-chunk %lld: must be at least 1", (long long)chunk);
    if (dy_tp_check(cfg, tp, err)) return -1;
    dy_tensor_spec *specs;
    int n = dy_model_tensor_specs(cfg, &specs, err);
    if (n < 0) return -1;
    const uint64_t elem = dy_dtype_size(dtype);
    *plan = (dy_memory_plan){.tp = tp, .ctx = ctx, .chunk = chunk, .dtype = dtype};
    for (int i = 0; i < n; i++) {
        dy_shard_range r = dy_tp_shard(cfg, &specs[i], tp, 0);
        plan->weight_bytes += (uint64_t)(r.rows * r.cols) * elem;
    }
    free(specs);
    if (tp > 1) plan->weight_bytes += (uint64_t)cfg->hidden_size * elem;  // the embedding's zero row (model_load.c)
    const int kv_heads = dy_tp_kv_heads_per_rank(cfg, tp);
    const int64_t hd = cfg->head_dim, q_cols = (int64_t)cfg->n_heads / tp * hd, kv_cols = (int64_t)kv_heads * hd,
                  inter = (cfg->intermediate_size > cfg->moe_intermediate_size ? cfg->intermediate_size
                                                                               : cfg->moe_intermediate_size) / tp,
                  vocab = ((int64_t)cfg->vocab_size + tp - 1) / tp;
    plan->kv_bytes = dy_kv_cache_bytes(cfg->n_layers, kv_heads, ctx, cfg->head_dim, dtype);
    const size_t i32 = sizeof(int32_t), f32 = sizeof(float);
    const dy_buffer_shape shapes[DY_N_BUFFERS] = {
        [DY_BUF_X] = {chunk, cfg->hidden_size, elem},
        [DY_BUF_XN] = {chunk, cfg->hidden_size, elem},
        [DY_BUF_QKV] = {chunk, q_cols + 2 * kv_cols, elem},
        [DY_BUF_ATT] = {chunk, q_cols, elem},
        [DY_BUF_PROJ] = {chunk, cfg->hidden_size, elem},
        [DY_BUF_GATE_UP] = {chunk, 2 * inter, elem},
        [DY_BUF_LOGITS] = {1, vocab, f32},  // logits are fp32 on every backend
        [DY_BUF_IDS] = {chunk, 1, i32},
        [DY_BUF_POSITIONS] = {chunk, 1, i32},
        [DY_BUF_INV_FREQ] = {1, hd / 2, f32},
        [DY_BUF_BIAS] = {1, ctx, f32},
        [DY_BUF_PICKED] = {1, 1, sizeof(dy_pick)},
    };
    for (int b = 0; b < DY_N_BUFFERS; b++) plan->buffers[b] = shapes[b];
    plan->limits = (dy_op_limits){
        .max_rows = chunk, .hidden = cfg->hidden_size, .intermediate = inter,
        .n_experts = cfg->arch == DY_ARCH_QWEN3_MOE ? cfg->n_experts : 0, .experts_per_token = cfg->n_experts_per_tok,
        .n_heads = cfg->n_heads / tp, .head_dim = cfg->head_dim, .vocab = vocab,
        .max_ctx = ctx,
    };
    return 0;
}

uint64_t dy_memory_plan_workspace_bytes(const dy_memory_plan *plan) {
    uint64_t bytes = plan->scratch_bytes;
    for (int b = 0; b < DY_N_BUFFERS; b++) bytes += dy_buffer_bytes(&plan->buffers[b]);
    return bytes;
}

uint64_t dy_memory_plan_total_bytes(const dy_memory_plan *plan) {
    return plan->weight_bytes + plan->kv_bytes + dy_memory_plan_workspace_bytes(plan);
}

// No safety margin: the plan's sizes are exactly what the backend is asked for. cudaMalloc's
// 2 MiB page rounding adds little at these sizes, the cuBLASLt workspace that create() already
// took counts twice (in the plan and as used memory, 32 MiB to spare), and an allocation that
// still fails reports itself as out of memory.
int dy_memory_plan_check(const dy_memory_plan *plan, dy_backend *be, dy_error *err) {
    if (!be->memory_info) return 0;
    size_t free_bytes, total_bytes;
    be->memory_info(be, &free_bytes, &total_bytes);
    const uint64_t need = dy_memory_plan_total_bytes(plan);
    if (need <= free_bytes) return 0;
    return dy_fail(err,
                   "model: needs %.2f GiB of %s memory for %lld positions and prefill chunks of %lld tokens (weights "
                   "%.2f + KV cache %.2f + workspace %.2f GiB), %.2f GiB free; use a shorter context or prefill chunk",
                   need / GIB, be->name, (long long)plan->ctx, (long long)plan->chunk, plan->weight_bytes / GIB,
                   plan->kv_bytes / GIB, dy_memory_plan_workspace_bytes(plan) / GIB, free_bytes / GIB);
}

uint64_t dy_tensor_token_bytes(const dy_model_config *cfg, const dy_tensor_spec *s, int tp, dy_dtype dtype,
                               bool active) {
    if (s->role == DY_ROLE_EMBEDDING && !cfg->tie_word_embeddings) return 0;
    if (active && s->expert >= cfg->n_experts_per_tok) return 0;
    const dy_shard_range r = dy_tp_shard(cfg, s, tp, 0);
    return (uint64_t)(r.rows * r.cols) * dy_dtype_size(dtype);
}

int dy_token_bytes_count(const dy_model_config *cfg, int tp, dy_dtype dtype, dy_token_bytes *out, dy_error *err) {
    dy_tensor_spec *specs;
    const int n = dy_model_tensor_specs(cfg, &specs, err);
    if (n < 0) return -1;
    *out = (dy_token_bytes){0};
    for (int i = 0; i < n; i++) {
        out->weights += dy_tensor_token_bytes(cfg, &specs[i], tp, dtype, false);
        out->active_weights += dy_tensor_token_bytes(cfg, &specs[i], tp, dtype, true);
    }
    free(specs);
    out->kv_per_position = dy_kv_cache_bytes(cfg->n_layers, dy_tp_kv_heads_per_rank(cfg, tp), 1, cfg->head_dim, dtype);
    return 0;
}

// Device memory one GPU needs for a model: the weights of its tensor-parallel shard, the KV cache
// for a context length, and the workspace of a prefill chunk (the model's activation buffers and
// the backend's op scratch). Rank 0 is planned: it holds the largest vocabulary slice. This is
// the one place that knows the workspace sizes: runtime/model/model_load.c allocates exactly the
// buffers listed here, and dy_model_load checks the total against the device's free memory first.
#ifndef DYSCO_MEMORY_PLAN_H
#define DYSCO_MEMORY_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "runtime/checkpoint/model_config.h"
#include "runtime/checkpoint/model_tensors.h"

// The model's activation buffers for prefill chunks of up to `chunk` tokens, with q_cols, kv_cols
// and intermediate those of one rank.
typedef enum {
    DY_BUF_X,          // (chunk, hidden) residual stream
    DY_BUF_XN,         // (chunk, hidden) normed input of a block
    DY_BUF_QKV,        // (chunk, q_cols + 2 * kv_cols)
    DY_BUF_ATT,        // (chunk, q_cols) attention output
    DY_BUF_PROJ,       // (chunk, hidden) a block's output
    DY_BUF_GATE_UP,    // (chunk, 2 * intermediate): the larger of the dense and the expert width
    DY_BUF_LOGITS,     // (1, vocab slice) fp32
    DY_BUF_IDS,        // (chunk) int32
    DY_BUF_POSITIONS,  // (chunk) int32
    DY_BUF_INV_FREQ,   // (head_dim / 2) fp32 RoPE frequencies
    DY_BUF_BIAS,       // (ctx) fp32 per-key logit bias
    DY_BUF_PICKED,     // the pick op's result (dy_pick)
    DY_N_BUFFERS
} dy_buffer;

typedef struct {
    int64_t rows, cols;
    size_t elem_bytes;
} dy_buffer_shape;

typedef struct {
    int tp;
    int64_t ctx, chunk;
    dy_dtype dtype;         // of weights, activations and KV cache: bf16 on GPUs, fp32 on the CPU backend
    uint64_t weight_bytes;
    uint64_t kv_bytes;      // (n_layers, 2, kv_heads_per_rank, ctx, head_dim), as dy_kv_cache_bytes counts it
    dy_buffer_shape buffers[DY_N_BUFFERS];
    dy_op_limits limits;    // what the backend's prepare() is given
    // The backend's op scratch for limits: dy_memory_plan_make leaves it 0 and the caller sets
    // it from the backend (dy_backend.scratch_bytes), which is known before prepare() runs.
    uint64_t scratch_bytes;
    // Not planned: DySCO's capture buffer, allocated by the first forward that captures and sized
    // by its head list, which the model does not know when it loads (DySCO: n_heads rows of ctx
    // fp32, 16 MiB for Qwen3-8B at 128k).
} dy_memory_plan;

int dy_memory_plan_make(const dy_model_config *cfg, int64_t ctx, int64_t chunk, int tp, dy_dtype dtype,
                        dy_memory_plan *plan, dy_error *err);
static inline uint64_t dy_buffer_bytes(const dy_buffer_shape *s) {
    return (uint64_t)(s->rows * s->cols) * s->elem_bytes;
}
// The activation buffers plus the op scratch.
uint64_t dy_memory_plan_workspace_bytes(const dy_memory_plan *plan);
uint64_t dy_memory_plan_total_bytes(const dy_memory_plan *plan);
// Fails with one line when the plan needs more than be has free (backends without memory_info
// are not checked).
int dy_memory_plan_check(const dy_memory_plan *plan, dy_backend *be, dy_error *err);

// What one decoded token reads on rank 0 of tp (its slices; tp 1: the whole model) with weights
// and KV cache in dtype: every weight but an untied embedding table (one row of it, not counted;
// a tied table is the LM head, read whole), and the KV cache of the positions before it. The one
// place inspect and bench take these numbers from.
typedef struct {
    uint64_t weights;          // with every expert of a MoE layer: what the GPU's MoE block reads today
    uint64_t active_weights;   // with num_experts_per_tok experts a MoE layer (Qwen3-MoE has no shared
                               // expert): what the routing uses. Dense models: == weights
    uint64_t kv_per_position;  // KV-cache bytes of one position, all layers
} dy_token_bytes;

// Bytes of s's rank-0 slice that a decoded token reads: 0 for an untied embedding table; with
// active, 0 for experts the token's routing does not choose (counted as experts 0..k-1: every
// expert of a layer has the same shape).
uint64_t dy_tensor_token_bytes(const dy_model_config *cfg, const dy_tensor_spec *s, int tp, dy_dtype dtype,
                               bool active);
int dy_token_bytes_count(const dy_model_config *cfg, int tp, dy_dtype dtype, dy_token_bytes *out, dy_error *err);
// A decoded token's bytes with ctx positions in the KV cache, with every expert or the active ones.
static inline uint64_t dy_token_bytes_at(const dy_token_bytes *t, int64_t ctx, bool active) {
    return (active ? t->active_weights : t->weights) + t->kv_per_position * (uint64_t)ctx;
}

#endif

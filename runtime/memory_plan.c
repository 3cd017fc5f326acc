#include "memory_plan.h"

#include <stdlib.h>

#include "../parallel/tp_shard.h"
#include "model_tensors.h"

enum { DEVICE_BYTES_PER_ELEMENT = 2 };  // bf16 weights and KV cache

int dy_memory_plan_make(const dy_model_config *cfg, int64_t ctx, int tp, dy_memory_plan *plan, dy_error *err) {
    if (ctx < 1) return dy_fail(err, "--ctx %lld: must be at least 1", (long long)ctx);
    if (dy_tp_check(cfg, tp, err)) return -1;
    dy_tensor_spec *specs;
    int n = dy_model_tensor_specs(cfg, &specs, err);
    if (n < 0) return -1;
    plan->tp = tp;
    plan->ctx = ctx;
    plan->weight_bytes = 0;
    for (int i = 0; i < n; i++) {
        dy_shard_range r = dy_tp_shard(cfg, &specs[i], tp, 0);
        plan->weight_bytes += (uint64_t)(r.rows * r.cols) * DEVICE_BYTES_PER_ELEMENT;
    }
    free(specs);
    plan->kv_bytes = (uint64_t)cfg->n_layers * 2 * (uint64_t)dy_tp_kv_heads_per_rank(cfg, tp) * (uint64_t)ctx *
                     (uint64_t)cfg->head_dim * DEVICE_BYTES_PER_ELEMENT;
    return 0;
}

// Device memory one GPU needs for a model: bf16 weights of its tensor-parallel shard plus the
// bf16 KV cache for a context length. Rank 0 is planned: it holds the largest vocabulary slice.
#ifndef DYSCO_MEMORY_PLAN_H
#define DYSCO_MEMORY_PLAN_H

#include <stdint.h>

#include "model_config.h"

typedef struct {
    int tp;
    int64_t ctx;
    uint64_t weight_bytes;  // bf16 on the device whatever the checkpoint dtype
    uint64_t kv_bytes;      // (n_layers, 2, kv_heads_per_rank, ctx, head_dim) bf16
} dy_memory_plan;

int dy_memory_plan_make(const dy_model_config *cfg, int64_t ctx, int tp, dy_memory_plan *plan, dy_error *err);

#endif

// Tensor-parallel sharding math (Megatron layout): which slice of each weight a rank holds.
// q/k/v and gate/up are split by output rows (heads / columns of the MLP), o and down by input
// columns, the embedding and LM head by vocabulary rows; KV heads are replicated when tp exceeds
// their count. Norms and the MoE router are replicated.
#ifndef DYSCO_TP_SHARD_H
#define DYSCO_TP_SHARD_H

#include <stdint.h>

#include "runtime/checkpoint/model_tensors.h"

typedef struct {
    int64_t row0, rows;  // for 1-D tensors: the whole vector as one row
    int64_t col0, cols;
} dy_shard_range;

// Whether the model can be split over tp ranks; the error names the dimension that does not divide.
int dy_tp_check(const dy_model_config *cfg, int tp, dy_error *err);
int dy_tp_kv_heads_per_rank(const dy_model_config *cfg, int tp);
dy_shard_range dy_tp_shard(const dy_model_config *cfg, const dy_tensor_spec *s, int tp, int rank);
// The vocabulary rows [*first, *first + *n) of rank: ceil(vocab / tp) each, fewer on the last.
void dy_tp_vocab_range(const dy_model_config *cfg, int tp, int rank, int64_t *first, int64_t *n);

#endif

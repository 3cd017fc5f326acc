// One side of the attention_inputs op, for the op tests of both backends: norm + RoPE of a
// matrix's heads as queries, or K/V rows into a cache (RoPE at angle 0 leaves the keys as given).
#ifndef DYSCO_TEST_OP_CALLS_H
#define DYSCO_TEST_OP_CALLS_H

#include "kernels/backend.h"

void op_norm_rope(dy_backend *be, dy_view *x, int n_heads, int head_dim, const dy_view *w, float eps, bool normalise,
                  const int32_t *positions, const float *inv_freq, float attn_factor);
void op_kv_write(dy_backend *be, dy_view *k, const dy_view *v, void *k_cache, void *v_cache, int max_ctx, int n_kv_heads,
                 int head_dim, const int32_t *positions);

#endif

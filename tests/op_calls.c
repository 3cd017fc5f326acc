#include "op_calls.h"

#include <stdio.h>
#include <stdlib.h>

void op_norm_rope(dy_backend *be, dy_view *x, int n_heads, int head_dim, const dy_view *w, float eps, bool normalise,
                  const int32_t *positions, const float *inv_freq, float attn_factor) {
    const dy_attention_inputs a = {.q = x, .q_norm = w, .n_heads = n_heads, .head_dim = head_dim, .eps = eps,
                                   .normalise = normalise, .positions = positions, .inv_freq = inv_freq,
                                   .attn_factor = attn_factor};
    be->attention_inputs(be, &a);
}

// inv_freq all 0: every angle is 0, cos 1 and sin 0, so k stays exactly as it was.
void op_kv_write(dy_backend *be, dy_view *k, const dy_view *v, void *k_cache, void *v_cache, int max_ctx, int n_kv_heads,
                 int head_dim, const int32_t *positions) {
    const size_t bytes = (size_t)(head_dim / 2) * sizeof(float);
    float *zeros = calloc(1, bytes + 1), *inv_freq = be->alloc(be, bytes);
    if (!zeros || !inv_freq) {
        fprintf(stderr, "op_kv_write: out of memory\n");
        exit(1);
    }
    be->upload(be, inv_freq, zeros, bytes);
    const dy_attention_inputs a = {.k = k, .v = v, .n_kv_heads = n_kv_heads, .head_dim = head_dim,
                                   .positions = positions, .inv_freq = inv_freq, .attn_factor = 1.0f,
                                   .k_cache = k_cache, .v_cache = v_cache, .max_ctx = max_ctx};
    be->attention_inputs(be, &a);
    be->release(be, inv_freq);
    free(zeros);
}

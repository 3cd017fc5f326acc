// The KV cache of a model on one backend: per layer, the rotated keys and the values of every
// position a pass has written, which attention reads back. Each layer's K and V is a backend
// buffer of its own, the contiguous (n_kv_heads, max_ctx, head_dim) block the attention ops take.
#ifndef DYSCO_KV_CACHE_H
#define DYSCO_KV_CACHE_H

#include <stdint.h>

#include "kernels/backend.h"

typedef struct {
    dy_backend *be;
    int n_layers, n_kv_heads, max_ctx, head_dim;  // n_kv_heads: those of one tensor-parallel rank
    dy_dtype dtype;                               // the backend's activation dtype
    void **k, **v;                                // (n_layers, n_kv_heads, max_ctx, head_dim)
} dy_kv_cache;

// K and V of every layer: what the memory plan counts and dy_kv_cache_init allocates.
uint64_t dy_kv_cache_bytes(int n_layers, int n_kv_heads, int64_t max_ctx, int head_dim, dy_dtype dtype);
// Allocates the cache on be in its activation dtype; positions hold nothing until a pass writes
// them. Fails with one line, with nothing left allocated, when the backend is out of memory.
int dy_kv_cache_init(dy_kv_cache *kv, dy_backend *be, int n_layers, int n_kv_heads, int max_ctx, int head_dim,
                     dy_error *err);
// Releases the cache and zeroes it; a zeroed cache is left as it is.
void dy_kv_cache_free(dy_kv_cache *kv);

// Layer l's keys and values, each (n_kv_heads, max_ctx, head_dim).
static inline void *dy_kv_cache_k(const dy_kv_cache *kv, int l) { return kv->k[l]; }
static inline void *dy_kv_cache_v(const dy_kv_cache *kv, int l) { return kv->v[l]; }

#endif

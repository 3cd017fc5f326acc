#include "kv_cache.h"

#include <stdlib.h>
#include <string.h>

static uint64_t layer_bytes(int n_kv_heads, int64_t max_ctx, int head_dim, dy_dtype dtype) {
    return (uint64_t)n_kv_heads * (uint64_t)max_ctx * (uint64_t)head_dim * dy_dtype_size(dtype);
}

uint64_t dy_kv_cache_bytes(int n_layers, int n_kv_heads, int64_t max_ctx, int head_dim, dy_dtype dtype) {
    return (uint64_t)n_layers * 2 * layer_bytes(n_kv_heads, max_ctx, head_dim, dtype);
}

int dy_kv_cache_init(dy_kv_cache *kv, dy_backend *be, int n_layers, int n_kv_heads, int max_ctx, int head_dim,
                     dy_error *err) {
    *kv = (dy_kv_cache){be, n_layers, n_kv_heads, max_ctx, head_dim, be->act_dtype, NULL, NULL};
    kv->k = calloc((size_t)n_layers, sizeof *kv->k);
    kv->v = calloc((size_t)n_layers, sizeof *kv->v);
    if (!kv->k || !kv->v) {
        dy_kv_cache_free(kv);
        return dy_fail(err, "model: out of memory");
    }
    const size_t bytes = layer_bytes(n_kv_heads, max_ctx, head_dim, kv->dtype);
    for (int l = 0; l < n_layers; l++) {
        kv->k[l] = be->alloc(be, bytes);
        kv->v[l] = be->alloc(be, bytes);
        if (!kv->k[l] || !kv->v[l]) {
            dy_kv_cache_free(kv);
            return dy_fail(err, "model: out of %s memory for the KV cache of %d positions", be->name, max_ctx);
        }
    }
    return 0;
}

void dy_kv_cache_free(dy_kv_cache *kv) {
    for (int l = 0; kv->k && kv->v && l < kv->n_layers; l++) {
        if (kv->k[l]) kv->be->release(kv->be, kv->k[l]);
        if (kv->v[l]) kv->be->release(kv->be, kv->v[l]);
    }
    free(kv->k);
    free(kv->v);
    memset(kv, 0, sizeof *kv);
}

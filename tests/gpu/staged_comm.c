#include "staged_comm.h"

#include <stdlib.h>
#include <string.h>

#include "../test_util.h"

typedef struct {
    dy_backend *be;
    void *bytes;    // host staging: a download, or what a gather receives
    float *values;  // host fp32 copy of an all-reduce's data
    size_t cap_bytes, cap_values;
} staged_impl;

static void *grow(void **p, size_t *cap, size_t bytes) {
    if (bytes > *cap) {
        free(*p);
        *p = xmalloc(bytes);
        *cap = bytes;
    }
    return *p;
}

static void staged_all_reduce_sum(dy_comm *c, void *data, size_t n, dy_dtype dtype) {
    staged_impl *s = c->impl;
    float *v = grow((void **)&s->values, &s->cap_values, n * sizeof(float));
    if (dtype == DY_F32) {
        s->be->download(s->be, v, data, n * sizeof(float));
    } else {
        uint16_t *h = grow(&s->bytes, &s->cap_bytes, n * sizeof(uint16_t));
        s->be->download(s->be, h, data, n * sizeof(uint16_t));
        for (size_t i = 0; i < n; i++) v[i] = dy_bf16_to_f32(h[i]);
    }
    c->host->all_reduce_sum(c->host, v, n, DY_F32);
    if (dtype == DY_F32) {
        s->be->upload(s->be, data, v, n * sizeof(float));
    } else {
        uint16_t *h = s->bytes;
        for (size_t i = 0; i < n; i++) h[i] = dy_f32_to_bf16(v[i]);
        s->be->upload(s->be, data, h, n * sizeof(uint16_t));
    }
    s->be->finish(s->be);  // the staging buffer is reused by the next collective
}

static void staged_all_gather(dy_comm *c, const void *send, void *recv, size_t bytes) {
    staged_impl *s = c->impl;
    char *all = grow(&s->bytes, &s->cap_bytes, (size_t)(c->size + 1) * bytes);
    char *mine = all + (size_t)c->size * bytes;
    s->be->download(s->be, mine, send, bytes);
    c->host->all_gather(c->host, mine, all, bytes);
    s->be->upload(s->be, recv, all, (size_t)c->size * bytes);
    s->be->finish(s->be);
}

static void staged_broadcast(dy_comm *c, void *data, size_t bytes, int root) {
    staged_impl *s = c->impl;
    void *h = grow(&s->bytes, &s->cap_bytes, bytes);
    s->be->download(s->be, h, data, bytes);
    c->host->broadcast(c->host, h, bytes, root);
    s->be->upload(s->be, data, h, bytes);
    s->be->finish(s->be);
}

static void staged_barrier(dy_comm *c) {
    staged_impl *s = c->impl;
    s->be->finish(s->be);
    c->host->barrier(c->host);
}

static void staged_abort(dy_comm *c, int status) { c->host->abort(c->host, status); }

static void staged_destroy(dy_comm *c) {
    staged_impl *s = c->impl;
    free(s->bytes);
    free(s->values);
    free(s);
    free(c);
}

dy_comm *staged_comm_create(dy_comm *host, dy_backend *be) {
    dy_comm *c = xmalloc(sizeof *c);
    staged_impl *s = xmalloc(sizeof *s);
    *s = (staged_impl){.be = be};
    *c = (dy_comm){.name = "staged", .rank = host->rank, .size = host->size, .device_memory = true, .host = host,
                   .impl = s, .all_reduce_sum = staged_all_reduce_sum, .all_gather = staged_all_gather,
                   .broadcast = staged_broadcast, .barrier = staged_barrier, .abort = staged_abort,
                   .destroy = staged_destroy};
    return c;
}

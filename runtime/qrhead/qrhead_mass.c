#include "qrhead_mass.h"

#include <stdlib.h>
#include <string.h>

// Adds sign / |Q| times the captured rows of each query-span step to acc (backend memory, this
// rank's capture rows x prefix), over keys [0, prefix): the mean stays on the device.
static int query_pass(dy_model *m, const dy_tokens *ids, int prefix, int n, double sign, double *acc, dy_error *err) {
    const double w = sign / (ids->n - prefix);
    const dy_forward_opts o = {.n_capture = n};  // rows left in m->capture at stride kv.max_ctx
    for (int p = prefix; p < ids->n; p++) {
        if (dy_model_forward(m, &ids->ids[p], 1, p, &o, err)) return -1;
        m->be->accumulate_rows(m->be, m->capture, m->kv.max_ctx, m->n_capture_owned, prefix, w, acc);
    }
    return 0;
}

int dy_qr_calibrated_mass(dy_model *m, const dy_qr_prompt *real, const dy_qr_prompt *null_query, int n,
                          const int *layer, const int *head, double *out, dy_error *err) {
    dy_backend *be = m->be;
    const int prefix = real->query.first;
    if (dy_model_set_capture(m, n, layer, head, err)) return -1;
    const int owned = m->n_capture_owned;
    const size_t bytes = (size_t)owned * (size_t)prefix * sizeof(double);
    double *host = calloc((size_t)owned * (size_t)prefix + 1, sizeof *host);  // zeros up, then the mean down
    double *acc = host ? be->alloc(be, bytes) : NULL;
    if (!acc) {
        free(host);
        return dy_fail(err, "qrhead: out of memory for %d heads x %d positions", owned, prefix);
    }
    be->upload(be, acc, host, bytes);
    const dy_forward_opts none = {0};
    int rc = 0;
    for (int p = 0; rc == 0 && p < prefix; p += m->max_chunk) {
        const int chunk = prefix - p < m->max_chunk ? prefix - p : m->max_chunk;
        rc = dy_model_forward(m, &real->ids.ids[p], chunk, p, &none, err);
    }
    if (rc == 0) rc = query_pass(m, &real->ids, prefix, n, 1.0, acc, err);
    if (rc == 0) rc = query_pass(m, &null_query->ids, prefix, n, -1.0, acc, err);
    if (rc == 0) {
        be->download(be, host, acc, bytes);
        // Rows come back grouped by layer: each to the caller's place; other ranks' heads stay zero.
        memset(out, 0, (size_t)n * (size_t)prefix * sizeof *out);
        for (int r = 0; r < owned; r++)
            memcpy(out + (size_t)m->capture_order[r] * (size_t)prefix, host + (size_t)r * (size_t)prefix,
                   (size_t)prefix * sizeof *out);
    }
    free(host);
    be->release(be, acc);
    return rc;
}

int dy_qr_sum_over_ranks(dy_comm *comm, double *v, size_t n, dy_error *err) {
    if (comm->size == 1) return 0;
    double *all = malloc((size_t)comm->size * n * sizeof *all);
    if (!all) return dy_fail(err, "qrhead: out of memory gathering %zu values from %d ranks", n, comm->size);
    comm->all_gather(comm, v, all, n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (int r = 0; r < comm->size; r++) sum += all[(size_t)r * n + i];
        v[i] = sum;
    }
    free(all);
    return 0;
}

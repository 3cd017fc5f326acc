#include "dysco_device.h"

#include <stdlib.h>
#include <string.h>

// The host's bool masks are the device's uint8_t ones byte for byte (0 or 1): the template mask
// goes up as it is, the selection comes back the same way.
_Static_assert(sizeof(bool) == sizeof(uint8_t), "bool and uint8_t differ in size");
_Static_assert((int)DY_DYSCO_DEVICE_LOGS == (int)DY_DYSCO_LOG_N, "the device's logging sums are the controller's");

int dy_dysco_device_init(dy_dysco_device *d, dy_backend *be, const dy_dysco_state *s, const int32_t *position,
                         const float *capture, int n_rows, int n_pairs, dy_comm *comm, float *bias, dy_error *err) {
    memset(d, 0, sizeof *d);
    d->be = be;
    d->comm = comm;
    const size_t n = (size_t)s->max_ctx;
    d->importance = be->alloc(be, n * sizeof(float));
    d->selected = be->alloc(be, n);
    d->state = be->alloc(be, sizeof *d->state);
    if (s->template_mask) d->template_mask = be->alloc(be, (size_t)s->prompt_len);
    if (comm) {
        d->own_sum = be->alloc(be, n * sizeof(double));
        d->rank_sums = be->alloc(be, (size_t)comm->size * n * sizeof(double));
    }
    void *zeros = calloc(n * sizeof(double) > sizeof *d->state ? n * sizeof(double) : sizeof *d->state, 1);
    if (!d->importance || !d->selected || !d->state || (s->template_mask && !d->template_mask) || !zeros ||
        (comm && (!d->own_sum || !d->rank_sums))) {
        free(zeros);
        dy_dysco_device_free(d);
        return dy_fail(err, "dysco: out of %s memory for the state of a %d-token context", be->name, s->max_ctx);
    }
    // The host state starts as the reference's: zero importance, nothing selected, no logs.
    be->upload(be, d->importance, zeros, n * sizeof(float));
    be->upload(be, d->selected, zeros, n);
    be->upload(be, d->state, zeros, sizeof *d->state);
    if (s->template_mask) be->upload(be, d->template_mask, s->template_mask, (size_t)s->prompt_len);
    if (comm) be->upload(be, d->own_sum, zeros, n * sizeof(double));  // gathered whole, written below c
    be->finish(be);  // the uploads may read zeros until they complete
    free(zeros);
    d->head_sum = (dy_dysco_head_sum_args){.probs = capture, .probs_stride = s->max_ctx, .n_rows = n_rows,
                                           .position = position, .max_ctx = s->max_ctx, .sum = d->own_sum};
    d->update = (dy_dysco_update_args){.probs = capture, .probs_stride = s->max_ctx, .n_pairs = n_pairs,
                                       .rank_sums = d->rank_sums, .n_ranks = comm ? comm->size : 0,
                                       .position = position, .importance = d->importance, .max_ctx = s->max_ctx,
                                       .decay = s->decay};
    d->select = (dy_dysco_select_args){.position = position, .importance = d->importance, .max_ctx = s->max_ctx, .dynamic = s->dynamic,
                                       .has_top_k = s->has_select_top_k, .has_top_p = s->has_select_top_p,
                                       .top_k = s->select_top_k, .top_p = s->select_top_p, .strength = s->strength,
                                       .template_mask = d->template_mask, .prompt_len = s->prompt_len,
                                       .selected = d->selected, .state = d->state, .bias = bias};
    return 0;
}

void dy_dysco_device_free(dy_dysco_device *d) {
    void *blocks[] = {d->importance, d->selected, d->template_mask, d->state, d->own_sum, d->rank_sums};
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
        if (blocks[i]) d->be->release(d->be, blocks[i]);
    memset(d, 0, sizeof *d);
}

void dy_dysco_device_update(dy_dysco_device *d) {
    if (d->comm) {  // the whole context's sums every step: the recorded step serves every c
        d->be->dysco_head_sum(d->be, &d->head_sum);
        d->comm->all_gather(d->comm, d->own_sum, d->rank_sums, (size_t)d->head_sum.max_ctx * sizeof(double));
    }
    d->be->dysco_update(d->be, &d->update);
}

void dy_dysco_device_select(dy_dysco_device *d) { d->be->dysco_select(d->be, &d->select); }

void dy_dysco_device_read(const dy_dysco_device *d, dy_dysco_state *s, int c, bool with_importance,
                          bool with_selected) {
    dy_dysco_device_state st;
    d->be->download(d->be, &st, d->state, sizeof st);
    if (with_importance) d->be->download(d->be, s->importance, d->importance, (size_t)c * sizeof(float));
    if (with_selected) d->be->download(d->be, s->selected, d->selected, (size_t)c);
    s->len = c;
    s->n_selected = st.n_selected;
    s->frozen = st.frozen != 0;
    memcpy(s->log, st.log, sizeof s->log);
}

// The calibrated per-token attention mass of heads over a prompt's prefix (spec/qrhead.md
// §1.2-1.3): for each (layer, query head) pair and each key j before the query span,
//   C[j] = mean over the query rows i of P(i -> j)  -  the same over the null query's rows,
// P being the ordinary causal softmax of row i. The prefix runs once; each query row is a
// one-token step whose attention probabilities the model captures (no N x N matrix). The null
// query's rows then overwrite the query's KV positions: row i only sees keys up to i, so the
// prefix's cache serves both passes unchanged (the reference's rollback).
#ifndef DYSCO_QRHEAD_MASS_H
#define DYSCO_QRHEAD_MASS_H

#include "qrhead_prompt.h"
#include "runtime/model/model.h"

// real and null_query checked by dy_qr_prompt_check_pair; heads: n (layer, head) pairs, at most
// DY_MODEL_MAX_CAPTURE. out: (n, real->query.first) in double. Under tensor parallelism the rows
// of heads this rank does not hold are zeros (every rank calls it: the passes are collective).
int dy_qr_calibrated_mass(dy_model *m, const dy_qr_prompt *real, const dy_qr_prompt *null_query, int n,
                          const int *layer, const int *head, double *out, dy_error *err);

// v (n doubles) summed over the ranks of comm (host memory), in rank order on every rank: the
// ranks' per-head tables, each zero where another rank holds the head, become the whole.
int dy_qr_sum_over_ranks(dy_comm *comm, double *v, size_t n, dy_error *err);

#endif

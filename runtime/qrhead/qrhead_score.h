// QRHead's per-document score (shared/spec/qrhead.md §1.4-1.5) over calibrated per-token attention
// mass (real-query minus null-query mass, qrhead_mass.h), the LME head criterion (§2.3), and the
// output's head order (§2.4).
#ifndef DYSCO_QRHEAD_SCORE_H
#define DYSCO_QRHEAD_SCORE_H

#include <stdint.h>

#include "qrhead_prompt.h"

// The outlier-filtered sum of x over one document span (n values): mu = the mean, sigma = the
// unbiased standard deviation (torch's default, divide by n - 1); the sum of the x[j] strictly
// above mu - 2 * sigma. A one-value span has sigma NaN, so nothing passes and the score is 0,
// as in the reference. Sums in double.
double dy_qrhead_span_score(const double *x, int64_t n);

// Detection's order: each head's documents filtered on its own mass. mass: (n_pairs, prefix);
// out: (n_docs, n_pairs). A row of zeros (a head another rank holds) scores 0 everywhere, so the
// ranks' tables add up to the whole.
void dy_qrhead_doc_scores_per_head(const double *mass, int n_pairs, int prefix, const dy_qr_span *docs, int n_docs,
                                   double *out);
// Retrieval's order: the pairs' mass summed first (sum: (prefix)), then each document filtered on
// the sum (out: (n_docs)). Under tensor parallelism the ranks' sums are all-reduced in between.
void dy_qrhead_sum_heads(const double *mass, int n_pairs, int prefix, double *sum);
void dy_qrhead_doc_scores(const double *sum, const dy_qr_span *docs, int n_docs, double *out);

// The LME criterion of one head: the mean over examples of the sum of its gold documents'
// scores (0 for an example without gold documents). gold_score_sums: (n_examples).
double dy_qrhead_lme_criterion(const double *gold_score_sums, int n_examples);

// The head order of the reference's output (§2.4): heads by score, highest first, ties in head
// order (layer-major, as Python's stable sort leaves them). order: (n) out, head indices.
void dy_qrhead_rank(const double *scores, int n, int *order);

#endif

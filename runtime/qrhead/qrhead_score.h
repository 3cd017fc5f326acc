// QRHead's per-document score (shared/spec/qrhead.md §1.4) and the LME head criterion (§2.3),
// over calibrated per-token attention mass already computed (real-query minus null-query mass).
#ifndef DYSCO_QRHEAD_SCORE_H
#define DYSCO_QRHEAD_SCORE_H

#include <stdint.h>

// The outlier-filtered sum of x over one document span (n values): mu = the mean, sigma = the
// unbiased standard deviation (torch's default, divide by n - 1); the sum of the x[j] strictly
// above mu - 2 * sigma. A one-value span has sigma NaN, so nothing passes and the score is 0,
// as in the reference. Sums in double.
double dy_qrhead_span_score(const float *x, int64_t n);

// The LME criterion of one head: the mean over examples of the sum of its gold documents'
// scores (0 for an example without gold documents). gold_score_sums: (n_examples).
double dy_qrhead_lme_criterion(const double *gold_score_sums, int n_examples);

// The head order of the reference's output (§2.4): heads by score, highest first, ties in head
// order (layer-major, as Python's stable sort leaves them). order: (n) out, head indices.
void dy_qrhead_rank(const double *scores, int n, int *order);

#endif

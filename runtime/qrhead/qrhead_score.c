#include "qrhead_score.h"

#include <math.h>

double dy_qrhead_span_score(const double *x, int64_t n) {
    if (n < 2) return 0.0;  // sigma is NaN: the reference's comparison is false for every token
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += x[j];
    const double mean = sum / (double)n;
    double sq = 0;
    for (int64_t j = 0; j < n; j++) sq += (x[j] - mean) * (x[j] - mean);
    const double threshold = mean - 2.0 * sqrt(sq / (double)(n - 1));
    double kept = 0;
    for (int64_t j = 0; j < n; j++)
        if (x[j] > threshold) kept += x[j];
    return kept;
}

void dy_qrhead_doc_scores_per_head(const double *mass, int n_pairs, int prefix, const dy_qr_span *docs, int n_docs,
                                   double *out) {
    for (int k = 0; k < n_docs; k++)
        for (int c = 0; c < n_pairs; c++)
            out[(size_t)k * (size_t)n_pairs + (size_t)c] =
                dy_qrhead_span_score(mass + (size_t)c * (size_t)prefix + docs[k].first, docs[k].last - docs[k].first + 1);
}

void dy_qrhead_sum_heads(const double *mass, int n_pairs, int prefix, double *sum) {
    for (int j = 0; j < prefix; j++) sum[j] = 0;
    for (int c = 0; c < n_pairs; c++)
        for (int j = 0; j < prefix; j++) sum[j] += mass[(size_t)c * (size_t)prefix + (size_t)j];
}

void dy_qrhead_doc_scores(const double *sum, const dy_qr_span *docs, int n_docs, double *out) {
    for (int k = 0; k < n_docs; k++) out[k] = dy_qrhead_span_score(sum + docs[k].first, docs[k].last - docs[k].first + 1);
}

double dy_qrhead_lme_criterion(const double *gold_score_sums, int n_examples) {
    double sum = 0;
    for (int e = 0; e < n_examples; e++) sum += gold_score_sums[e];
    return n_examples ? sum / n_examples : 0.0;
}

void dy_qrhead_rank(const double *scores, int n, int *order) {
    // Insertion sort: stable, and a model has a few thousand heads at most.
    for (int i = 0; i < n; i++) {
        int j = i;
        while (j > 0 && scores[order[j - 1]] < scores[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
}

#include "qrhead_score.h"

#include <math.h>

double dy_qrhead_span_score(const float *x, int64_t n) {
    if (n < 2) return 0.0;  // sigma is NaN: the reference's comparison is false for every token
    double sum = 0;
    for (int64_t j = 0; j < n; j++) sum += x[j];
    const double mean = sum / (double)n;
    double sq = 0;
    for (int64_t j = 0; j < n; j++) sq += ((double)x[j] - mean) * ((double)x[j] - mean);
    const double threshold = mean - 2.0 * sqrt(sq / (double)(n - 1));
    double kept = 0;
    for (int64_t j = 0; j < n; j++)
        if ((double)x[j] > threshold) kept += x[j];
    return kept;
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

// Causal grouped-query attention. Each (query, head) pair walks its keys
// twice instead of keeping its logits, so attention needs no scratch at any context length: the
// first pass finds the largest logit, the second sums exp(logit - max) and the weighted values
// (a captured head takes a third, to write its probabilities).
// Logits, exponentials and sums are in double; outputs are rounded to fp32 once.
#include <assert.h>
#include <math.h>
#include <string.h>

#include "ops_cpu.h"

static double logit(const dy_attention_args *a, const float *q, const float *keys, int64_t j) {
    const float *key = keys + j * a->head_dim;
    double dot = 0;
    for (int t = 0; t < a->head_dim; t++) dot += (double)q[t] * key[t];
    return (double)a->scale * dot + (a->bias ? (double)a->bias[j] : 0.0);
}

// Query i, query head h; probs (positions[i] + 1) receives the probabilities when not NULL. A query
// whose every key is masked (-INFINITY bias) is a caller error; it gets zeros, not NaN.
static void attend(const dy_attention_args *a, int64_t i, int64_t h, float *probs) {
    const int d = a->head_dim;
    const int64_t g = h / (a->n_heads / a->n_kv_heads), n_keys = (int64_t)a->positions[i] + 1;
    const float *q = (const float *)a->q->data + i * a->q->stride + h * d;
    const float *keys = (const float *)a->k + g * a->max_ctx * d, *values = (const float *)a->v + g * a->max_ctx * d;
    float *out = (float *)a->out->data + i * a->out->stride + h * d;

    double max = -INFINITY;
    for (int64_t j = 0; j < n_keys; j++) {
        const double l = logit(a, q, keys, j);
        if (l > max) max = l;
    }
    if (max == -INFINITY) {
        memset(out, 0, (size_t)d * sizeof(float));
        if (probs) memset(probs, 0, (size_t)n_keys * sizeof(float));
        return;
    }
    double sum = 0, acc[d];
    memset(acc, 0, sizeof acc);
    for (int64_t j = 0; j < n_keys; j++) {
        const double p = exp(logit(a, q, keys, j) - max);
        const float *value = values + j * d;
        sum += p;
        for (int t = 0; t < d; t++) acc[t] += p * value[t];
    }
    for (int t = 0; t < d; t++) out[t] = (float)(acc[t] / sum);
    if (probs)
        for (int64_t j = 0; j < n_keys; j++) probs[j] = (float)(exp(logit(a, q, keys, j) - max) / sum);
}

// The first capture row that asks for query head h, or -1.
static int capture_row(const dy_attention_args *a, int64_t h) {
    for (int c = 0; c < a->n_capture; c++)
        if (a->capture_heads[c] == h) return c;
    return -1;
}

void dy_cpu_attention(dy_backend *b, const dy_attention_args *a) {
    (void)b;
    if (a->n_q == 0) return;
    const int64_t ctx = a->n_keys;  // the capture row length
    assert(a->positions[a->n_q - 1] < a->n_keys && a->n_keys <= a->max_ctx);
#pragma omp parallel for collapse(2) schedule(dynamic)
    for (int64_t i = 0; i < a->n_q; i++)
        for (int64_t h = 0; h < a->n_heads; h++) {
            const int c = i == a->n_q - 1 ? capture_row(a, h) : -1;
            attend(a, i, h, c >= 0 ? a->capture_out + c * ctx : NULL);
        }
    // A head asked for twice: its later rows copy the first.
    for (int c = 0; c < a->n_capture; c++) {
        const int first = capture_row(a, a->capture_heads[c]);
        if (first != c)
            memcpy(a->capture_out + c * ctx, a->capture_out + first * ctx, (size_t)ctx * sizeof(float));
    }
}

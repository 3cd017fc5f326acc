// The CPU backend (the fp32 reference) through the op conformance suite (op_conformance.h: every
// op against naive double-precision references, relative error < 1e-5), without its
// long-context attention cases (too slow for the sanitizer build on few cores), plus what only
// the CPU backend promises: its name and dtype, 64-byte aligned allocations and the MoE op's
// routing margins (dy_backend.moe_record_margins, which the GPU does not record); and the host's
// view arithmetic (dy_view_rows). One line per check; the last line is "N passed, M failed".
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "op_conformance.h"
#include "test_util.h"

static void check_identity_and_alignment(dy_backend *be) {
    check(strcmp(be->name, "cpu") == 0 && be->act_dtype == DY_F32, "backend \"%s\" stores fp32", be->name);
    int misaligned = 0;
    for (size_t bytes = 1; bytes < 5000; bytes = bytes * 3 + 1) {
        void *p = be->alloc(be, bytes);
        misaligned += !p || (uintptr_t)p % 64;
        if (p) be->release(be, p);
    }
    check(misaligned == 0, "alloc of 1 to 3280 bytes: %d pointers not 64-byte aligned", misaligned);
}

static void check_view_rows(void) {
    static float buf[9 * 40];
    const dy_view w = {buf, DY_F32, 5, 37, 40}, half = {buf, DY_BF16, 9, 30, 33};
    const dy_view rows = dy_view_rows(&w, 3, 2);
    check(rows.data == buf + 3 * 40 && rows.rows == 2 && rows.cols == 37 && rows.stride == 40 && rows.dtype == DY_F32 &&
              dy_view_rows(&half, 4, 5).data == (char *)buf + 4 * 33 * 2,
          "dy_view_rows: rows 3..4 of an fp32 (5, 37) view at stride 40, rows 4..8 of a bf16 one at stride 33");
}

// ---- routing margins --------------------------------------------------------------------------

enum { M_ROWS = 6, M_HIDDEN = 37, M_INTER = 20, M_EXPERTS = 8 };
static uint64_t rng = 0x2545F4914F6CDD1Dull;

// (rows, cols) host memory (the CPU backend's), uniform in [-amplitude, amplitude), never 0.
static dy_view random_view(int64_t rows, int64_t cols, float amplitude) {
    float *p = xmalloc((size_t)(rows * cols) * sizeof(float));
    for (int64_t i = 0; i < rows * cols; i++) {
        p[i] = uniform_f32(&rng, -amplitude, amplitude);
        if (p[i] == 0) p[i] = amplitude / 2;
    }
    return (dy_view){p, DY_F32, rows, cols, cols};
}

static int descending(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

// Row t's margin computed apart from the op: router logits and softmax in double, sorted, the
// top_k-th largest probability minus the next.
static double margin_of(const dy_view *x, const dy_view *router, int64_t t, int top_k) {
    double p[M_EXPERTS], max = -INFINITY, sum = 0;
    for (int e = 0; e < M_EXPERTS; e++) {
        p[e] = 0;
        for (int64_t c = 0; c < M_HIDDEN; c++)
            p[e] += (double)((const float *)x->data)[t * M_HIDDEN + c] * ((const float *)router->data)[e * M_HIDDEN + c];
        max = fmax(max, p[e]);
    }
    for (int e = 0; e < M_EXPERTS; e++) sum += p[e] = exp(p[e] - max);
    for (int e = 0; e < M_EXPERTS; e++) p[e] /= sum;
    qsort(p, M_EXPERTS, sizeof *p, descending);
    return p[top_k - 1] - p[top_k];
}

// Rows x, three routers (three MoE layers) and one set of experts, all fresh; out is scratch.
typedef struct {
    dy_view x, routers[3], out;
    dy_mlp_weights experts[M_EXPERTS];
} moe_layers;

static moe_layers moe_layers_new(void) {
    moe_layers m = {.x = random_view(M_ROWS, M_HIDDEN, 1), .out = random_view(M_ROWS, M_HIDDEN, 1)};
    for (int l = 0; l < 3; l++) m.routers[l] = random_view(M_EXPERTS, M_HIDDEN, 1);
    for (int e = 0; e < M_EXPERTS; e++)
        m.experts[e] = (dy_mlp_weights){random_view(M_INTER, M_HIDDEN, 0.5f), random_view(M_INTER, M_HIDDEN, 0.5f),
                                        random_view(M_HIDDEN, M_INTER, 0.5f)};
    return m;
}

static void moe_layers_free(moe_layers *m) {
    for (int e = 0; e < M_EXPERTS; e++) {
        free(m->experts[e].gate.data);
        free(m->experts[e].up.data);
        free(m->experts[e].down.data);
    }
    for (int l = 0; l < 3; l++) free(m->routers[l].data);
    free(m->x.data);
    free(m->out.data);
}

// Layers [0, n) recorded into got, then layer 2 with recording stopped.
static void record(dy_backend *be, moe_layers *m, int n, int top_k, float *got) {
    be->moe_record_margins(be, got);
    for (int l = 0; l < n; l++) be->moe(be, &m->x, &m->routers[l], m->experts, M_EXPERTS, top_k, true, &m->out);
    be->moe_record_margins(be, NULL);
    be->moe(be, &m->x, &m->routers[2], m->experts, M_EXPERTS, top_k, true, &m->out);
}

// Two MoE layers over the same rows, recording into one array: each row ends at the smaller of
// its two layers' margins, except row 0, preset below both, which keeps its value; the third
// layer, run after recording stopped, changes nothing. The margins are far larger than the fp32
// rounding the tolerance allows (the op's logits and probabilities are fp32), and some rows take
// the first layer's and some the second's, so a wrong definition (the first and second
// probability, renormalised weights) or a margin kept from one layer alone fails.
static void check_moe_margins(dy_backend *be, int top_k) {
    moe_layers m = moe_layers_new();
    float got[M_ROWS];
    const float preset = 1e-9f;
    got[0] = preset;
    for (int t = 1; t < M_ROWS; t++) got[t] = INFINITY;
    record(be, &m, 2, top_k, got);
    double worst = 0, least = INFINITY;
    int from_second = 0, third_lower = 0;  // rows whose third-layer margin would have lowered them
    for (int t = 1; t < M_ROWS; t++) {
        const double first = margin_of(&m.x, &m.routers[0], t, top_k), second = margin_of(&m.x, &m.routers[1], t, top_k);
        worst = fmax(worst, fabs(got[t] - fmin(first, second)));
        least = fmin(least, fmin(first, second));
        from_second += second < first;
        third_lower += margin_of(&m.x, &m.routers[2], t, top_k) < fmin(first, second) - 1e-4;
    }
    check(worst < 1e-6 && least > 1e-4 && from_second > 0 && from_second < M_ROWS - 1 && third_lower > 0 &&
              got[0] == preset,
          "moe routing margins, top-%d of %d: within %.2g of the smaller of two layers' margins computed apart (the "
          "least %.3g; %d of %d rows from the second layer), not lowered by a layer after recording stopped (%d rows "
          "it would lower), a smaller preset value kept",
          top_k, M_EXPERTS, worst, least, from_second, M_ROWS - 1, third_lower);
    moe_layers_free(&m);
}

// Every expert chosen: no probability is left to compare with, so nothing is recorded.
static void check_moe_margins_all_chosen(dy_backend *be) {
    moe_layers m = moe_layers_new();
    float got[M_ROWS];
    for (int t = 0; t < M_ROWS; t++) got[t] = INFINITY;
    record(be, &m, 2, M_EXPERTS, got);
    int lowered = 0;
    for (int t = 0; t < M_ROWS; t++) lowered += !isinf(got[t]);
    check(lowered == 0, "moe routing margins, all %d experts chosen: %d rows lowered", M_EXPERTS, lowered);
    moe_layers_free(&m);
}

int main(void) {
    dy_backend *be = dy_backend_cpu_create();
    if (!be || be->prepare(be, &op_conformance_limits)) setup_die("CPU backend");
    check_identity_and_alignment(be);
    check_view_rows();
    op_conformance_run(be, false);
    for (int top_k = 1; top_k <= 3; top_k++) check_moe_margins(be, top_k);
    check_moe_margins_all_chosen(be);
    be->destroy(be);
    return check_summary();
}

// The CUDA backend (bf16) against transformers in bf16 on the GPU: tests/hf_reference_dumps.py
// --bf16 wrote bf16_logits_{qwen3,llama,qwen3_moe}.json on the GPU host (tiny Qwen3 with YaRN,
// Llama with llama3 RoPE, Qwen3-MoE, bf16 weights). make-model rebuilds each checkpoint bit for bit
// (sha256); the model is fed the fixture's 300-token prompt in prefills ending at its 7 recorded
// positions, then 8 teacher-forced steps through the KV cache. Every row's relative error
// ||dysco - hf|| / ||hf|| must stay below 2e-2 (each is printed beside transformers' own bf16 vs
// fp32 error of that row, the rounding noise of bf16); argmax must agree on every row but those
// where transformers' logits of the two candidates are within 2e-2 x their rms of each other (a tie
// at bf16 precision: counted apart and logged). A missing fixture fails: it is made on the GPU host
// and committed to tests/fixtures/reference/. Without a GPU: SKIPPED, exit 77 (ctest: skipped).
// argv: PATH_TO_DYSCO FIXTURE_DIR.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../reference_fixture.h"
#include "../test_util.h"
#include "kernels/device_info.h"

static const double TOL = 2e-2;

static const char *dysco_bin, *fixtures;

typedef struct {
    int rows, agree, ties;
    double worst;
    char worst_what[64];
} summary;

static int argmax(const float *v, int n) {
    int best = 0;
    for (int j = 1; j < n; j++)
        if (v[j] > v[best]) best = j;
    return best;
}

static void check_row(const fixture_row *r, void *ctx) {
    summary *s = ctx;
    const double e = logits_rel_error(r->got, r->want, r->vocab);
    const cJSON *noise = cJSON_GetArrayItem(cJSON_GetObjectItem(r->fixture, "hf_bf16_vs_fp32_rel_err"), r->row);
    printf("  %s: relative error %.3g (transformers bf16 vs fp32: %.3g)\n", r->what, e, noise ? noise->valuedouble : NAN);
    if (!(e <= s->worst) && !isnan(s->worst)) {  // a NaN is kept, so that it is reported
        s->worst = e;
        snprintf(s->worst_what, sizeof s->worst_what, "%s", r->what);
    }
    s->rows++;
    const int best = argmax(r->want, r->vocab), picked = argmax(r->got, r->vocab);
    if (picked == best) {
        s->agree++;
        return;
    }
    double rms = 0;
    for (int j = 0; j < r->vocab; j++) rms += (double)r->want[j] * r->want[j] / r->vocab;
    rms = sqrt(rms);
    const double gap = r->want[best] - r->want[picked];
    const bool tie = gap < TOL * rms;
    s->ties += tie;
    printf("  %s: argmax %d in dysco, %d in transformers (transformers' logit gap %.3g, rms %.3g%s)\n", r->what, picked, best,
           gap, rms, tie ? ": a tie at bf16 precision" : "");
}

static void check_model(const char *name) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/bf16_logits_%s.json", fixtures, name);
    if (access(path, R_OK) != 0)
        fail_msg("%s: missing; made on the GPU host by tests/hf_reference_dumps.py BUILD_DIR OUT_DIR --bf16 and "
                 "committed to tests/fixtures/reference/",
                 path);
    dy_error err;
    dy_backend *be = dy_backend_cuda_create(0, &err);
    if (!be) fail_msg("%s", err.msg);
    summary s = {0};
    fixture_run_logits(dysco_bin, path, be, check_row, &s);
    be->destroy(be);
    printf("%s: %d rows, worst relative error %.3g (%s); argmax agrees on %d/%d, %d more at bf16 ties\n", name, s.rows,
           s.worst, s.worst_what, s.agree, s.rows, s.ties);
    if (!(s.worst < TOL)) fail_msg("%s: logits at %s: relative error %.3g, the bound is %g", path, s.worst_what, s.worst, TOL);
    if (s.agree + s.ties < s.rows)
        fail_msg("%s: argmax differs from transformers' on %d of %d rows without a tie", path, s.rows - s.agree - s.ties, s.rows);
}

static void test_qwen3(void **state) { (void)state; check_model("qwen3"); }
static void test_llama(void **state) { (void)state; check_model("llama"); }
static void test_qwen3_moe(void **state) { (void)state; check_model("qwen3_moe"); }

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO FIXTURE_DIR", &dysco_bin, &fixtures, NULL);
    if (dy_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device visible\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_llama),
        cmocka_unit_test(test_qwen3_moe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

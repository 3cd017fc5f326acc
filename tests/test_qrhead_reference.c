// dysco detect-heads (LME and BEIR criteria) and dysco retrieve against a PyTorch restatement of
// the QRHead reference (tests/hf_qrhead_reference.py, run once with transformers; fixtures in
// tests/fixtures/reference/qrhead_{qwen3,llama}.json) on tiny checkpoints rebuilt from the
// fixture's make-model arguments: every head's score within 1e-4 relative (an absolute floor of
// 1e-7 for scores near 0), the same ranking wherever two neighbours differ by more than that
// tolerance, nDCG@10 (rounded to 5 decimals by both) within 1e-5, and retrieve's per-document
// scores within 1e-4.
// argv: PATH_TO_DYSCO TOKENIZERS_DIR FIXTURE_DIR.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference_fixture.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin, *tokenizers, *fixture_dir;
static char *dir;

static const char *write_text(const char *name, const char *text) { return write_input(dir, name, text); }

// make-model with the fixture's arguments and its tokenizer; the weights must hash as the fixture's.
static void make_checkpoint(const cJSON *fx, const char *model) {
    char args[4096] = "";
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(fx, "make_model_args")) {
        snprintf(args + strlen(args), sizeof args - strlen(args), " '%s'", a->valuestring);
    }
    cmd_result r = run_cmd("'%s' make-model '%s'%s --tokenizer '%s/%s'", dysco_bin, model, args, tokenizers,
                           cJSON_GetObjectItem(fx, "tokenizer")->valuestring);
    if (r.status != 0) fail_msg("make-model failed: %s", r.err);
    cmd_result_free(&r);
    const cJSON *s;
    cJSON_ArrayForEach(s, cJSON_GetObjectItem(fx, "checkpoint_sha256")) {
        r = run_cmd("sha256sum '%s/%s'", model, s->string);
        if (r.status != 0 || strncmp(r.out, s->valuestring, 64) != 0)
            fail_msg("%s: sha256 differs from the fixture's (make-model's output changed?)", s->string);
        cmd_result_free(&r);
    }
}

static cJSON *run_json(const char *args) {
    cmd_result r = run_cmd("'%s' %s", dysco_bin, args);
    if (r.status != 0) fail_msg("dysco %s\n  exit %d\n  stderr: %s", args, r.status, r.err);
    cJSON *j = cJSON_Parse(r.out);
    if (!j) fail_msg("dysco %s: not JSON: %.300s", args, r.out);
    cmd_result_free(&r);
    return j;
}

static bool close_to(double got, double want, double rel, double floor) {
    return fabs(got - want) <= rel * fabs(want) + floor;
}

// Our ["layer-head", score] list against the fixture's: scores by head name, then the order.
static void compare_lists(const cJSON *ours, const cJSON *want, double rel, double floor, const char *what) {
    const int n = cJSON_GetArraySize(want);
    assert_int_equal(cJSON_GetArraySize(ours), n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *w = cJSON_GetArrayItem(want, i);
        const char *name = cJSON_GetArrayItem(w, 0)->valuestring;
        const double v = cJSON_GetArrayItem(w, 1)->valuedouble;
        const cJSON *o = NULL;
        for (int j = 0; j < n && !o; j++)
            if (strcmp(cJSON_GetArrayItem(cJSON_GetArrayItem(ours, j), 0)->valuestring, name) == 0)
                o = cJSON_GetArrayItem(ours, j);
        if (!o) fail_msg("%s: head %s missing", what, name);
        const double g = cJSON_GetArrayItem(o, 1)->valuedouble;
        if (!close_to(g, v, rel, floor)) fail_msg("%s: head %s: %.9g, reference %.9g", what, name, g, v);
        worst = fmax(worst, fabs(g - v) / fmax(fabs(v), 1e-12));
    }
    int ties = 0;
    for (int i = 0; i < n; i++) {
        const cJSON *w = cJSON_GetArrayItem(want, i), *o = cJSON_GetArrayItem(ours, i);
        if (strcmp(cJSON_GetArrayItem(w, 0)->valuestring, cJSON_GetArrayItem(o, 0)->valuestring) == 0) continue;
        // A different head at rank i is allowed only where the reference's scores there are within
        // the tolerance of each other (a tie either implementation may break).
        const double a = cJSON_GetArrayItem(w, 1)->valuedouble, b = cJSON_GetArrayItem(o, 1)->valuedouble;
        if (!close_to(b, a, 2 * rel, 2 * floor)) fail_msg("%s: rank %d: %s, reference %s", what, i,
                                                          cJSON_GetArrayItem(o, 0)->valuestring,
                                                          cJSON_GetArrayItem(w, 0)->valuestring);
        ties++;
    }
    printf("%s: %d heads, largest relative difference %.3g, %d ranks inside a tie\n", what, n, worst, ties);
}

static void one_fixture(const char *name) {
    char path[PATH_MAX], model[PATH_MAX], args[4 * PATH_MAX];
    snprintf(path, sizeof path, "%s/qrhead_%s.json", fixture_dir, name);
    cJSON *fx = fixture_load(path);
    snprintf(model, sizeof model, "%s/%s", dir, name);
    make_checkpoint(fx, model);

    char *data_text = cJSON_PrintUnformatted(cJSON_GetObjectItem(fx, "data"));
    const char *data = write_text("data.json", data_text);
    free(data_text);
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s'", model, data);
    cJSON *lme = run_json(args);
    compare_lists(lme, cJSON_GetObjectItem(fx, "lme"), 1e-4, 1e-7, name);

    char qrels[8192] = "";
    const cJSON *line;
    cJSON_ArrayForEach(line, cJSON_GetObjectItem(fx, "qrels")) {
        snprintf(qrels + strlen(qrels), sizeof qrels - strlen(qrels), "%s\n", line->valuestring);
    }
    const char *qrels_path = write_text("qrels.txt", qrels);
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s' --criterion beir --qrels '%s'", model, data,
             qrels_path);
    cJSON *beir = run_json(args);
    compare_lists(beir, cJSON_GetObjectItem(fx, "beir"), 0, 1.001e-5, name);

    const cJSON *ret = cJSON_GetObjectItem(fx, "retrieve");
    char *docs_text = cJSON_PrintUnformatted(cJSON_GetObjectItem(ret, "docs"));
    const char *docs = write_text("docs.json", docs_text);
    free(docs_text);
    snprintf(args, sizeof args, "retrieve --model '%s' --heads '%s' --query '%s' --docs '%s'", model,
             cJSON_GetObjectItem(ret, "heads")->valuestring, cJSON_GetObjectItem(ret, "query")->valuestring, docs);
    cJSON *scores = run_json(args);
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(ret, "scores")) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(scores, w->string);
        if (!o || !close_to(o->valuedouble, w->valuedouble, 1e-4, 1e-7))
            fail_msg("%s retrieve: %s: %.9g, reference %.9g", name, w->string, o ? o->valuedouble : NAN, w->valuedouble);
    }
    cJSON_Delete(scores);
    cJSON_Delete(beir);
    cJSON_Delete(lme);
    cJSON_Delete(fx);
}

static void test_qwen3(void **state) {
    (void)state;
    one_fixture("qwen3");
}

static void test_llama(void **state) {
    (void)state;
    one_fixture("llama");
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO TOKENIZERS_DIR FIXTURE_DIR", &dysco_bin, &tokenizers, &fixture_dir, NULL);
    dir = make_temp_dir("qrhead-ref");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_llama),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(dir);
    return failed;
}

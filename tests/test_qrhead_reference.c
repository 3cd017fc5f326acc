// dysco detect-heads (LME and BEIR criteria) and dysco retrieve against a restatement of the
// QRHead reference in numpy (tests/qrhead_numpy_reference.py: its own float64 forward of the
// checkpoint, the reference's prompt, spans, calibration, filter and criteria) on tiny fp32
// checkpoints of both families (Qwen3 with peaked attention, Llama-3 with llama3 RoPE scaling):
// every head's score within 1e-4 relative (an absolute floor of 1e-7 for scores near 0), the same
// ranking wherever neighbours differ by more than that, nDCG@10 (rounded to 5 decimals by both)
// within 1e-5, and retrieve's per-document scores within 1e-4 relative (1e-6 absolute near 0).
// argv: PATH_TO_DYSCO TOKENIZERS_DIR REFERENCE_SCRIPT.
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

#include "test_util.h"

static const char *dysco_bin, *tokenizers, *reference_script;
static char *dir;

static const char *write_text(const char *name, const char *text) { return write_input(dir, name, text); }

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

// Three examples: titles and none, whole-number ids, text to strip, non-ASCII words, one example
// without gold paragraphs (LME scores it 0).
static const char DATA[] =
    "[{\"idx\": \"q0\", \"question\": \"Which harbor town keeps the copper market?\", \"gt_docs\": [\"a\"],\n"
    "  \"paragraphs\": [{\"idx\": \"a\", \"title\": \"Harbor\", \"paragraph_text\": \"The harbor town keeps a copper market by the river and a lantern.\"},\n"
    "                 {\"idx\": \"b\", \"paragraph_text\": \"  A glacier valley with an old orchard, a museum and a winter bridge. \"},\n"
    "                 {\"idx\": \"c\", \"title\": null, \"paragraph_text\": \"Z\u00fcrich caf\u00e9 na\u00efve \u6771\u4eac under the winter lantern of the castle.\"},\n"
    "                 {\"idx\": \"d\", \"title\": \"Mill\", \"paragraph_text\": \"Copper and silver ledgers sit in the station office near the meadow.\"}]},\n"
    " {\"idx\": \"q1\", \"question\": \"Where is the silver engine kept?\", \"gt_docs\": [2, 1],\n"
    "  \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"The station holds a silver engine and a ledger of the harbor.\"},\n"
    "                 {\"idx\": 2, \"title\": \"Castle\", \"paragraph_text\": \"Near the castle garden the silver engine rests in winter.\"},\n"
    "                 {\"idx\": 3, \"paragraph_text\": \"Meadow, canyon and forest lie beyond the bridge of the village.\"}]},\n"
    " {\"idx\": \"q2\", \"question\": \"What grows in the orchard?\", \"gt_docs\": [],\n"
    "  \"paragraphs\": [{\"idx\": \"x\", \"paragraph_text\": \"Apples grow in the orchard by the mountain island.\"},\n"
    "                 {\"idx\": \"y\", \"paragraph_text\": \"The library and the museum open at the station.\"}]}]\n";
static const char QRELS[] = "q0 0 a 1\nq0 0 d 2\nq0 0 b 0\nq1 0 2 1\nq1 0 3 1\nq2 0 y 1\n";
#define RETRIEVE_HEADS "1-2,0-3,1-0"
#define RETRIEVE_QUERY "Which town has the copper market?"
#define RETRIEVE_DOCS                                                                                                \
    "[{\"idx\": \"a\", \"title\": \"Harbor\", \"paragraph_text\": \"The harbor town keeps a copper market.\"},"       \
    "{\"idx\": \"b\", \"paragraph_text\": \"  A glacier valley with an old orchard.\"},"                           \
    "{\"idx\": \"c\", \"paragraph_text\": \"Silver ledgers of the museum, Z\u00fcrich.\"}]"

static void one_model(const char *preset, const char *tokenizer, const char *extra) {
    char model[PATH_MAX], args[4 * PATH_MAX];
    snprintf(model, sizeof model, "%s/%s", dir, preset);
    cmd_result r = run_cmd("'%s' make-model '%s' --preset %s --layers 2 --dtype fp32 --seed 7 %s --tokenizer '%s/%s' --force",
                           dysco_bin, model, preset, extra, tokenizers, tokenizer);
    if (r.status != 0) setup_die(r.err);
    cmd_result_free(&r);
    const char *data = write_text("data.json", DATA), *qrels = write_text("qrels.txt", QRELS);
    const char *ret = write_text("retrieve.json", "{\"heads\": \"" RETRIEVE_HEADS "\", \"query\": \"" RETRIEVE_QUERY
                                                  "\", \"docs\": " RETRIEVE_DOCS "}");
    const char *python = python_with_numpy();
    if (!python) fail_msg("no python3 with numpy (Debian: python3-numpy) for the reference");
    r = run_cmd("'%s' '%s' '%s' '%s' '%s' '%s' '%s'", python, reference_script, dysco_bin, model, data, qrels, ret);
    if (r.status != 0) fail_msg("%s failed (exit %d): %s", reference_script, r.status, r.err);
    cJSON *want = cJSON_Parse(r.out);
    if (!want) fail_msg("the reference printed no JSON: %.300s", r.out);
    cmd_result_free(&r);

    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s'", model, data);
    cJSON *lme = run_json(args);
    compare_lists(lme, cJSON_GetObjectItem(want, "lme"), 1e-4, 1e-7, preset);
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s' --criterion beir --qrels '%s'", model, data, qrels);
    cJSON *beir = run_json(args);
    compare_lists(beir, cJSON_GetObjectItem(want, "beir"), 0, 1.001e-5, preset);

    const char *docs = write_text("docs.json", RETRIEVE_DOCS);
    snprintf(args, sizeof args, "retrieve --model '%s' --heads " RETRIEVE_HEADS " --query '" RETRIEVE_QUERY "' --docs '%s'",
             model, docs);
    cJSON *scores = run_json(args);
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItem(want, "retrieve")) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(scores, w->string);
        // A document's score sums calibrated mass of both signs: its relative error is that of the
        // terms (~1e-5) times their cancellation, hence the floor of 1e-6 beside scores of ~1e-2.
        if (!o || !close_to(o->valuedouble, w->valuedouble, 1e-4, 1e-6))
            fail_msg("%s retrieve: %s: %.9g, reference %.9g", preset, w->string, o ? o->valuedouble : NAN, w->valuedouble);
        printf("%s retrieve: %s %.9g (reference %.9g)\n", preset, w->string, o->valuedouble, w->valuedouble);
    }
    cJSON_Delete(scores);
    cJSON_Delete(beir);
    cJSON_Delete(lme);
    cJSON_Delete(want);
}

static void test_qwen3(void **state) {
    (void)state;
    one_model("tiny-qwen3", "qwen3", "--qk-std 0.35 --norm-jitter 3.0");
}

static void test_llama(void **state) {
    (void)state;
    one_model("tiny-llama", "llama3_1", "--qk-std 0.2");
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO TOKENIZERS_DIR REFERENCE_SCRIPT", &dysco_bin, &tokenizers, &reference_script, NULL);
    dir = make_temp_dir("qrhead-ref");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_llama),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(dir);
    return failed;
}

// dysco detect-heads and dysco retrieve as a user runs them on a tiny model (CPU): the output's
// form (every head once, best first, the reference's ["layer-head", score] list), the DySCO config
// it writes loading into generate unchanged, retrieve's {idx: score} agreeing with the per-head
// scores it sums, TP 2 under mpirun equal to TP 1, and one error line naming the file, the
// example and the field for bad input. The scores themselves are held to a PyTorch restatement of
// the reference in test_qrhead_reference.
// argv: PATH_TO_DYSCO TOKENIZERS_DIR MPIRUN.
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

#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin, *tokenizers, *mpirun;
static char *dir, model[PATH_MAX];

static const char *input(const char *name, const char *text) { return write_input(dir, name, text); }

static const char DATA[] =
    "[{\"idx\": \"q0\", \"question\": \"Which harbor town has the copper market?\", \"gt_docs\": [\"a\"],\n"
    "  \"paragraphs\": [{\"idx\": \"a\", \"title\": \"Harbor\", \"paragraph_text\": \"The harbor town keeps a copper market by the river.\"},\n"
    "                 {\"idx\": \"b\", \"paragraph_text\": \"  A glacier valley with an old orchard and a museum. \"},\n"
    "                 {\"idx\": \"c\", \"title\": null, \"paragraph_text\": \"Zürich café naïve 東京 under the winter lantern.\"}]},\n"
    " {\"idx\": 7, \"question\": \"Where is the silver engine kept?\", \"gt_docs\": [2, 1],\n"
    "  \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"The station holds a silver engine and a ledger.\"},\n"
    "                 {\"idx\": 2, \"paragraph_text\": \"Near the castle garden the silver engine rests.\"},\n"
    "                 {\"idx\": 3, \"paragraph_text\": \"Meadow, canyon and forest lie beyond the bridge.\"}]}]\n";

static cmd_result run_ok(const char *fmt, const char *args) {
    cmd_result r = run_cmd(fmt, dysco_bin, args);
    if (r.status != 0) fail_msg("dysco %s\n  exit %d\n  stderr: %s", args, r.status, r.err);
    return r;
}

static cJSON *parse(const char *text, const char *what) {
    cJSON *j = cJSON_Parse(text);
    if (!j) fail_msg("%s: not JSON: %.500s", what, text);
    return j;
}

// The heads list is every "layer-head" of the model once, scores non-increasing.
static void check_head_list(const cJSON *list, int layers, int heads) {
    assert_true(cJSON_IsArray(list));
    assert_int_equal(cJSON_GetArraySize(list), layers * heads);
    bool seen[64] = {false};
    double last = INFINITY;
    const cJSON *pair;
    cJSON_ArrayForEach(pair, list) {
        const cJSON *name = cJSON_GetArrayItem(pair, 0), *score = cJSON_GetArrayItem(pair, 1);
        int l, h;
        assert_true(cJSON_IsString(name) && cJSON_IsNumber(score));
        assert_int_equal(sscanf(name->valuestring, "%d-%d", &l, &h), 2);
        assert_true(l >= 0 && l < layers && h >= 0 && h < heads && !seen[l * heads + h]);
        seen[l * heads + h] = true;
        assert_true(score->valuedouble <= last);
        last = score->valuedouble;
    }
}

static void test_detect_and_config(void **state) {
    (void)state;
    char args[4 * PATH_MAX];
    const char *data = input("data.json", DATA);
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s' --top 3 --config-out '%s/heads.yaml'", model, data,
             dir);
    cmd_result r = run_ok("'%s' %s", args);
    assert_true(strstr(r.out, "[\n    [\n        \"") == r.out);  // json.dump(..., indent=4)
    cJSON *list = parse(r.out, "detect-heads");
    check_head_list(list, 2, 4);
    // The config holds the 3 best heads in rank order and runs DySCO unchanged.
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/heads.yaml", dir);
    dy_error err;
    char *yaml = dy_read_file(path, NULL, &err);
    assert_non_null(yaml);
    char want[128] = "selected_heads: \"[";
    for (int i = 0; i < 3; i++) {
        int l, h;
        sscanf(cJSON_GetArrayItem(cJSON_GetArrayItem(list, i), 0)->valuestring, "%d-%d", &l, &h);
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s(%d,%d)", i ? "," : "", l, h);
    }
    if (!strstr(yaml, want)) fail_msg("heads.yaml lacks [%s]:\n%s", want, yaml);
    assert_non_null(strstr(yaml, "template_sequences:\n  - [151644, 8948, 198]\n"));  // <|im_start|>system\n
    free(yaml);
    cmd_result_free(&r);
    snprintf(args, sizeof args,
             "generate --model '%s' --prompt 'the harbor town keeps a copper market by the river near the old "
             "castle garden and the station' --method dysco --dysco-config '%s' --max-new-tokens 3",
             model, path);
    r = run_ok("'%s' %s", args);
    cmd_result_free(&r);
    cJSON_Delete(list);
}

static double score_of(const cJSON *obj, const char *idx) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, idx);
    if (!cJSON_IsNumber(v)) fail_msg("no score for %s", idx);
    return v->valuedouble;
}

// retrieve with --heads in QRHead's and DySCO's spellings (the same scores) and with all heads; the
// documents keyed in file order.
static void test_retrieve(void **state) {
    (void)state;
    const char *docs = input("docs.json",
                             "[{\"idx\": \"a\", \"title\": \"Harbor\", \"paragraph_text\": \"The harbor town keeps a copper market.\"},"
                             " {\"idx\": \"b\", \"paragraph_text\": \"A glacier valley with an old orchard.\"}]");
    char args[4 * PATH_MAX];
    double s[3][2];
    const char *heads[3] = {"1-2,0-3", "'[(1,2),(0,3)]'", "all"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "retrieve --model '%s' --heads %s --query 'Which town has the copper market?' --docs '%s'",
                 model, heads[i], docs);
        cmd_result r = run_ok("'%s' %s", args);
        assert_true(strstr(r.out, "{\n  \"a\": ") == r.out);
        cJSON *obj = parse(r.out, "retrieve");
        s[i][0] = score_of(obj, "a");
        s[i][1] = score_of(obj, "b");
        cJSON_Delete(obj);
        cmd_result_free(&r);
    }
    assert_true(s[0][0] == s[1][0] && s[0][1] == s[1][1]);  // the two spellings name the same heads
    assert_true(s[2][0] != s[0][0]);                         // all heads sum more mass
}

// TP 2 over MPI (2 query heads and 1 KV head per rank) against TP 1: the same heads in the same
// order, scores within 1e-6 (the ranks' partial sums change the hidden state's rounding).
static void test_tp2(void **state) {
    (void)state;
    char args[4 * PATH_MAX];
    const char *data = input("data_tp.json", DATA);
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s'", model, data);
    cmd_result one = run_ok("'%s' %s", args);
    cmd_result two = run_cmd("'%s' --oversubscribe -np 2 '%s' %s", mpirun, dysco_bin, args);
    if (two.status != 0) fail_msg("mpirun -np 2 dysco %s\n  exit %d\n  stderr: %s", args, two.status, two.err);
    cJSON *a = parse(one.out, "TP 1"), *b = parse(two.out, "TP 2");
    assert_int_equal(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
    for (int i = 0; i < cJSON_GetArraySize(a); i++) {
        const cJSON *pa = cJSON_GetArrayItem(a, i), *pb = cJSON_GetArrayItem(b, i);
        const double va = cJSON_GetArrayItem(pa, 1)->valuedouble, vb = cJSON_GetArrayItem(pb, 1)->valuedouble;
        if (fabs(va - vb) > 1e-6 * fmax(1.0, fabs(va)))
            fail_msg("head %d: TP 1 %s %.9g, TP 2 %s %.9g", i, cJSON_GetArrayItem(pa, 0)->valuestring, va,
                     cJSON_GetArrayItem(pb, 0)->valuestring, vb);
    }
    cJSON_Delete(a);
    cJSON_Delete(b);
    cmd_result_free(&one);
    cmd_result_free(&two);
}

// One line on stderr holding in_stderr, and the exit status.
static void expect_error(const char *args, int status, const char *in_stderr) {
    cmd_result r = run_cmd("'%s' %s", dysco_bin, args);
    if (r.status != status || !strstr(r.err, in_stderr) || count_lines(r.err) != 1)
        fail_msg("dysco %s\n  expected exit %d with [%s]\n  got exit %d\n  stderr: %s", args, status, in_stderr, r.status,
                 r.err);
    cmd_result_free(&r);
}

static void test_bad_input(void **state) {
    (void)state;
    static const struct {
        const char *data, *problem;
    } cases[] = {
        {"{}", "expected a non-empty JSON list of examples"},
        {"[]", "expected a non-empty JSON list of examples"},
        {"[{\"idx\": \"q\", \"paragraphs\": [], \"gt_docs\": []}]", "example 0 (idx q): question: missing"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [], \"gt_docs\": []}]",
         "example 0 (idx q): paragraphs: no paragraphs"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \" \\n\"}], \"gt_docs\": []}]",
         "example 0 (idx q): paragraphs[0].paragraph_text: empty paragraph"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1}], \"gt_docs\": []}]",
         "example 0 (idx q): paragraphs[0].paragraph_text: missing"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1.5, \"paragraph_text\": \"t\"}]}]",
         "example 0 (idx q): paragraphs[0].idx: expected a string or a whole number"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"t\"}]}]",
         "example 0 (idx q): gt_docs: missing"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"t\"}], \"gt_docs\": [2]}]",
         "example 0 (idx q): gt_docs[0]: names no paragraph of the example"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"t\"}, "
         "{\"idx\": \"1\", \"paragraph_text\": \"u\"}], \"gt_docs\": []}]",
         "example 0 (idx q): paragraphs[1].idx: idx 1 repeats paragraph 0's"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"t\"}], \"gt_docs\": []},"
         " {\"idx\": \"q\", \"question\": \"y?\", \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"t\"}], \"gt_docs\": []}]",
         "example 1 (idx q): idx: repeats example 0's"},
        {"[{\"idx\": \"q\", \"question\": \"x?\", \"paragraphs\": [{\"idx\": 1, \"paragraph_text\": \"t\"}], \"gt_docs\": []",
         "data.json: "},
    };
    char args[4 * PATH_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *data = input("data.json", cases[i].data);
        snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s'", model, data);
        expect_error(args, 1, cases[i].problem);
    }
    const char *data = input("good.json", DATA);
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s' --criterion beir", model, data);
    expect_error(args, 2, "--criterion beir needs --qrels F");
    const char *qrels = input("qrels.txt", "q0 0 a 1\nq0 a\n");
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s' --criterion beir --qrels '%s'", model, data, qrels);
    expect_error(args, 1, "qrels.txt: line 2: expected QUERY ITER DOC REL or QUERY DOC REL, got 2 fields");
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s' --config-out /nonexistent/heads.yaml", model, data);
    expect_error(args, 1, "--config-out /nonexistent/heads.yaml: folder /nonexistent: No such file or directory");
    snprintf(args, sizeof args, "detect-heads --model '%s' --data '%s' --config-out x.yaml --config-base '%s'", model, data,
             data);
    expect_error(args, 1, "good.json");  // not a DySCO config: fails before any example runs
    const char *docs = input("docs.json", "[{\"idx\": \"a\", \"paragraph_text\": \"text\"}]");
    snprintf(args, sizeof args, "retrieve --model '%s' --heads 1-9 --query q --docs '%s'", model, docs);
    expect_error(args, 1, "--heads: head (1, 9) is outside the model's 2 layers x 4 heads");
    snprintf(args, sizeof args, "retrieve --model '%s' --heads 1-2 --query q --docs '%s'", model, data);
    expect_error(args, 1, "good.json: [0].paragraph_text: missing");  // a detection file given as documents
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO TOKENIZERS_DIR MPIRUN", &dysco_bin, &tokenizers, &mpirun, NULL);
    dir = make_temp_dir("qrhead");
    snprintf(model, sizeof model, "%s/model", dir);
    cmd_result r = run_cmd("'%s' make-model '%s' --preset tiny-qwen3 --layers 2 --qk-std 0.35 --norm-jitter 3.0 "
                           "--tokenizer '%s/qwen3' >/dev/null",
                           dysco_bin, model, tokenizers);
    if (r.status != 0) setup_die(r.err);
    cmd_result_free(&r);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_and_config),
        cmocka_unit_test(test_retrieve),
        cmocka_unit_test(test_tp2),
        cmocka_unit_test(test_bad_input),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(dir);
    return failed;
}

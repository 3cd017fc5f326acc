// runtime/eval's scorers against the reference's own Python scoring: every case of
// tests/fixtures/eval_scoring.json (tests/eval_scoring_fixtures.py; >= 200 a dataset family,
// adversarial ones included) must give the same keys in the same order, the same Python types
// and values within 1e-9, and each family's avg_metrics likewise. The first mismatch is printed
// with its case. Also nltk's Porter stems of the fixture's words, Python's float repr and
// json.dumps of a metrics dict.
// argv: PATH_TO_FIXTURE.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/eval/eval_dataset.h"
#include "runtime/eval/porter_stemmer.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"
#include "test_util.h"

static const char *fixture_path;
static cJSON *fixture;

static const char *type_code(dy_metric_type t) { return t == DY_METRIC_BOOL ? "b" : t == DY_METRIC_INT ? "i" : "f"; }

// Empty when got equals expected ([[key, type, value], ...]), else what differs.
static void compare(const dy_metrics *got, const cJSON *expected, char *why, size_t n) {
    why[0] = '\0';
    if (cJSON_GetArraySize(expected) != got->n) {
        snprintf(why, n, "%d metrics, expected %d", got->n, cJSON_GetArraySize(expected));
        return;
    }
    int i = 0;
    for (const cJSON *e = expected->child; e; e = e->next, i++) {
        const char *key = cJSON_GetArrayItem(e, 0)->valuestring, *type = cJSON_GetArrayItem(e, 1)->valuestring;
        const cJSON *value = cJSON_GetArrayItem(e, 2);
        const double want = cJSON_IsBool(value) ? (cJSON_IsTrue(value) ? 1.0 : 0.0) : value->valuedouble;
        if (strcmp(got->name[i], key) != 0 || strcmp(type_code(got->value[i].type), type) != 0 ||
            !(fabs(got->value[i].value - want) <= 1e-9)) {
            snprintf(why, n, "metric %d: got %s (%s) = %.17g, expected %s (%s) = %.17g", i, got->name[i],
                     type_code(got->value[i].type), got->value[i].value, key, type, want);
            return;
        }
    }
}

static void fail_case(const char *family, int index, const cJSON *c, const char *why) {
    char *text = cJSON_PrintUnformatted(c);
    fail_msg("%s case %d: %s\n  case: %.3000s%s", family, index, why, text, strlen(text) > 3000 ? " ..." : "");
    free(text);
}

static void test_family(void **state) {
    const cJSON *fam = *state;
    const char *family = cJSON_GetObjectItem(fam, "family")->valuestring;
    const char *dataset = cJSON_GetObjectItem(fam, "dataset")->valuestring;
    const cJSON *cases = cJSON_GetObjectItem(fam, "cases");
    dy_eval_family f;
    dy_error err;
    if (dy_eval_dataset_family(dataset, &f, &err)) fail_msg("%s: %s", family, err.msg);
    const int n = cJSON_GetArraySize(cases);
    if (n < 200) fail_msg("%s: %d cases, the fixture should hold >= 200", family, n);
    dy_metrics *all = xmalloc((size_t)n * sizeof *all);
    int i = 0;
    char why[512];
    for (const cJSON *c = cases->child; c; c = c->next, i++) {
        const char *output = cJSON_GetObjectItem(c, "output")->valuestring;
        if (dy_eval_score(f, output, strlen(output), cJSON_GetObjectItem(c, "example"), &all[i], &err)) {
            fail_case(family, i, c, err.msg);
        }
        compare(&all[i], cJSON_GetObjectItem(c, "expected"), why, sizeof why);
        if (why[0]) fail_case(family, i, c, why);
    }
    dy_metrics avg;
    if (dy_eval_average(f, all, n, &avg, &err)) fail_msg("%s: avg_metrics: %s", family, err.msg);
    compare(&avg, cJSON_GetObjectItem(fam, "avg_metrics"), why, sizeof why);
    if (why[0]) fail_msg("%s: avg_metrics: %s", family, why);
    printf("%s (%s): %d cases and avg_metrics equal the reference's\n", family, dataset, n);
    free(all);
}

// nltk's PorterStemmer().stem of every word of the fixture's "porter" list.
static void test_porter_stems(void **state) {
    (void)state;
    const cJSON *words = cJSON_GetObjectItem(fixture, "porter");
    int n = 0;
    for (const cJSON *w = words ? words->child : NULL; w; w = w->next, n++) {
        const char *word = cJSON_GetArrayItem(w, 0)->valuestring, *stem = cJSON_GetArrayItem(w, 1)->valuestring;
        char buf[128];
        const size_t len = strlen(word);
        if (len >= sizeof buf) fail_msg("porter: word %d is longer than the test's buffer", n);
        memcpy(buf, word, len);
        const size_t k = dy_porter_stem(buf, len);
        if (k != strlen(stem) || memcmp(buf, stem, k) != 0)
            fail_msg("porter: word %d '%s': got '%.*s', nltk gives '%s'", n, word, (int)k, buf, stem);
    }
    if (n < 1000) fail_msg("porter: %d words, the fixture should hold >= 1000", n);
    printf("porter: %d stems equal nltk's\n", n);
}

// repr() of these doubles, as Python 3.11 prints them.
static void test_float_repr(void **state) {
    (void)state;
    static const struct {
        double v;
        const char *repr;
    } cases[] = {
        {0.0, "0.0"},          {-0.0, "-0.0"},        {1.0, "1.0"},
        {0.5, "0.5"},          {2.0 / 3.0, "0.6666666666666666"},
        {0.1, "0.1"},          {1e-4, "0.0001"},      {1e-5, "1e-05"},
        {1.5e-7, "1.5e-07"},   {123.456, "123.456"},  {1e15, "1000000000000000.0"},
        {1e16, "1e+16"},       {1.2345678901234567e17, "1.2345678901234566e+17"},
        {5e-324, "5e-324"},    {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0.29999999999999999, "0.3"}, {100.0, "100.0"}, {0.06666666666666667, "0.06666666666666667"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[40];
        dy_py_float_repr(cases[i].v, out, sizeof out);
        if (strcmp(out, cases[i].repr) != 0) fail_msg("repr(%.17g): got %s, expected %s", cases[i].v, out, cases[i].repr);
    }
}

// json.dumps({"exact_match": True, "f1": 0, "substring_exact_match": False, "rougeL_f1": 0.0,
// "rougeL_recall": 0.25}) in Python.
static void test_metrics_json(void **state) {
    (void)state;
    dy_metrics m = {0};
    dy_metrics_set(&m, "exact_match", dy_metric_bool(true));
    dy_metrics_set(&m, "f1", dy_metric_int(0));
    dy_metrics_set(&m, "substring_exact_match", dy_metric_bool(false));
    dy_metrics_set(&m, "rougeL_f1", dy_metric_float(0.0));
    dy_metrics_set(&m, "rougeL_recall", dy_metric_float(0.25));
    char *json = dy_metrics_json(&m);
    assert_string_equal(json, "{\"exact_match\": true, \"f1\": 0, \"substring_exact_match\": false, \"rougeL_f1\": 0.0, "
                              "\"rougeL_recall\": 0.25}");
    free(json);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "FIXTURE", &fixture_path, NULL);
    dy_error err;
    size_t len;
    char *text = dy_read_file(fixture_path, &len, &err), problem[160];
    if (!text) setup_die(err.msg);
    fixture = dy_json_parse(text, len, problem, sizeof problem);
    free(text);
    if (!fixture) setup_die(problem);
    const cJSON *families = cJSON_GetObjectItem(fixture, "families");
    struct CMUnitTest tests[16];
    int n = 0;
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_float_repr);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_metrics_json);
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_porter_stems);
    for (const cJSON *fam = families ? families->child : NULL; fam && n < 16; fam = fam->next) {
        tests[n] = (struct CMUnitTest)cmocka_unit_test_prestate(test_family, (void *)fam);
        tests[n++].name = cJSON_GetObjectItem(fam, "family")->valuestring;
    }
    if (n != 10) setup_die("the fixture should hold the 7 dataset families");
    const int failed = _cmocka_run_group_tests("eval_scoring", tests, (size_t)n, NULL, NULL);
    cJSON_Delete(fixture);
    return failed;
}

// QRHead's outlier-filtered span sum (spec qrhead.md §1.4) and LME criterion (§2.3) against a
// separate restatement of the rule on fresh random spans, plus the cases the rule singles out, and the
// output's head order (§2.4).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/qrhead/qrhead_ndcg.h"
#include "runtime/qrhead/qrhead_score.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

// The rule written as the reference writes it: a mask from mean - 2 * std, then a masked sum.
static double restated(const double *x, int n) {
    double mean = 0, var = 0, out = 0;
    for (int j = 0; j < n; j++) mean += x[j] / (double)n;
    for (int j = 0; j < n; j++) var += (x[j] - mean) * (x[j] - mean) / (n - 1.0);
    for (int j = 0; j < n; j++) out += x[j] > mean - 2 * sqrt(var) ? x[j] : 0.0;
    return out;
}

static void test_random_spans(void **state) {
    (void)state;
    srand(17);
    double x[300];
    int dropped_somewhere = 0;
    for (int t = 0; t < 200; t++) {
        const int n = 2 + rand() % 299;
        double total = 0;
        for (int j = 0; j < n; j++) {
            x[j] = ((double)rand() / RAND_MAX - 0.3) * 1e-3;
            if (rand() % 40 == 0) x[j] = -0.05;  // an outlier far below the span
            total += x[j];
        }
        const double got = dy_qrhead_span_score(x, n), want = restated(x, n);
        assert_true(fabs(got - want) <= 1e-9 * (fabs(want) + 1e-6));
        dropped_somewhere += fabs(got - total) > 1e-6;
    }
    assert_true(dropped_somewhere > 0);  // the filter acted on some spans
}

static void test_outlier_dropped_and_single_token(void **state) {
    (void)state;
    const double x[6] = {0.1, 0.1, 0.1, 0.1, 0.1, -1.0};  // mean -0.0833, std 0.449: -1 < -0.98
    assert_true(fabs(dy_qrhead_span_score(x, 6) - 0.5) < 1e-6);
    const double one = 0.7;
    assert_true(dy_qrhead_span_score(&one, 1) == 0.0);  // sigma NaN: nothing passes
}

static void test_lme_criterion(void **state) {
    (void)state;
    const double sums[4] = {0.5, 0.0, 1.5, -0.25};  // example 2 had no gold documents: 0
    assert_true(fabs(dy_qrhead_lme_criterion(sums, 4) - 0.4375) < 1e-12);
}

static void test_rank_stable_descending(void **state) {
    (void)state;
    const double scores[6] = {0.1, 0.7, 0.1, -0.2, 0.7, 0.3};
    int order[6];
    dy_qrhead_rank(scores, 6, order);
    const int want[6] = {1, 4, 5, 0, 2, 3};  // ties (1, 4) and (0, 2) keep head order
    for (int i = 0; i < 6; i++) assert_int_equal(order[i], want[i]);
}

// nDCG@10 as trec_eval computes it, worked by hand: gains are the relevance levels, ties in score
// go to the larger document id (strcmp), a document named as the query is dropped, and a query
// without a relevant judgment is not evaluated. Both qrels formats, judgments of 0 dropped.
static void test_ndcg(void **state) {
    (void)state;
    char *dir = make_temp_dir("ndcg");
    const char *trec = write_input(dir, "qrels.txt", "q1 0 b 2\nq1 0 a 1\nq1 0 z 0\nq2 Q0 c 1\n");
    const char *tsv = write_input(dir, "qrels.tsv", "query-id\tcorpus-id\tscore\nq1\tb\t2\nq1\ta\t1\nq2\tc\t1\n");
    for (int f = 0; f < 2; f++) {
        dy_qrels q;
        dy_error err;
        assert_int_equal(dy_qrels_load(f ? tsv : trec, &q, &err), 0);
        assert_int_equal(q.n, 3);
        const char *docs[] = {"a", "b", "q1", "c"};
        const double scores[] = {0.5, 0.5, 9.0, 0.1};  // a and b tie: b (larger id) first; q1 dropped
        int rel[4];
        double ideal;
        assert_true(dy_ndcg_prepare(&q, "q1", docs, 4, rel, &ideal));
        assert_true(rel[0] == 1 && rel[1] == 2 && rel[2] == -1 && rel[3] == 0);
        const double want_ideal = 2 + 1 / log2(3.0);
        assert_true(fabs(ideal - want_ideal) < 1e-12);
        assert_true(fabs(dy_ndcg10(docs, rel, scores, 4, ideal) - 1.0) < 1e-12);  // b, a: the ideal order
        const double flipped[] = {0.6, 0.5, 9.0, 0.1};                              // a first
        assert_true(fabs(dy_ndcg10(docs, rel, flipped, 4, ideal) - (1 + 2 / log2(3.0)) / want_ideal) < 1e-12);
        assert_false(dy_ndcg_prepare(&q, "q9", docs, 4, rel, &ideal));
        dy_qrels_free(&q);
    }
    assert_true(fabs(dy_ndcg_mean_rounded(2.0, 3) - 0.66667) < 1e-15);
    dy_qrels q;
    dy_error err;
    assert_int_equal(dy_qrels_load(write_input(dir, "bad.txt", "q1 0 a x\n"), &q, &err), -1);
    assert_non_null(strstr(err.msg, "bad.txt: line 1: relevance 'x' is not a whole number"));
    assert_int_equal(dy_qrels_load(write_input(dir, "zeros.txt", "q1 0 a 0\n"), &q, &err), -1);
    assert_non_null(strstr(err.msg, "no judgment of relevance above 0"));
    rm_rf(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_spans),
        cmocka_unit_test(test_outlier_dropped_and_single_token),
        cmocka_unit_test(test_lme_criterion),
        cmocka_unit_test(test_rank_stable_descending),
        cmocka_unit_test(test_ndcg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

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

#include "runtime/qrhead/qrhead_score.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_spans),
        cmocka_unit_test(test_outlier_dropped_and_single_token),
        cmocka_unit_test(test_lme_criterion),
        cmocka_unit_test(test_rank_stable_descending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// Token choice: greedy ties, log-probabilities, and sampling with temperature, top-k and top-p on
// fresh random logits: reproducible per seed, restricted to the allowed set, and distributed as
// the renormalised softmax (checked by frequency over many draws).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "sampling.h"

enum { VOCAB = 50 };

static void random_logits(float *l, unsigned seed) {
    srand(seed);
    for (int i = 0; i < VOCAB; i++) l[i] = (float)rand() / RAND_MAX * 6.0f - 3.0f;
}

static void test_argmax_and_logprob(void **state) {
    (void)state;
    float l[VOCAB];
    random_logits(l, 1);
    l[7] = l[31] = 9.0f;  // a tie: the first index wins, as torch.argmax
    assert_int_equal(dy_argmax(l, VOCAB), 7);
    double sum = 0;
    for (int i = 0; i < VOCAB; i++) sum += exp(dy_logprob(l, VOCAB, i));
    assert_true(fabs(sum - 1.0) < 1e-5);
    assert_true(dy_logprob(l, VOCAB, 7) == dy_logprob(l, VOCAB, 31));
    dy_sampler greedy;
    assert_int_equal(dy_sampler_init(&greedy, VOCAB, 0.0f, 1.0f, 0, 5), 0);
    assert_int_equal(dy_sample(&greedy, l), 7);
    dy_sampler_free(&greedy);
}

// Frequencies over many draws against the distribution after temperature, top-k and top-p.
static void check_distribution(float temperature, int top_k, float top_p) {
    float l[VOCAB];
    random_logits(l, 2);
    double p[VOCAB], z = 0;
    int order[VOCAB];
    for (int i = 0; i < VOCAB; i++) {
        p[i] = exp(l[i] / temperature);
        order[i] = i;
    }
    for (int i = 0; i < VOCAB; i++)  // order by probability, descending
        for (int j = i + 1; j < VOCAB; j++)
            if (p[order[j]] > p[order[i]]) {
                int t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
    int keep = top_k > 0 ? top_k : VOCAB;
    for (int i = 0; i < keep; i++) z += p[order[i]];
    double mass = 0;
    for (int i = 0; i < keep; i++)
        if ((mass += p[order[i]] / z) >= top_p) {
            keep = i + 1;
            break;
        }
    double allowed[VOCAB] = {0}, total = 0;
    for (int i = 0; i < keep; i++) total += p[order[i]];
    for (int i = 0; i < keep; i++) allowed[order[i]] = p[order[i]] / total;

    dy_sampler s;
    assert_int_equal(dy_sampler_init(&s, VOCAB, temperature, top_p, top_k, 42), 0);
    enum { DRAWS = 200000 };
    int counts[VOCAB] = {0};
    for (int d = 0; d < DRAWS; d++) counts[dy_sample(&s, l)]++;
    for (int i = 0; i < VOCAB; i++) {
        if (allowed[i] == 0) {
            if (counts[i]) fail_msg("token %d drawn %d times but outside top-k/top-p", i, counts[i]);
            continue;
        }
        double expect = allowed[i] * DRAWS, sd = sqrt(expect * (1 - allowed[i]));
        if (fabs(counts[i] - expect) > 5 * sd + 1)
            fail_msg("T %g k %d p %g: token %d drawn %d times, expected %.0f", temperature, top_k, top_p, i, counts[i], expect);
    }
    dy_sampler_free(&s);
}

static void test_sampling_distributions(void **state) {
    (void)state;
    check_distribution(1.0f, 0, 1.0f);
    check_distribution(0.6f, 20, 0.95f);  // the Qwen3 thinking-mode settings
    check_distribution(1.5f, 5, 1.0f);
    check_distribution(1.0f, 0, 0.5f);
}

static void test_seed_reproducible(void **state) {
    (void)state;
    float l[VOCAB];
    random_logits(l, 3);
    dy_sampler a, b, c;
    dy_sampler_init(&a, VOCAB, 1.0f, 1.0f, 0, 7);
    dy_sampler_init(&b, VOCAB, 1.0f, 1.0f, 0, 7);
    dy_sampler_init(&c, VOCAB, 1.0f, 1.0f, 0, 8);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        int32_t x = dy_sample(&a, l), y = dy_sample(&b, l), z = dy_sample(&c, l);
        assert_int_equal(x, y);
        differ += x != z;
    }
    assert_true(differ > 10);
    dy_sampler_free(&a);
    dy_sampler_free(&b);
    dy_sampler_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argmax_and_logprob), cmocka_unit_test(test_sampling_distributions),
        cmocka_unit_test(test_seed_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

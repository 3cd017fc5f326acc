// Token choice through the CPU backend's pick op (the reference) with the host's sampler:
// greedy ties, log-probabilities, the ascending-id inverse-CDF walk, ties at the top-k / top-p
// thresholds, -inf logits, forced tokens, and sampling with temperature, top-k and top-p on
// fresh random logits: reproducible per seed, restricted to the kept set, and distributed as the
// renormalised softmax (checked by frequency over many draws).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "runtime/generate/sampling.h"

enum { VOCAB = 50 };

static dy_backend *cpu;

static int setup(void **state) {
    (void)state;
    const dy_op_limits limits = {.max_rows = 1, .hidden = 1, .intermediate = 1, .vocab = VOCAB};
    cpu = dy_backend_cpu_create();
    return cpu && cpu->prepare(cpu, &limits) == 0 ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    cpu->destroy(cpu);
    return 0;
}

static dy_pick pick(const float *logits, dy_pick_params p) {
    dy_pick out;
    cpu->pick(cpu, logits, VOCAB, &p, &out);
    return out;
}

static dy_pick_params sampling(float temperature, int top_k, float top_p, double u) {
    return (dy_pick_params){.temperature = temperature, .sample_top_k = top_k, .sample_top_p = top_p, .u = u, .forced = -1};
}

static void random_logits(float *l, unsigned seed) {
    srand(seed);
    for (int i = 0; i < VOCAB; i++) l[i] = (float)rand() / RAND_MAX * 6.0f - 3.0f;
}

static void test_argmax_logprob_forced(void **state) {
    (void)state;
    float l[VOCAB];
    random_logits(l, 1);
    l[7] = l[31] = 9.0f;  // a tie: the first index wins, as torch.argmax
    const dy_pick greedy = pick(l, sampling(0.0f, 0, 1.0f, 0.5));
    assert_int_equal(greedy.token, 7);
    assert_int_equal(greedy.argmax, 7);
    double sum = 0;
    for (int i = 0; i < VOCAB; i++) {
        const dy_pick f = pick(l, (dy_pick_params){.temperature = 0.7f, .sample_top_k = 1, .sample_top_p = 0.1f, .forced = i});
        assert_int_equal(f.token, i);  // forced wins over every sampling setting
        assert_int_equal(f.argmax, 7);
        sum += exp(f.logprob);
    }
    assert_true(fabs(sum - 1.0) < 1e-5);
    const dy_pick_params at7 = {.forced = 7}, at31 = {.forced = 31};
    assert_true(pick(l, at7).logprob == pick(l, at31).logprob);
    assert_true(pick(l, at7).logprob == greedy.logprob);
    // The logprob has no temperature in it: a sampled token reports log_softmax(logits).
    const dy_pick hot = pick(l, sampling(2.0f, 0, 1.0f, 0.3));
    const dy_pick_params at_hot = {.forced = hot.token};
    assert_true(hot.logprob == pick(l, at_hot).logprob);
}

// Three tokens with softmax 0.2, 0.5, 0.3 at ids 3, 10, 40: the walk goes by ascending id, so u
// maps to 3 below 0.2, to 10 below 0.7, to 40 above (not in order of probability).
static void test_walk_in_id_order(void **state) {
    (void)state;
    float l[VOCAB];
    for (int i = 0; i < VOCAB; i++) l[i] = -INFINITY;
    l[3] = logf(0.2f);
    l[10] = logf(0.5f);
    l[40] = logf(0.3f);
    const double us[] = {0.0, 0.1, 0.19, 0.21, 0.5, 0.69, 0.71, 0.9, 1.0 - 0x1p-53};
    const int32_t want[] = {3, 3, 3, 10, 10, 10, 40, 40, 40};
    for (int i = 0; i < 9; i++) assert_int_equal(pick(l, sampling(1.0f, 0, 1.0f, us[i])).token, want[i]);
    // top_k 2 keeps 10 and 40 (0.5 / 0.8 and 0.3 / 0.8); -inf ids are never taken.
    assert_int_equal(pick(l, sampling(1.0f, 2, 1.0f, 0.6)).token, 10);
    assert_int_equal(pick(l, sampling(1.0f, 2, 1.0f, 0.65)).token, 40);
    assert_int_equal(pick(l, sampling(1.0f, 20, 1.0f, 1.0 - 0x1p-53)).token, 40);
    // top_p 0.6: 10 alone has 0.5, so 40 crosses and is kept; 3 is not.
    assert_int_equal(pick(l, sampling(1.0f, 0, 0.6f, 0.0)).token, 10);
    assert_int_equal(pick(l, sampling(1.0f, 0, 0.6f, 0.7)).token, 40);
}

// Ties at the thresholds are split by id, as in the order (p desc, id asc): of four equal
// tokens top_k 2 keeps the two lowest ids, and top_p 0.45 needs (and keeps) the same two.
static void test_ties_at_thresholds(void **state) {
    (void)state;
    float l[VOCAB];
    for (int i = 0; i < VOCAB; i++) l[i] = -5.0f;
    l[4] = l[9] = l[22] = l[48] = 2.0f;
    for (double u = 0; u < 1; u += 0.01) {
        const int32_t k = pick(l, sampling(1.0f, 2, 1.0f, u)).token, p = pick(l, sampling(0.5f, 0, 0.45f, u)).token;
        assert_true(k == 4 || k == 9);
        assert_true(p == 4 || p == 9);
        assert_int_equal(pick(l, sampling(1.0f, 1, 1.0f, u)).token, 4);
    }
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
    dy_sampler_init(&s, temperature, top_p, top_k, 42);
    enum { DRAWS = 200000 };
    int counts[VOCAB] = {0};
    for (int d = 0; d < DRAWS; d++) {
        const dy_pick_params params = dy_sampler_next(&s, -1);
        counts[pick(l, params).token]++;
    }
    for (int i = 0; i < VOCAB; i++) {
        if (allowed[i] == 0) {
            if (counts[i]) fail_msg("token %d drawn %d times but outside top-k/top-p", i, counts[i]);
            continue;
        }
        double expect = allowed[i] * DRAWS, sd = sqrt(expect * (1 - allowed[i]));
        if (fabs(counts[i] - expect) > 5 * sd + 1)
            fail_msg("T %g k %d p %g: token %d drawn %d times, expected %.0f", temperature, top_k, top_p, i, counts[i], expect);
    }
}

static void test_sampling_distributions(void **state) {
    (void)state;
    check_distribution(1.0f, 0, 1.0f);
    check_distribution(0.6f, 20, 0.95f);  // the Qwen3 thinking-mode settings
    check_distribution(1.5f, 5, 1.0f);
    check_distribution(1.0f, 0, 0.5f);
}

// Same seed, same tokens; another seed, other tokens. Forced and greedy steps draw nothing, so
// they leave the sampled sequence as it was.
static void test_seeds_and_draws(void **state) {
    (void)state;
    float l[VOCAB];
    random_logits(l, 3);
    dy_sampler a, b, c, g;
    dy_sampler_init(&a, 1.0f, 1.0f, 0, 7);
    dy_sampler_init(&b, 1.0f, 1.0f, 0, 7);
    dy_sampler_init(&c, 1.0f, 1.0f, 0, 8);
    dy_sampler_init(&g, 0.0f, 1.0f, 0, 7);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        const dy_pick_params forced = dy_sampler_next(&b, 5);
        assert_int_equal(forced.forced, 5);
        const dy_pick_params greedy = dy_sampler_next(&g, -1);
        assert_true(greedy.temperature == 0 && greedy.u == 0 && greedy.forced == -1);
        const dy_pick_params pa = dy_sampler_next(&a, -1), pb = dy_sampler_next(&b, -1), pc = dy_sampler_next(&c, -1);
        assert_true(pa.u >= 0 && pa.u < 1 && pa.forced == -1);
        const int32_t x = pick(l, pa).token, y = pick(l, pb).token, z = pick(l, pc).token;
        assert_int_equal(x, y);
        differ += x != z;
    }
    assert_true(differ > 10);
    assert_true(g.state == (7 ^ 0x853C49E6748FEA9Bull));  // greedy never advanced its generator
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argmax_logprob_forced), cmocka_unit_test(test_walk_in_id_order),
        cmocka_unit_test(test_ties_at_thresholds),    cmocka_unit_test(test_sampling_distributions),
        cmocka_unit_test(test_seeds_and_draws),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

// The DySCO controller on plain arrays: the phase timeline, the decay update, top-k / nucleus /
// hybrid selection (hand-computed cases and a brute-force reference on random vectors), template
// masking, hard masking, the static variant and the generation_logging counters.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dysco/dysco_controller.h"

#define LOG2F ((float)log(2.0))

// A validated-looking config: one head, the given selection, strength and decay, no templates.
static dy_dysco_config config(int top_k, double top_p, double strength, double decay) {
    dy_dysco_config c;
    dy_dysco_config_defaults(&c);
    c.n_heads = 1;
    dy_dysco_override_top_k(&c, top_k);
    dy_dysco_override_top_p(&c, top_p);
    c.strength = strength;
    c.decay = decay;
    c.ctx_warmup = 1;
    return c;
}

static void add_template(dy_dysco_config *c, const int32_t *seq, int len) {
    const int start = c->template_start[c->n_templates];
    memcpy(c->template_tokens + start, seq, (size_t)len * sizeof *seq);
    c->template_start[++c->n_templates] = start + len;
}

// A state whose importance is v / sum(v) at KV length c: prompt of c zeros, Wc = 1, Wi = 0, so
// the prefill leaves c - 1 zeros and one update (old all zero) sets the importance.
static void state_with(dy_dysco_state *s, dy_dysco_config *cfg, const float *v, int c) {
    int32_t *prompt = calloc((size_t)c, sizeof *prompt);
    dy_error err;
    cfg->ctx_warmup = 1;
    if (dy_dysco_init(s, cfg, prompt, c, 0, c + 8, &err)) fail_msg("%s", err.msg);
    free(prompt);
    dy_dysco_update(s, v, 1, c);
}

// Runs one dynamic selection on v and returns the selected positions as a bit string "01..".
static const char *select_on(dy_dysco_config cfg, const float *v, int c, double log_out[DY_DYSCO_LOG_N]) {
    static char bits[64];
    dy_dysco_state s;
    float bias[64];
    state_with(&s, &cfg, v, c);
    dy_dysco_select_and_bias(&s, c, bias);
    for (int j = 0; j < c; j++) bits[j] = s.selected[j] ? '1' : '0';
    bits[c] = 0;
    for (int j = 0; j < c - 1; j++) assert_true(bias[j] == (s.selected[j] ? LOG2F : 0.0f));
    assert_true(bias[c - 1] == LOG2F);
    if (log_out) dy_dysco_logging(&s, log_out);
    dy_dysco_free(&s);
    return bits;
}

static void test_phases(void **state) {
    (void)state;
    // Qwen3 non-thinking with the shipped configs: N = 40, Wc = 8, Wi = 7, T = 15.
    const int n = 40, wc = 8, wi = 7;
    assert_int_equal(dy_dysco_prefill_len(n, wc, wi), 25);
    int warmup = 0, intervene = 0, produced_at = -1;
    for (int cur = 26; cur <= n + 3; cur++) {
        if (dy_dysco_phase_at(cur, n, wi) == DY_DYSCO_WARMUP) {
            assert_int_equal(intervene, 0);  // warmup steps come first
            warmup++;
        } else {
            if (intervene++ == 0) assert_int_equal(cur - 1, n - wi - 1);  // starts by feeding x[N-Wi-1]
        }
        if (produced_at < 0 && dy_dysco_step_produces(cur, n)) produced_at = cur - 1;
    }
    assert_int_equal(warmup, wc - 1);  // Wc - 1 warmup steps, not Wc
    assert_int_equal(intervene, wi + 1 + 3);
    assert_int_equal(produced_at, n - 1);  // the logits of x[N-1] give output token 1
    // Wc = 1, Wi = 0: no warmup; the only held-back token x[N-1] is fed under intervention.
    assert_int_equal(dy_dysco_prefill_len(10, 1, 0), 9);
    assert_int_equal(dy_dysco_phase_at(10, 10, 0), DY_DYSCO_INTERVENE);
    assert_true(dy_dysco_step_produces(10, 10));
    assert_false(dy_dysco_step_produces(9, 10));
}

static void test_decay(void **state) {
    (void)state;
    dy_dysco_config cfg = config(2, 0, 2.0, 0.5);
    cfg.ctx_warmup = 2;
    const int32_t prompt[4] = {0};
    dy_dysco_state s;
    dy_error err;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 4, 0, 8, &err), 0);
    assert_int_equal(s.len, 2);  // N - T zeros
    // First update: old is all zero, the sum is the head mean's sum (1 here).
    const float a1[] = {0.5f, 0.25f, 0.25f};
    dy_dysco_update(&s, a1, 1, 3);
    assert_int_equal(s.len, 3);
    for (int j = 0; j < 3; j++) assert_true(s.importance[j] == a1[j]);
    // Two pairs, mean [0.25, 0.25, 0.125, 0.375]; history 0.5 * old on positions 0..2 only;
    // divided by the actual sum 1.5.
    const float a2[] = {0.125f, 0.375f, 0.125f, 0.375f, /* pair 2 */ 0.375f, 0.125f, 0.125f, 0.375f};
    dy_dysco_update(&s, a2, 2, 4);
    const float mean[] = {0.25f, 0.25f, 0.125f, 0.375f};
    for (int j = 0; j < 4; j++) assert_true(s.attn[j] == mean[j]);
    const double want[] = {0.5 / 1.5, 0.375 / 1.5, 0.25 / 1.5, 0.375 / 1.5};
    for (int j = 0; j < 4; j++) assert_true(s.importance[j] == (float)want[j]);
    // A head mean that does not sum to 1: still divided by the actual sum, not by 1 + lambda.
    const float a3[] = {0.0f, 0.0f, 0.0f, 0.25f, 0.25f};
    dy_dysco_update(&s, a3, 1, 5);
    double num[5], sum = 0;
    for (int j = 0; j < 4; j++) num[j] = a3[j] + 0.5 * (float)want[j];
    num[4] = 0.25;
    for (int j = 0; j < 5; j++) sum += num[j];
    for (int j = 0; j < 5; j++) assert_float_equal(s.importance[j], num[j] / sum, 1e-7);
    assert_float_equal(sum, 1.0, 1e-7);  // 0.25 + 0.5 * 1 + 0.25
    dy_dysco_free(&s);
}

static void test_top_k_ties(void **state) {
    (void)state;
    const float v[] = {0.2f, 0.3f, 0.2f, 0.3f, 0.0f};
    double lg[DY_DYSCO_LOG_N];
    assert_string_equal(select_on(config(3, 0, 2.0, 0.5), v, 5, lg), "11010");  // tie at 0.2: the lower index
    assert_true(lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 3 && lg[DY_DYSCO_LOG_SCALE_BY_TOKEN] == 1);
    assert_true(lg[DY_DYSCO_LOG_SCALE_BY_NUCLEUS] == 0 && lg[DY_DYSCO_LOG_NUM_GENERATIONS] == 1);
    assert_float_equal(lg[DY_DYSCO_LOG_AVG_NUCLEUS_MASS], 0.8, 1e-6);  // the selected importance
    assert_string_equal(select_on(config(1, 0, 2.0, 0.5), v, 5, NULL), "01000");
    assert_string_equal(select_on(config(2, 0, 2.0, 0.5), v, 5, NULL), "01010");
    // k > c: every position (kk = min(k, c)).
    assert_string_equal(select_on(config(100, 0, 2.0, 0.5), v, 5, lg), "11111");
    assert_true(lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 5);
    const float flat[] = {1, 1, 1, 1, 1, 1};
    assert_string_equal(select_on(config(4, 0, 2.0, 0.5), flat, 6, NULL), "111100");
}

static void test_nucleus(void **state) {
    (void)state;
    const float v[] = {0.125f, 0.5f, 0.125f, 0.25f};  // sorted: 1 (0.5), 3 (0.25), 0 (0.125), 2 (0.125)
    double lg[DY_DYSCO_LOG_N];
    // cumsum 0.5, 0.75, 0.875, 1: the token that crosses p is excluded (top-p sampling keeps it).
    assert_string_equal(select_on(config(0, 0.7, 2.0, 0.5), v, 4, lg), "0100");
    assert_true(lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 1 && lg[DY_DYSCO_LOG_SCALE_BY_NUCLEUS] == 1);
    assert_true(lg[DY_DYSCO_LOG_AVG_NUCLEUS_MASS] == 0.7);  // p itself, not the realised 0.5
    assert_true(lg[DY_DYSCO_LOG_SCALE_BY_TOKEN] == 0);
    assert_string_equal(select_on(config(0, 0.75, 2.0, 0.5), v, 4, NULL), "0101");   // cumsum == p is kept
    assert_string_equal(select_on(config(0, 0.874, 2.0, 0.5), v, 4, NULL), "0101");
    assert_string_equal(select_on(config(0, 0.875, 2.0, 0.5), v, 4, NULL), "1101");  // equal values: lower index first
    assert_string_equal(select_on(config(0, 1.0, 2.0, 0.5), v, 4, lg), "1111");
    assert_true(lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 4);
    // Always at least one: the first sorted position, even when it alone exceeds p.
    const float peaked[] = {0.1f, 0.9f};
    assert_string_equal(select_on(config(0, 0.5, 2.0, 0.5), peaked, 2, lg), "01");
    assert_true(lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 1);
    // Renormalised by the sum first: unnormalised input selects the same.
    const float scaled[] = {1, 4, 1, 2};
    assert_string_equal(select_on(config(0, 0.75, 2.0, 0.5), scaled, 4, NULL), "0101");
}

static void test_hybrid(void **state) {
    (void)state;
    const float flat[] = {1, 1, 1, 1, 1, 1, 1, 1};  // 1/8 each: the nucleus at p = 0.5 holds 4
    double lg[DY_DYSCO_LOG_N];
    assert_string_equal(select_on(config(4, 0.5, 2.0, 0.5), flat, 8, lg), "11110000");  // 4 <= k: nucleus
    assert_true(lg[DY_DYSCO_LOG_SCALE_BY_NUCLEUS] == 1 && lg[DY_DYSCO_LOG_AVG_NUCLEUS_MASS] == 0.5);
    assert_string_equal(select_on(config(3, 0.5, 2.0, 0.5), flat, 8, lg), "11100000");  // 4 > k: top-k
    assert_true(lg[DY_DYSCO_LOG_SCALE_BY_TOKEN] == 1 && lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 3);
    assert_true(lg[DY_DYSCO_LOG_AVG_NUCLEUS_MASS] == 0.375);
    const float v[] = {0.0625f, 0.5f, 0.0625f, 0.25f, 0.125f};
    assert_string_equal(select_on(config(1, 0.9, 2.0, 0.5), v, 5, NULL), "01000");  // nucleus of 3 > 1
    assert_string_equal(select_on(config(3, 0.9, 2.0, 0.5), v, 5, NULL), "01011");  // nucleus of 3
}

static void test_logging_over_steps(void **state) {
    (void)state;
    // decay 0: the importance is each step's head mean, normalised.
    dy_dysco_config cfg = config(2, 0.5, 2.0, 0.0);
    const int32_t prompt[3] = {0};
    dy_dysco_state s;
    dy_error err;
    float bias[8];
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 3, 0, 8, &err), 0);
    const float a3[] = {0.75f, 0.125f, 0.125f};  // nucleus {0}: 1 <= 2
    dy_dysco_update(&s, a3, 1, 3);
    dy_dysco_select_and_bias(&s, 3, bias);
    assert_int_equal(dy_dysco_last_n_selected(&s), 1);
    const float a4[] = {0.125f, 0.125f, 0.125f, 0.625f};  // nucleus {3}: 1 <= 2
    dy_dysco_update(&s, a4, 1, 4);
    dy_dysco_select_and_bias(&s, 4, bias);
    const float a5[] = {0.125f, 0.125f, 0.25f, 0.25f, 0.25f};  // nucleus {2, 3} (0.5 <= p): 2 <= 2
    dy_dysco_update(&s, a5, 1, 5);
    dy_dysco_select_and_bias(&s, 5, bias);
    assert_int_equal(dy_dysco_last_n_selected(&s), 2);
    const float a6[] = {0.0625f, 0.0625f, 0.125f, 0.125f, 0.125f, 0.5f};  // nucleus {5} -> 1
    dy_dysco_update(&s, a6, 1, 6);
    dy_dysco_select_and_bias(&s, 6, bias);
    const float a7[] = {0.125f, 0.125f, 0.125f, 0.125f, 0.125f, 0.125f, 0.25f};  // nucleus 3 > 2: top-2
    dy_dysco_update(&s, a7, 1, 7);
    dy_dysco_select_and_bias(&s, 7, bias);
    assert_int_equal(dy_dysco_last_n_selected(&s), 2);
    double lg[DY_DYSCO_LOG_N];
    dy_dysco_logging(&s, lg);
    assert_true(lg[DY_DYSCO_LOG_NUM_GENERATIONS] == 5);
    assert_float_equal(lg[DY_DYSCO_LOG_AVG_NUM_TOKEN], (1 + 1 + 2 + 1 + 2) / 5.0, 1e-12);
    assert_float_equal(lg[DY_DYSCO_LOG_AVG_NUCLEUS_MASS], (4 * 0.5 + 0.375) / 5.0, 1e-7);
    assert_float_equal(lg[DY_DYSCO_LOG_SCALE_BY_TOKEN], 0.2, 1e-12);
    assert_float_equal(lg[DY_DYSCO_LOG_SCALE_BY_NUCLEUS], 0.8, 1e-12);
    dy_dysco_free(&s);

    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 3, 0, 8, &err), 0);
    dy_dysco_logging(&s, lg);  // before any selection
    for (int i = 0; i < DY_DYSCO_LOG_N; i++) assert_true(lg[i] == 0);
    dy_dysco_free(&s);
}

static void test_template_masking(void **state) {
    (void)state;
    // Templates [8 9 8] (two overlapping occurrences at 2 and 4) and [5]; N = 12; k selects all.
    const int32_t prompt[12] = {5, 1, 8, 9, 8, 9, 8, 2, 8, 9, 3, 5};
    const int32_t t1[] = {8, 9, 8}, t2[] = {5};
    dy_dysco_config cfg = config(100, 0, 2.0, 0.5);
    add_template(&cfg, t1, 3);
    add_template(&cfg, t2, 1);
    cfg.ctx_warmup = 1;
    dy_dysco_state s;
    dy_error err;
    float bias[16], probs[16];
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 12, 2, 16, &err), 0);  // Wi = 2: first intervention c = 10
    const char want_mask[] = "101111100001";
    for (int j = 0; j < 12; j++) assert_int_equal(s.template_mask[j], want_mask[j] == '1');
    for (int c = 10; c <= 15; c++) {
        for (int j = 0; j < c; j++) probs[j] = 1.0f;
        dy_dysco_update(&s, probs, 1, c);
        dy_dysco_select_and_bias(&s, c, bias);
        assert_int_equal(dy_dysco_last_n_selected(&s), c);  // counted before masking
        for (int j = 0; j < c - 1; j++) {
            const bool masked = j < 12 && want_mask[j] == '1';  // generated positions never are
            if (bias[j] != (masked ? 0.0f : LOG2F)) fail_msg("c %d position %d: bias %g", c, j, bias[j]);
        }
        assert_true(bias[c - 1] == LOG2F);  // position 11 is a template token, still up-weighted at c = 12
    }
    dy_dysco_free(&s);

    // scale_template_tokens: no mask at all.
    cfg.scale_template_tokens = true;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 12, 2, 16, &err), 0);
    assert_null(s.template_mask);
    for (int j = 0; j < 10; j++) probs[j] = 1.0f;
    dy_dysco_update(&s, probs, 1, 10);
    dy_dysco_select_and_bias(&s, 10, bias);
    for (int j = 0; j < 10; j++) assert_true(bias[j] == LOG2F);
    dy_dysco_free(&s);
}

static void test_hard_mask(void **state) {
    (void)state;
    const int32_t prompt[6] = {7, 1, 2, 3, 4, 5};
    const int32_t tmpl[] = {7};
    dy_dysco_config cfg = config(2, 0, 99.0, 0.5);
    add_template(&cfg, tmpl, 1);
    dy_dysco_state s;
    dy_error err;
    float bias[6];
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 6, 0, 6, &err), 0);
    const float v[] = {0.5f, 0.125f, 0.25f, 0.0f, 0.0f, 0.125f};
    dy_dysco_update(&s, v, 1, 6);
    dy_dysco_select_and_bias(&s, 6, bias);
    // Selected {0, 2} (position 0 is a template token: not masked in this mode) and c-1 get 0.
    const bool open[] = {true, false, true, false, false, true};
    for (int j = 0; j < 6; j++) {
        if (open[j]) assert_true(bias[j] == 0.0f);
        else assert_true(isinf(bias[j]) && bias[j] < 0);
    }
    dy_dysco_free(&s);
    // s = 2.5: the bias is log(2.5) in fp32.
    cfg.strength = 2.5;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 6, 0, 6, &err), 0);
    dy_dysco_update(&s, v, 1, 6);
    dy_dysco_select_and_bias(&s, 6, bias);
    assert_true(bias[2] == (float)log(2.5) && bias[0] == 0.0f && bias[1] == 0.0f && bias[5] == (float)log(2.5));
    dy_dysco_free(&s);
}

static void test_static_mode(void **state) {
    (void)state;
    // N = 10, Wc = 3, Wi = 2: prefill 5; warmup at c = 6, 7; first intervention at c = 8.
    dy_dysco_config cfg = config(2, 0, 2.0, 0.5);
    cfg.dynamic = false;
    const int32_t prompt[10] = {0};
    dy_dysco_state s;
    dy_error err;
    float bias[16];
    cfg.ctx_warmup = 3;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 10, 2, 16, &err), 0);
    assert_int_equal(s.len, 5);
    const float w6[] = {0, 0, 0.5f, 0, 0.25f, 0.25f};
    const float w7[] = {0, 0, 0, 0, 0, 0.25f, 0.75f};
    assert_int_equal(dy_dysco_phase_at(6, 10, 2), DY_DYSCO_WARMUP);
    dy_dysco_update(&s, w6, 1, 6);
    assert_int_equal(dy_dysco_phase_at(7, 10, 2), DY_DYSCO_WARMUP);
    dy_dysco_update(&s, w7, 1, 7);
    // importance ~ [0, 0, .25, 0, .125, .375, .75] / 1.5: top-2 = {6, 5} of the 7 warmup positions.
    for (int c = 8; c <= 14; c++) {
        assert_int_equal(dy_dysco_phase_at(c, 10, 2), DY_DYSCO_INTERVENE);
        dy_dysco_select_and_bias(&s, c, bias);  // static: no speculative pass, no update
        for (int j = 0; j < c - 1; j++) assert_true(bias[j] == (j == 5 || j == 6 ? LOG2F : 0.0f));
        assert_true(bias[c - 1] == LOG2F);
        assert_int_equal(dy_dysco_last_n_selected(&s), 2);
    }
    double lg[DY_DYSCO_LOG_N];
    dy_dysco_logging(&s, lg);
    assert_true(lg[DY_DYSCO_LOG_NUM_GENERATIONS] == 1 && lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 2);
    assert_float_equal(lg[DY_DYSCO_LOG_AVG_NUCLEUS_MASS], (0.375 + 0.75) / 1.5, 1e-6);
    dy_dysco_free(&s);

    // Wc = 1: no warmup; the selection runs over the initial zeros (first positions win ties).
    cfg.ctx_warmup = 1;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 10, 2, 16, &err), 0);
    dy_dysco_select_and_bias(&s, 8, bias);
    for (int j = 0; j < 7; j++) assert_true(bias[j] == (j < 2 ? LOG2F : 0.0f));
    dy_dysco_free(&s);
    // k above the length: the selection covers the c - 1 positions before the current one.
    cfg.ctx_warmup = 3;
    cfg.select_top_k = 100;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 10, 2, 16, &err), 0);
    dy_dysco_update(&s, w6, 1, 6);
    dy_dysco_update(&s, w7, 1, 7);
    dy_dysco_select_and_bias(&s, 8, bias);
    assert_int_equal(dy_dysco_last_n_selected(&s), 7);
    dy_dysco_logging(&s, lg);
    assert_true(lg[DY_DYSCO_LOG_AVG_NUM_TOKEN] == 7);
    dy_dysco_free(&s);
}

static void test_top_positions(void **state) {
    (void)state;
    dy_dysco_config cfg = config(1, 0, 2.0, 0.5);
    dy_dysco_state s;
    const float v[] = {0.1f, 0.3f, 0.05f, 0.3f, 0.2f, 0.05f};
    state_with(&s, &cfg, v, 6);
    int out[8];
    assert_int_equal(dy_dysco_top_positions(&s, out, 8), 6);
    const int want[] = {1, 3, 4, 0, 2, 5};
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(dy_dysco_top_positions(&s, out, 3), 3);
    assert_memory_equal(out, want, 3 * sizeof *out);
    assert_int_equal(dy_dysco_top_positions(&s, out, 5), 5);  // 2 and 5 tie at the cut: 2 stays
    assert_memory_equal(out, want, 5 * sizeof *out);
    assert_int_equal(dy_dysco_top_positions(&s, out, 0), 0);
    dy_dysco_free(&s);
}

static void test_init_errors(void **state) {
    (void)state;
    dy_dysco_config cfg = config(1, 0, 2.0, 0.5);
    const int32_t prompt[4] = {0};
    dy_dysco_state s;
    dy_error err;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 4, 3, 8, &err), -1);  // T = 4 = N
    assert_non_null(strstr(err.msg, "leave no prefill for a 4-token prompt"));
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, 4, 0, 3, &err), -1);
    assert_non_null(strstr(err.msg, "dysco: a context of 3 tokens cannot hold the 4-token prompt"));
}

// ---- Randomised: selection and masking against a brute-force reference ---------------------

static uint64_t rng = 0x5eed;
static uint64_t next_u64(void) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static double uniform(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }
static int below(int n) { return (int)(next_u64() % (uint64_t)n); }

static const float *sort_values;
static int by_value_desc(const void *a, const void *b) {
    const int i = *(const int *)a, j = *(const int *)b;
    const float x = sort_values[i], y = sort_values[j];
    return x > y ? -1 : x < y ? 1 : (i > j) - (i < j);
}

// Straight from the reference's _nucleus_mask (dysco/README §3): stable descending sort, cumsum of the
// renormalised values, top-k.
static int reference_select(const float *v, int c, const dy_dysco_config *cfg, bool *mask, bool *by_token, double *mass) {
    int *order = malloc((size_t)c * sizeof *order);
    for (int j = 0; j < c; j++) order[j] = j;
    sort_values = v;
    qsort(order, (size_t)c, sizeof *order, by_value_desc);
    int count = 0;
    *by_token = !cfg->has_select_top_p;
    memset(mask, 0, (size_t)c);
    if (cfg->has_select_top_p) {
        double sum = 0, cum = 0;
        for (int j = 0; j < c; j++) sum += v[j];
        for (int i = 0; i < c; i++) {
            cum += v[order[i]] / sum;
            if (i == 0 || cum <= cfg->select_top_p) {
                mask[order[i]] = true;
                count++;
            }
        }
        *by_token = cfg->has_select_top_k && count > cfg->select_top_k;
    }
    if (*by_token) {
        memset(mask, 0, (size_t)c);
        count = cfg->select_top_k < c ? cfg->select_top_k : c;
        *mass = 0;
        for (int i = 0; i < count; i++) {
            mask[order[i]] = true;
            *mass += v[order[i]];
        }
    }
    free(order);
    return count;
}

// Values with heavy tails, exact ties (few levels) and zeros, so every rule is exercised.
static void random_values(float *v, int c) {
    const int kind = below(4);
    for (int j = 0; j < c; j++) {
        if (kind == 0) v[j] = (float)uniform();
        else if (kind == 1) v[j] = (float)exp(8 * uniform() * uniform() * 3 - 12);
        else if (kind == 2) v[j] = (float)below(4) / 4.0f;
        else v[j] = below(10) == 0 ? (float)below(1000) : 0.001f * (float)below(3);
    }
    v[below(c)] += 1.0f;  // never all zero
}

static void test_random_selection(void **state) {
    (void)state;
    for (int trial = 0; trial < 400; trial++) {
        const int c = trial == 0 ? 131072 : 2 + below(trial < 200 ? 60 : 5000);
        float *v = malloc((size_t)c * sizeof *v), *bias = malloc((size_t)c * sizeof *bias);
        bool *mask = malloc((size_t)c);
        random_values(v, c);
        const int mode = below(3);  // top-k, nucleus, hybrid
        const int k = mode == 1 ? 0 : 1 + below(c + 4);
        const double p = mode == 0 ? 0 : below(5) == 0 ? 1.0 : 0.05 + 0.95 * uniform();
        dy_dysco_config cfg = config(k, p, 2.0, 0.75);
        dy_dysco_state s;
        state_with(&s, &cfg, v, c);
        dy_dysco_select_and_bias(&s, c, bias);
        bool by_token;
        double mass = 0, lg[DY_DYSCO_LOG_N];
        const int count = reference_select(s.importance, c, &cfg, mask, &by_token, &mass);
        for (int j = 0; j < c; j++)
            if (s.selected[j] != mask[j]) fail_msg("trial %d (c %d, k %d, p %g): position %d differs", trial, c, k, p, j);
        assert_int_equal(dy_dysco_last_n_selected(&s), count);
        for (int j = 0; j < c - 1; j++) assert_true(bias[j] == (mask[j] ? LOG2F : 0.0f));
        assert_true(bias[c - 1] == LOG2F);
        dy_dysco_logging(&s, lg);
        assert_true(lg[DY_DYSCO_LOG_SCALE_BY_TOKEN] == (by_token ? 1 : 0));
        assert_true(lg[DY_DYSCO_LOG_AVG_NUCLEUS_MASS] == (by_token ? mass : p));
        dy_dysco_free(&s);
        free(v);
        free(bias);
        free(mask);
    }
}

static void test_random_templates(void **state) {
    (void)state;
    for (int trial = 0; trial < 200; trial++) {
        const int n = 2 + below(80), gen = below(5), c_max = n + gen;
        int32_t *prompt = malloc((size_t)n * sizeof *prompt);
        for (int j = 0; j < n; j++) prompt[j] = below(3);
        dy_dysco_config cfg = config(c_max, 0, 2.0, 0.75);  // k selects every position
        const int n_templates = 1 + below(3);
        for (int t = 0; t < n_templates; t++) {
            int32_t seq[4];
            const int len = below(5);
            for (int i = 0; i < len; i++) seq[i] = below(3);
            add_template(&cfg, seq, len);
        }
        bool *want = calloc((size_t)n, 1);
        for (int t = 0; t < cfg.n_templates; t++) {
            const int32_t *seq = cfg.template_tokens + cfg.template_start[t];
            const int len = cfg.template_start[t + 1] - cfg.template_start[t];
            for (int j = 0; j < n; j++)
                for (int i = j - len + 1; len > 0 && i <= j; i++)
                    if (i >= 0 && i + len <= n && memcmp(prompt + i, seq, (size_t)len * sizeof *seq) == 0) want[j] = true;
        }
        const int wi = below(n - 1);  // T = 1 + wi < n
        dy_dysco_state s;
        dy_error err;
        if (dy_dysco_init(&s, &cfg, prompt, n, wi, c_max, &err)) fail_msg("%s", err.msg);
        float *probs = malloc((size_t)c_max * sizeof *probs), *bias = malloc((size_t)c_max * sizeof *bias);
        for (int c = n - wi; c <= c_max; c++) {
            for (int j = 0; j < c; j++) probs[j] = 1.0f;
            dy_dysco_update(&s, probs, 1, c);
            dy_dysco_select_and_bias(&s, c, bias);
            for (int j = 0; j < c - 1; j++) {
                const float expect = j < n && want[j] ? 0.0f : LOG2F;
                if (bias[j] != expect) fail_msg("trial %d c %d position %d", trial, c, j);
            }
            assert_true(bias[c - 1] == LOG2F);
        }
        dy_dysco_free(&s);
        free(prompt);
        free(want);
        free(probs);
        free(bias);
    }
}

// The decay recursion over many steps against a direct double computation.
static void test_random_decay(void **state) {
    (void)state;
    dy_dysco_config cfg = config(4, 0.9, 2.0, 0.75);
    const int n = 50, pairs = 3;
    int32_t prompt[50] = {0};
    dy_dysco_state s;
    dy_error err;
    cfg.ctx_warmup = 10;
    assert_int_equal(dy_dysco_init(&s, &cfg, prompt, n, 0, 200, &err), 0);
    double ref[200] = {0};
    float probs[3 * 200];
    for (int c = 41; c <= 200; c++) {
        for (int i = 0; i < pairs; i++) {
            double sum = 0;
            for (int j = 0; j < c; j++) {
                probs[i * c + j] = (float)uniform();
                sum += probs[i * c + j];
            }
            for (int j = 0; j < c; j++) probs[i * c + j] = (float)(probs[i * c + j] / sum);
        }
        double num[200], total = 0;
        for (int j = 0; j < c; j++) {
            const double a = (float)(((double)probs[j] + probs[c + j] + probs[2 * c + j]) / pairs);
            num[j] = a + (j < c - 1 ? 0.75 * ref[j] : 0);
            total += num[j];
        }
        for (int j = 0; j < c; j++) ref[j] = num[j] / total;
        dy_dysco_update(&s, probs, pairs, c);
        for (int j = 0; j < c; j++) assert_float_equal(s.importance[j], ref[j], 1e-6 * ref[j] + 1e-12);
    }
    dy_dysco_free(&s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_phases),           cmocka_unit_test(test_decay),
        cmocka_unit_test(test_top_k_ties),       cmocka_unit_test(test_nucleus),
        cmocka_unit_test(test_hybrid),           cmocka_unit_test(test_logging_over_steps),
        cmocka_unit_test(test_template_masking), cmocka_unit_test(test_hard_mask),
        cmocka_unit_test(test_static_mode),      cmocka_unit_test(test_top_positions),
        cmocka_unit_test(test_init_errors),      cmocka_unit_test(test_random_selection),
        cmocka_unit_test(test_random_templates), cmocka_unit_test(test_random_decay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

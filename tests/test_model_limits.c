// The bounds of one forward: more capture pairs than DY_MODEL_MAX_CAPTURE, or positions outside
// the KV cache, fail with one line before anything runs (the model works on afterwards), and
// one-token steps of more kinds than DY_MODEL_MAX_STEP_GRAPHS run directly, with the same logits,
// once the recorded graphs are used up.
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

#include "runtime/model/model.h"
#include "test_util.h"

enum { CTX = 16, CHUNK = 4, PROMPT = 3 };
static const dy_init_params INIT = {.seed = 5, .std = 0.02, .norm_jitter = 0.1};
static const int32_t TOKENS[PROMPT + 1] = {7, 42, 3, 99};

static void load_tiny(dy_model *m, dy_backend *be) {
    dy_model_config c;
    load_preset("tiny-qwen3", &c, 512);
    dy_error err;
    if (dy_model_load_random(m, be, &c, &INIT, CTX, CHUNK, &err)) fail_msg("load: %s", err.msg);
}

// The prompt, then the logits of the next position with opts (logits set here).
static void step_logits(dy_model *m, dy_forward_opts opts, float *logits) {
    const dy_forward_opts plain = {0};
    dy_error err;
    if (dy_model_forward(m, TOKENS, PROMPT, 0, &plain, &err)) fail_msg("prefill: %s", err.msg);
    opts.logits = logits;
    if (dy_model_forward(m, TOKENS + PROMPT, 1, PROMPT, &opts, &err)) fail_msg("step: %s", err.msg);
}

static void expect_one_line(int rc, const dy_error *err, const char *want) {
    assert_int_equal(rc, -1);
    assert_string_equal(err->msg, want);
}

static void test_capture_pairs_past_the_limit(void **state) {
    (void)state;
    dy_backend *cpu = dy_backend_cpu_create();
    assert_non_null(cpu);
    dy_model m;
    load_tiny(&m, cpu);
    const int vocab = m.cfg.vocab_size;
    float *before = malloc((size_t)vocab * sizeof(float)), *after = malloc((size_t)vocab * sizeof(float));
    assert_true(before && after);
    step_logits(&m, (dy_forward_opts){0}, before);

    // Every pair valid (layer 1, head 2): only their number is past the limit.
    enum { TOO_MANY = DY_MODEL_MAX_CAPTURE + 1 };
    int layer[TOO_MANY], head[TOO_MANY];
    for (int i = 0; i < TOO_MANY; i++) {
        layer[i] = 1;
        head[i] = 2;
    }
    float *probs = malloc((size_t)TOO_MANY * (PROMPT + 1) * sizeof(float));
    assert_non_null(probs);
    dy_forward_opts capture = {
        .n_capture = TOO_MANY, .capture_layer = layer, .capture_head = head, .capture_out = probs};
    dy_error err;
    char want[96];
    snprintf(want, sizeof want, "model: %d capture pairs in one pass (0..%d)", TOO_MANY, DY_MODEL_MAX_CAPTURE);
    expect_one_line(dy_model_forward(&m, TOKENS + PROMPT, 1, PROMPT, &capture, &err), &err, want);
    capture.n_capture = -1;
    snprintf(want, sizeof want, "model: -1 capture pairs in one pass (0..%d)", DY_MODEL_MAX_CAPTURE);
    expect_one_line(dy_model_forward(&m, TOKENS + PROMPT, 1, PROMPT, &capture, &err), &err, want);

    // Exactly the limit captures: every row is the same head's probabilities over the 4 keys.
    capture.n_capture = DY_MODEL_MAX_CAPTURE;
    assert_int_equal(dy_model_forward(&m, TOKENS + PROMPT, 1, PROMPT, &capture, &err), 0);
    double sum = 0;
    for (int j = 0; j <= PROMPT; j++) sum += probs[j];
    assert_true(fabs(sum - 1.0) < 1e-5);
    for (int i = 1; i < DY_MODEL_MAX_CAPTURE; i++)
        assert_memory_equal(probs + i * (PROMPT + 1), probs, (PROMPT + 1) * sizeof(float));

    // The model is as before the refusals: the same step gives the same logits.
    step_logits(&m, (dy_forward_opts){0}, after);
    assert_memory_equal(after, before, (size_t)vocab * sizeof(float));
    free(probs);
    free(before);
    free(after);
    dy_model_free(&m);
    cpu->destroy(cpu);
}

static void test_positions_outside_the_cache(void **state) {
    (void)state;
    dy_backend *cpu = dy_backend_cpu_create();
    assert_non_null(cpu);
    dy_model m;
    load_tiny(&m, cpu);
    const dy_forward_opts plain = {0};
    dy_error err;
    expect_one_line(dy_model_forward(&m, TOKENS, 1, -1, &plain, &err), &err,
                    "model: position -1 is before the start of the KV cache");
    expect_one_line(dy_model_forward(&m, TOKENS, 2, CTX - 1, &plain, &err), &err,
                    "model: position 16 is past the KV cache (16 positions)");
    // Past INT_MAX as an int sum: the message still names the position (UBSan checks no overflow).
    expect_one_line(dy_model_forward(&m, TOKENS, 2, INT_MAX, &plain, &err), &err,
                    "model: position 2147483648 is past the KV cache (16 positions)");
    assert_int_equal(dy_model_forward(&m, TOKENS, 1, CTX - 1, &plain, &err), 0);
    dy_model_free(&m);
    cpu->destroy(cpu);
}

// The CPU backend with graphs that record nothing: ops issued while "recording" run at once and a
// launch does nothing. So the first step of each kind (recorded, then launched) computes what a
// direct step does, and the counts say which steps went through a graph.
static dy_backend *inner;
static int begun, launched, freed;
static char graph_handles[DY_MODEL_MAX_STEP_GRAPHS + 1];

static void fake_begin(dy_backend *b) {
    (void)b;
    assert_true(begun < DY_MODEL_MAX_STEP_GRAPHS);  // the model records no more than its limit
    begun++;
}

static void *fake_end(dy_backend *b) {
    (void)b;
    return &graph_handles[begun - 1];
}

static void fake_launch(dy_backend *b, void *graph) {
    (void)b;
    assert_true((char *)graph >= graph_handles && (char *)graph < graph_handles + begun);
    launched++;
}

static void fake_free(dy_backend *b, void *graph) {
    (void)b;
    (void)graph;
    freed++;
}

static void test_step_kinds_past_the_graph_limit(void **state) {
    (void)state;
    inner = dy_backend_cpu_create();
    assert_non_null(inner);
    dy_backend recording = *inner;
    recording.graph_begin = fake_begin;
    recording.graph_end = fake_end;
    recording.graph_launch = fake_launch;
    recording.graph_free = fake_free;
    begun = launched = freed = 0;
    dy_model m, direct;  // direct: the plain CPU backend, no graphs
    load_tiny(&m, &recording);
    load_tiny(&direct, inner);
    const int vocab = m.cfg.vocab_size;
    float *got = malloc((size_t)vocab * sizeof(float)), *want = malloc((size_t)vocab * sizeof(float));
    assert_true(got && want);

    // Kinds differ by attention temperature: the first DY_MODEL_MAX_STEP_GRAPHS are recorded, the
    // two past the limit run directly. Each kind's first step has the logits of a direct step.
    enum { KINDS = DY_MODEL_MAX_STEP_GRAPHS + 2 };
    for (int k = 0; k < KINDS; k++) {
        const dy_forward_opts opts = {.temperature = 1.0f + 0.125f * (float)k};
        step_logits(&m, opts, got);
        step_logits(&direct, opts, want);
        assert_memory_equal(got, want, (size_t)vocab * sizeof(float));
        const int recorded = k < DY_MODEL_MAX_STEP_GRAPHS ? k + 1 : DY_MODEL_MAX_STEP_GRAPHS;
        assert_int_equal(begun, recorded);
        assert_int_equal(launched, recorded);
    }
    // A kind past the limit again: still direct, still right. A recorded kind: its graph again.
    step_logits(&m, (dy_forward_opts){.temperature = 1.0f + 0.125f * (KINDS - 1)}, got);
    step_logits(&direct, (dy_forward_opts){.temperature = 1.0f + 0.125f * (KINDS - 1)}, want);
    assert_memory_equal(got, want, (size_t)vocab * sizeof(float));
    assert_int_equal(launched, DY_MODEL_MAX_STEP_GRAPHS);
    step_logits(&m, (dy_forward_opts){.temperature = 1.0f}, got);
    assert_int_equal(begun, DY_MODEL_MAX_STEP_GRAPHS);
    assert_int_equal(launched, DY_MODEL_MAX_STEP_GRAPHS + 1);

    dy_model_free(&m);
    assert_int_equal(freed, DY_MODEL_MAX_STEP_GRAPHS);
    dy_model_free(&direct);
    free(got);
    free(want);
    inner->destroy(inner);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_pairs_past_the_limit),
        cmocka_unit_test(test_positions_outside_the_cache),
        cmocka_unit_test(test_step_kinds_past_the_graph_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// The CPU twin with bf16 storage (tests/bf16_storage_backend.h), which the GPU's end-to-end
// argmax is measured against, checked where no GPU is needed: on each tiny preset its residual
// stream and K cache hold bf16 values after teacher-forced prefill and decode (the fp32 CPU's do
// not), its logits stay fp32, and those logits stay within bf16 storage error of the fp32 CPU's
// without being equal to them.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "bf16_storage_backend.h"
#include "model.h"
#include "teacher_forcing.h"
#include "test_util.h"

enum { PROMPT = 12, STEPS = 12, POSITIONS = PROMPT + STEPS, VOCAB = 1024 };

static bool is_bf16(float v) { return dy_bf16_to_f32(dy_f32_to_bf16(v)) == v; }

// Values of a (rows, cols) fp32 matrix at stride that bf16 cannot hold.
static int64_t not_bf16(const float *p, int64_t rows, int64_t cols, int64_t stride) {
    int64_t n = 0;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) n += !is_bf16(p[r * stride + c]);
    return n;
}

// The K cache entries of every layer and KV head at positions [0, POSITIONS) that bf16 cannot hold.
static int64_t k_cache_not_bf16(const dy_model *m) {
    int64_t n = 0;
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int h = 0; h < m->cfg.n_kv_heads; h++)
            n += not_bf16((const float *)m->k_cache[l] + (int64_t)h * m->max_ctx * m->cfg.head_dim, POSITIONS,
                          m->cfg.head_dim, m->cfg.head_dim);
    return n;
}

static double rel_err(const float *got, const float *want, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        den += (double)want[i] * want[i];
    }
    return sqrt(num / den);
}

static void check_preset(const char *preset) {
    dy_model_config cfg;
    load_preset(preset, &cfg, VOCAB);
    const dy_init_params init = {.seed = 11, .std = 0.02, .norm_jitter = 0.1};
    dy_backend *cpu = dy_backend_cpu_create(), *twin = bf16_storage_backend_create(VOCAB);
    assert_non_null(cpu);
    dy_model mc, mt;
    dy_error err;
    if (dy_model_load_random(&mc, cpu, &cfg, &init, POSITIONS, PROMPT, &err) ||
        dy_model_load_random(&mt, twin, &cfg, &init, POSITIONS, PROMPT, &err))
        fail_msg("%s: %s", preset, err.msg);
    int32_t tokens[POSITIONS];
    for (int i = 0; i < POSITIONS; i++) tokens[i] = (int32_t)((i * 7919 + 13) % VOCAB);
    float *fp32 = teacher_forced_logits(&mc, tokens, PROMPT, STEPS), *bf16 = teacher_forced_logits(&mt, tokens, PROMPT, STEPS);

    const int64_t hidden = cfg.hidden_size;
    assert_int_equal(not_bf16(mt.x.data, 1, hidden, hidden), 0);  // the last step's residual row
    assert_true(not_bf16(mc.x.data, 1, hidden, hidden) > 0);
    assert_int_equal(k_cache_not_bf16(&mt), 0);
    assert_true(k_cache_not_bf16(&mc) > 0);
    assert_true(not_bf16(bf16, POSITIONS, VOCAB, VOCAB) > POSITIONS * VOCAB / 2);  // fp32 logits, not rounded
    // Several layers of bf16 storage move the logits by a few tenths of a percent (as on the GPU).
    const double e = rel_err(bf16, fp32, (int64_t)POSITIONS * VOCAB);
    print_message("%s: bf16-storage vs fp32 CPU logits relative error %.3g\n", preset, e);
    assert_true(e > 1e-4 && e < 2e-2);

    free(fp32);
    free(bf16);
    dy_model_free(&mc);
    dy_model_free(&mt);
    cpu->destroy(cpu);
    twin->destroy(twin);
}

static void test_qwen3(void **state) {
    (void)state;
    check_preset("tiny-qwen3");
}

static void test_llama(void **state) {
    (void)state;
    check_preset("tiny-llama");
}

static void test_qwen3_moe(void **state) {
    (void)state;
    check_preset("tiny-qwen3-moe");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_llama),
        cmocka_unit_test(test_qwen3_moe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

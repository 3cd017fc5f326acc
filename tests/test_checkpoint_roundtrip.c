// make-model's writer -> checkpoint loader round trip: every element of every tensor equals the
// generator's value (rounded to the stored dtype), single-file and sharded, bf16 and fp32, and
// 2-D slices (as tensor-parallel ranks read them) equal the same elements of the full tensor.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/model_tensors.h"
#include "runtime/checkpoint/weight_init.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

enum { SMALL_VOCAB = 1000 };  // the tiny presets carry the real vocabularies; a smaller one keeps this fast

static void check_all_values(const dy_checkpoint *ck, dy_dtype dtype, uint64_t seed) {
    dy_tensor_spec *specs;
    dy_error err;
    int n = dy_model_tensor_specs(&ck->config, &specs, &err);
    assert_true(n > 0);
    const dy_init_params init = {.seed = seed, .std = 0.02, .norm_jitter = 0.1};
    for (int i = 0; i < n; i++) {
        const dy_tensor *t = dy_checkpoint_find(ck, specs[i].name);
        assert_non_null(t);
        assert_int_equal(t->dtype, dtype);
        const int64_t numel = dy_tensor_spec_numel(&specs[i]);
        const int64_t rows = specs[i].ndim == 2 ? specs[i].shape[0] : 1, cols = numel / rows;
        float *want = malloc((size_t)numel * sizeof(float)), *got = malloc((size_t)numel * sizeof(float));
        dy_init_fill(&specs[i], &init, 0, (uint64_t)numel, want);
        dy_tensor_read_f32(t, 0, rows, 0, cols, got);
        int distinct = 0;
        for (int64_t k = 0; k < numel; k++) {
            float w = dtype == DY_BF16 ? dy_bf16_to_f32(dy_f32_to_bf16(want[k])) : want[k];
            if (got[k] != w) fail_msg("%s[%lld]: read %g, generated %g", specs[i].name, (long long)k, got[k], w);
            distinct += k > 0 && got[k] != got[k - 1];
        }
        assert_true(numel < 4 || distinct > numel / 2);  // random values, not a constant fill
        if (rows > 2 && cols > 2) {  // an interior slice, as a TP rank reads it
            int64_t r0 = 1, nr = rows - 2, c0 = cols / 3, nc = cols / 2;
            float *part = malloc((size_t)(nr * nc) * sizeof(float));
            dy_tensor_read_f32(t, r0, nr, c0, nc, part);
            for (int64_t r = 0; r < nr; r++)
                for (int64_t c = 0; c < nc; c++) assert_true(part[r * nc + c] == got[(r0 + r) * cols + c0 + c]);
            free(part);
        }
        free(want);
        free(got);
    }
    free(specs);
}

static void roundtrip(const char *preset, dy_dtype dtype, unsigned long long shard_bytes, int expect_files) {
    char *dir = make_temp_dir("roundtrip");
    char *json = preset_json(preset, SMALL_VOCAB);
    dy_model_config cfg;
    load_preset(preset, &cfg, SMALL_VOCAB);
    write_checkpoint(dir, json, &cfg, dtype, shard_bytes, 1234);
    dy_checkpoint ck;
    dy_error err;
    if (dy_checkpoint_open(dir, &ck, &err)) fail_msg("%s: %s", preset, err.msg);
    assert_int_equal(ck.n_files, expect_files);
    assert_int_equal(ck.config.vocab_size, SMALL_VOCAB);
    check_all_values(&ck, dtype, 1234);
    dy_checkpoint_close(&ck);
    free(json);
    rm_rf(dir);
    free(dir);
}

static void test_tiny_qwen3_bf16(void **state) { (void)state; roundtrip("tiny-qwen3", DY_BF16, 1ull << 40, 1); }
static void test_tiny_llama_fp32(void **state) { (void)state; roundtrip("tiny-llama", DY_F32, 1ull << 40, 1); }
static void test_tiny_moe_bf16(void **state) { (void)state; roundtrip("tiny-qwen3-moe", DY_BF16, 1ull << 40, 1); }

static void test_sharded(void **state) {
    (void)state;
    // About 3.4 MB of fp32 weights in shards of at most 300000 bytes (one tensor may exceed it).
    dy_model_config cfg;
    load_preset("tiny-qwen3", &cfg, SMALL_VOCAB);
    char *dir = make_temp_dir("sharded");
    char *json = preset_json("tiny-qwen3", SMALL_VOCAB);
    write_checkpoint(dir, json, &cfg, DY_F32, 300000, 7);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    assert_true(dy_file_exists(path));
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    assert_false(dy_file_exists(path));
    dy_checkpoint ck;
    dy_error err;
    assert_int_equal(dy_checkpoint_open(dir, &ck, &err), 0);
    assert_true(ck.n_files > 5);
    check_all_values(&ck, DY_F32, 7);
    dy_checkpoint_close(&ck);
    free(json);
    rm_rf(dir);
    free(dir);
}

static void test_seed_changes_values(void **state) {
    (void)state;
    dy_model_config cfg;
    load_preset("tiny-llama", &cfg, SMALL_VOCAB);
    dy_tensor_spec *s;
    dy_error err;
    int n = dy_model_tensor_specs(&cfg, &s, &err);
    assert_true(n > 3);
    float a[64], b[64], c[64];
    dy_init_params p1 = {.seed = 1, .std = 0.02, .norm_jitter = 0.1}, p2 = p1;
    p2.seed = 2;
    dy_init_fill(&s[1], &p1, 0, 64, a);  // input_layernorm: 1 +- 0.1
    dy_init_fill(&s[1], &p2, 0, 64, b);
    dy_init_fill(&s[2], &p1, 0, 64, c);  // q_proj: uniform with std 0.02
    int same = 0;
    double sq = 0;
    for (int i = 0; i < 64; i++) {
        same += a[i] == b[i];
        assert_true(a[i] >= 0.9f && a[i] <= 1.1f);
        assert_true(c[i] >= -0.0347f && c[i] <= 0.0347f);  // sqrt(3) * 0.02
        sq += (double)c[i] * c[i];
    }
    assert_true(same < 4);
    assert_true(sq / 64 > 0.0001 && sq / 64 < 0.0009);  // variance near 0.0004
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiny_qwen3_bf16), cmocka_unit_test(test_tiny_llama_fp32),
        cmocka_unit_test(test_tiny_moe_bf16),   cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_seed_changes_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

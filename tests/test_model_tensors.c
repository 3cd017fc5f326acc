// Tensor lists per architecture, parameter counts against Hugging Face's, tensor-parallel
// shards (every element owned exactly once) and the per-GPU memory plan.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/model_tensors.h"
#include "runtime/checkpoint/presets.h"
#include "runtime/model/memory_plan.h"
#include "runtime/model/tp_shard.h"
#include "test_util.h"

// Parameter counts printed by transformers 5.17 (num_parameters() of the model built from the
// same config.json on the meta device) on the GPU host: tests/fixtures/hf_check_models.jsonl,
// made by tests/hf_check_models.py.
static const struct {
    const char *preset;
    int64_t params;
} HF_COUNTS[] = {
    {"qwen3-8b", 8190735360LL},   {"llama3-8b", 8030261248LL},      {"qwen3-4b", 4022468096LL},
    {"qwen3-32b", 32762123264LL}, {"qwen3-30b-a3b", 30532122624LL}, {"llama3-70b", 70553706496LL},
    {"tiny-qwen3", 39486848LL},   {"tiny-llama", 33424512LL},       {"tiny-qwen3-moe", 39784832LL},
};

static void test_param_counts_match_hf(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof HF_COUNTS / sizeof *HF_COUNTS; i++) {
        dy_model_config c;
        dy_error err;
        load_preset(HF_COUNTS[i].preset, &c, 0);
        int64_t n = dy_model_param_count(&c, &err);
        if (n != HF_COUNTS[i].params) fail_msg("%s: %lld parameters, HF counts %lld", HF_COUNTS[i].preset, (long long)n, (long long)HF_COUNTS[i].params);
    }
}

static void test_tensor_lists(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    dy_tensor_spec *s;
    load_preset("qwen3-8b", &c, 0);
    int n = dy_model_tensor_specs(&c, &s, &err);
    assert_int_equal(n, 1 + 36 * 11 + 2);  // embed; per layer 2 norms, q k v o, q/k norm, 3 MLP; norm, lm_head
    assert_string_equal(s[0].name, "model.embed_tokens.weight");
    assert_string_equal(s[6].name, "model.layers.0.self_attn.q_norm.weight");
    assert_int_equal(s[6].shape[0], 128);
    assert_string_equal(s[n - 1].name, "lm_head.weight");
    free(s);

    load_preset("qwen3-4b", &c, 0);  // tied: no lm_head
    n = dy_model_tensor_specs(&c, &s, &err);
    assert_string_equal(s[n - 1].name, "model.norm.weight");
    free(s);

    load_preset("llama3-8b", &c, 0);  // no q/k norms
    n = dy_model_tensor_specs(&c, &s, &err);
    assert_int_equal(n, 1 + 32 * 9 + 2);
    free(s);

    load_preset("tiny-qwen3-moe", &c, 0);  // 4 layers, layer 2 dense, 8 experts
    n = dy_model_tensor_specs(&c, &s, &err);
    assert_int_equal(n, 1 + 3 * (8 + 1 + 3 * 8) + (8 + 3) + 2);
    bool saw_router = false, saw_expert = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(s[i].name, "model.layers.1.mlp.gate.weight") == 0) saw_router = s[i].shape[0] == 8;
        if (strcmp(s[i].name, "model.layers.3.mlp.experts.7.down_proj.weight") == 0)
            saw_expert = s[i].shape[0] == 128 && s[i].shape[1] == 64;
        assert_null(strstr(s[i].name, "model.layers.2.mlp.experts"));
    }
    assert_true(saw_router && saw_expert);
    free(s);
}

// For every preset and degree that divides it: each element of a split tensor is owned by exactly
// one rank, and a replicated one by every rank (KV heads: tp / n_kv ranks each).
static void test_tp_shards_partition_every_tensor(void **state) {
    (void)state;
    const int degrees[] = {1, 2, 4, 8, 16};
    for (int p = 0; p < dy_n_presets; p++) {
        dy_model_config c;
        dy_error err;
        load_preset(dy_presets[p].name, &c, 0);
        dy_tensor_spec *s;
        int n = dy_model_tensor_specs(&c, &s, &err);
        for (size_t d = 0; d < sizeof degrees / sizeof *degrees; d++) {
            int tp = degrees[d];
            if (dy_tp_check(&c, tp, &err)) continue;
            for (int i = 0; i < n; i++) {
                int64_t owned = 0;
                for (int r = 0; r < tp; r++) {
                    dy_shard_range g = dy_tp_shard(&c, &s[i], tp, r);
                    assert_true(g.row0 >= 0 && g.col0 >= 0);
                    assert_true(g.row0 + g.rows <= (s[i].ndim == 2 ? s[i].shape[0] : 1));
                    assert_true(g.col0 + g.cols <= (s[i].ndim == 2 ? s[i].shape[1] : s[i].shape[0]));
                    owned += g.rows * g.cols;
                }
                int64_t copies = s[i].split == DY_SPLIT_NONE ? tp
                               : s[i].split == DY_SPLIT_KV_ROWS && tp > c.n_kv_heads ? tp / c.n_kv_heads : 1;
                if (owned != copies * dy_tensor_spec_numel(&s[i]))
                    fail_msg("%s tp %d %s: ranks own %lld elements, expected %lld", dy_presets[p].name, tp, s[i].name,
                             (long long)owned, (long long)(copies * dy_tensor_spec_numel(&s[i])));
            }
        }
        free(s);
    }
}

static void test_tp_check_errors(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    load_preset("qwen3-8b", &c, 0);
    assert_int_equal(dy_tp_check(&c, 3, &err), -1);
    assert_string_equal(err.msg, "--tp 3: num_attention_heads (32) is not divisible by 3");
    assert_int_equal(dy_tp_check(&c, 16, &err), 0);  // 8 KV heads, each on 2 ranks
    load_preset("qwen3-30b-a3b", &c, 0);            // 4 KV heads
    assert_int_equal(dy_tp_check(&c, 8, &err), 0);
    assert_int_equal(dy_tp_kv_heads_per_rank(&c, 8), 1);
    assert_int_equal(dy_tp_check(&c, 0, &err), -1);
    assert_non_null(strstr(err.msg, "must be at least 1"));
}

static void test_memory_plan(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    dy_memory_plan plan;
    load_preset("qwen3-8b", &c, 0);
    assert_int_equal(dy_memory_plan_make(&c, 131072, 2048, 1, DY_BF16, &plan, &err), 0);
    assert_int_equal(plan.weight_bytes, 2 * 8190735360ULL);
    assert_int_equal(plan.kv_bytes / 131072, 147456);  // 36 layers x K,V x 8 heads x 128 x 2 bytes
    assert_int_equal(dy_memory_plan_make(&c, 131072, 2048, 4, DY_BF16, &plan, &err), 0);
    assert_int_equal(plan.kv_bytes / 131072, 147456 / 4);
    // Norms are replicated, everything else is split four ways (vocab 151936 divides by 4); each
    // rank's embedding has a zero row more (the lookup of ids another rank owns).
    const uint64_t replicated = 2ULL * (36 * (2 * 4096 + 2 * 128) + 4096), zero_row = 2ULL * 4096;
    assert_int_equal(plan.weight_bytes, (2 * 8190735360ULL - replicated) / 4 + replicated + zero_row);
    assert_int_equal(dy_memory_plan_make(&c, 0, 2048, 1, DY_BF16, &plan, &err), -1);
    assert_non_null(strstr(err.msg, "--ctx 0"));
}

// What a decoded token reads (dy_token_bytes): every weight but the untied embedding table, and
// for MoE num_experts_per_tok of each sparse layer's experts; every expert tensor knows its index.
static void test_token_bytes(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    dy_token_bytes t;
    dy_memory_plan plan;
    load_preset("qwen3-8b", &c, 0);
    assert_int_equal(dy_memory_plan_make(&c, 4096, 2048, 1, DY_BF16, &plan, &err), 0);
    assert_int_equal(dy_token_bytes_count(&c, 1, DY_BF16, &t, &err), 0);
    assert_int_equal(t.weights, plan.weight_bytes - 2ULL * 151936 * 4096);
    assert_int_equal(t.active_weights, t.weights);
    assert_int_equal(dy_token_bytes_at(&t, 4096, true), t.weights + plan.kv_bytes);
    load_preset("qwen3-4b", &c, 0);  // tied: the table is the LM head, read whole
    assert_int_equal(dy_memory_plan_make(&c, 1, 1, 1, DY_BF16, &plan, &err), 0);
    assert_int_equal(dy_token_bytes_count(&c, 1, DY_BF16, &t, &err), 0);
    assert_int_equal(t.weights, plan.weight_bytes);
    // Qwen3-30B-A3B: 48 sparse layers leave 120 of 128 experts (gate, up, down: 3 x 768 x 2048) unread.
    load_preset("qwen3-30b-a3b", &c, 0);
    assert_int_equal(dy_token_bytes_count(&c, 1, DY_BF16, &t, &err), 0);
    assert_int_equal(t.weights - t.active_weights, 2ULL * 48 * 120 * 3 * 768 * 2048);
    assert_int_equal(dy_token_bytes_count(&c, 4, DY_BF16, &t, &err), 0);  // each rank a quarter of every expert
    assert_int_equal(t.weights - t.active_weights, 2ULL * 48 * 120 * 3 * 768 * 2048 / 4);
    dy_tensor_spec *specs;
    const int n = dy_model_tensor_specs(&c, &specs, &err);
    for (int i = 0; i < n; i++) {
        const char *e = strstr(specs[i].name, ".experts.");
        if (specs[i].expert != (e ? atoi(e + 9) : -1)) fail_msg("%s: expert %d", specs[i].name, specs[i].expert);
    }
    free(specs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_param_counts_match_hf), cmocka_unit_test(test_tensor_lists),
        cmocka_unit_test(test_tp_shards_partition_every_tensor), cmocka_unit_test(test_tp_check_errors),
        cmocka_unit_test(test_memory_plan), cmocka_unit_test(test_token_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// config.json parsing: every architecture, every RoPE variant and spelling, and each error.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/checkpoint/model_config.h"
#include "runtime/checkpoint/presets.h"

// Parses config.json text as written ("cfg/config.json" in errors).
static int parse_text(const char *json, dy_model_config *c, dy_error *err) {
    return dy_model_config_parse(json, strlen(json), "cfg/config.json", c, err);
}

// Parses the embedded preset NAME's config.json ("p" in errors).
static int parse_preset(const char *name, dy_model_config *c, dy_error *err) {
    const char *json = dy_preset_find(name)->config_json;
    return dy_model_config_parse(json, strlen(json), "p", c, err);
}

// Parses "{fields}". Tests override a field of BASE_QWEN3 by putting it first: the first
// occurrence of a key is kept and later ones dropped here, before the reader (which refuses a
// duplicate key) sees the text.
static int parse_with(const char *fields, dy_model_config *c, dy_error *err) {
    char json[4096];
    snprintf(json, sizeof json, "{%s}", fields);
    cJSON *all = cJSON_Parse(json), *first = cJSON_CreateObject();
    assert_non_null(all);
    for (cJSON *f = all->child; f; f = f->next)
        if (!cJSON_GetObjectItemCaseSensitive(first, f->string))
            cJSON_AddItemToObject(first, f->string, cJSON_Duplicate(f, true));
    char *text = cJSON_PrintUnformatted(first);
    const int rc = parse_text(text, c, err);
    free(text);
    cJSON_Delete(first);
    cJSON_Delete(all);
    return rc;
}

#define BASE_QWEN3                                                                                            \
    "\"model_type\":\"qwen3\",\"vocab_size\":1000,\"hidden_size\":64,\"num_hidden_layers\":2,"              \
    "\"num_attention_heads\":4,\"num_key_value_heads\":2,\"intermediate_size\":128,\"rms_norm_eps\":1e-6," \
    "\"max_position_embeddings\":4096"

static void assert_parse_error(const char *fields, const char *expected) {
    dy_model_config c;
    dy_error err = {{0}};
    int rc = parse_with(fields, &c, &err);
    if (rc == 0 || !strstr(err.msg, expected)) fail_msg("fields {%s}\n  expected error containing: %s\n  got: %s", fields, expected, rc ? err.msg : "(success)");
    assert_non_null(strstr(err.msg, "cfg/config.json"));  // every error names the file
}

static void test_all_presets_parse(void **state) {
    (void)state;
    assert_true(dy_n_presets >= 9);
    for (int i = 0; i < dy_n_presets; i++) {
        dy_model_config c;
        dy_error err;
        if (dy_model_config_parse(dy_presets[i].config_json, strlen(dy_presets[i].config_json), dy_presets[i].name, &c, &err))
            fail_msg("preset %s: %s", dy_presets[i].name, err.msg);
    }
}

static void test_qwen3_8b_fields(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    assert_int_equal(parse_preset("qwen3-8b", &c, &err), 0);
    assert_int_equal(c.arch, DY_ARCH_QWEN3);
    assert_int_equal(c.vocab_size, 151936);
    assert_int_equal(c.hidden_size, 4096);
    assert_int_equal(c.n_layers, 36);
    assert_int_equal(c.n_heads, 32);
    assert_int_equal(c.n_kv_heads, 8);
    assert_int_equal(c.head_dim, 128);
    assert_int_equal(c.intermediate_size, 12288);
    assert_int_equal(c.rope.type, DY_ROPE_DEFAULT);
    assert_true(c.rope.theta == 1e6);
    assert_true(c.rms_norm_eps == 1e-6);
    assert_int_equal(c.max_position_embeddings, 40960);
    assert_false(c.tie_word_embeddings);
    assert_int_equal(c.bos_id, 151643);
    assert_int_equal(c.n_eos, 1);
    assert_int_equal(c.eos_ids[0], 151645);
    assert_int_equal(c.dtype, DY_BF16);
    assert_true(parse_preset("qwen3-4b", &c, &err) == 0 &&
                c.tie_word_embeddings);
}

static void test_llama3_rope_and_eos_list(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    assert_int_equal(parse_preset("llama3-8b", &c, &err), 0);
    assert_int_equal(c.arch, DY_ARCH_LLAMA);
    assert_int_equal(c.head_dim, 128);  // derived: 4096 / 32, no head_dim key in Llama configs
    assert_int_equal(c.rope.type, DY_ROPE_LLAMA3);
    assert_true(c.rope.factor == 8.0 && c.rope.low_freq_factor == 1.0 && c.rope.high_freq_factor == 4.0);
    assert_int_equal(c.rope.original_max_position, 8192);
    assert_true(c.rope.theta == 500000.0);
    assert_int_equal(c.n_eos, 3);
    assert_int_equal(c.eos_ids[2], 128009);
    assert_int_equal(c.bos_id, 128000);
}

static void test_moe_fields(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    assert_int_equal(parse_preset("qwen3-30b-a3b", &c, &err), 0);
    assert_int_equal(c.arch, DY_ARCH_QWEN3_MOE);
    assert_int_equal(c.n_experts, 128);
    assert_int_equal(c.n_experts_per_tok, 8);
    assert_int_equal(c.moe_intermediate_size, 768);
    assert_true(c.norm_topk_prob);
    assert_int_equal(dy_model_sparse_layers(&c), 48);
    assert_int_equal(parse_preset("tiny-qwen3-moe", &c, &err), 0);
    assert_true(dy_layer_is_moe(&c, 1) && !dy_layer_is_moe(&c, 2));  // mlp_only_layers [2]
    assert_int_equal(parse_with("\"num_experts\":8,\"num_experts_per_tok\":2,\"moe_intermediate_size\":32,"
                                "\"decoder_sparse_step\":2,\"mlp_only_layers\":[],\"model_type\":\"qwen3_moe\","
                                "\"vocab_size\":10,\"hidden_size\":64,\"num_hidden_layers\":4,\"num_attention_heads\":4,"
                                "\"intermediate_size\":128,\"rms_norm_eps\":1e-6,\"max_position_embeddings\":64",
                                &c, &err),
                     0);
    assert_false(c.norm_topk_prob);  // Qwen3MoeConfig default
    assert_true(!dy_layer_is_moe(&c, 0) && dy_layer_is_moe(&c, 1) && !dy_layer_is_moe(&c, 2) && dy_layer_is_moe(&c, 3));
}

#define BASE_QWEN3_MOE_WITHOUT_COUNT                                                                         \
    "\"num_experts_per_tok\":2,\"moe_intermediate_size\":32,\"model_type\":\"qwen3_moe\",\"vocab_size\":10,"   \
    "\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,\"intermediate_size\":128,"         \
    "\"rms_norm_eps\":1e-6,\"max_position_embeddings\":64"

// transformers >= 5 saves Qwen3-MoE's expert count as num_local_experts (its attribute_map): a
// checkpoint it wrote loads like a hub one.
static void test_moe_expert_count_spellings(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err = {{0}};
    assert_int_equal(parse_with("\"num_local_experts\":6," BASE_QWEN3_MOE_WITHOUT_COUNT, &c, &err), 0);
    assert_int_equal(c.n_experts, 6);
    assert_int_equal(parse_with("\"num_experts\":6,\"num_local_experts\":6," BASE_QWEN3_MOE_WITHOUT_COUNT, &c, &err), 0);
    assert_int_equal(c.n_experts, 6);
    assert_parse_error("\"num_experts\":6,\"num_local_experts\":8," BASE_QWEN3_MOE_WITHOUT_COUNT,
                       "num_experts is 6 but num_local_experts is 8: they name the same field");
    assert_parse_error("\"num_local_experts\":1.5," BASE_QWEN3_MOE_WITHOUT_COUNT, "num_local_experts: expected an integer");
    assert_parse_error("\"num_local_experts\":1," BASE_QWEN3_MOE_WITHOUT_COUNT, "num_experts_per_tok: 2 exceeds num_experts 1");
}

// The config.json transformers >= 5 saves for a hub one (from_pretrained, then save_pretrained):
// Qwen3MoeConfig's attribute_map stores num_experts as num_local_experts, torch_dtype becomes
// dtype, and rope_theta moves with rope_scaling's fields into rope_parameters (rope_type
// "default" when rope_scaling is null). Qwen3Config and LlamaConfig rename nothing else.
// keep_hub also leaves the hub spellings in: a file holding both.
static char *as_transformers5(const char *hub_json, bool keep_hub) {
    cJSON *c = cJSON_Parse(hub_json);
    assert_non_null(c);
    const cJSON *experts = cJSON_GetObjectItemCaseSensitive(c, "num_experts");
    if (experts) cJSON_AddNumberToObject(c, "num_local_experts", experts->valuedouble);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(c, "torch_dtype");
    if (dtype) cJSON_AddStringToObject(c, "dtype", dtype->valuestring);
    const cJSON *scaling = cJSON_GetObjectItemCaseSensitive(c, "rope_scaling"),
                *theta = cJSON_GetObjectItemCaseSensitive(c, "rope_theta");
    cJSON *params = cJSON_IsObject(scaling) ? cJSON_Duplicate(scaling, true) : cJSON_CreateObject();
    if (!cJSON_GetObjectItemCaseSensitive(params, "rope_type")) cJSON_AddStringToObject(params, "rope_type", "default");
    cJSON_DeleteItemFromObjectCaseSensitive(params, "type");
    if (theta) cJSON_AddNumberToObject(params, "rope_theta", theta->valuedouble);
    cJSON_AddItemToObject(c, "rope_parameters", params);
    if (!keep_hub) {
        static const char *const hub_only[] = {"num_experts", "torch_dtype", "rope_scaling", "rope_theta"};
        for (size_t i = 0; i < sizeof hub_only / sizeof *hub_only; i++)
            cJSON_DeleteItemFromObjectCaseSensitive(c, hub_only[i]);
    }
    char *text = cJSON_PrintUnformatted(c);
    cJSON_Delete(c);
    return text;
}

// Every preset reads the same from its hub spelling, its transformers >= 5 spelling and a file
// with both (the parser clears the whole struct first, so equal readings compare equal bytewise).
static void test_transformers5_spellings(void **state) {
    (void)state;
    for (int i = 0; i < dy_n_presets; i++) {
        dy_model_config hub, saved;
        dy_error err;
        assert_int_equal(parse_preset(dy_presets[i].name, &hub, &err), 0);
        for (int keep_hub = 0; keep_hub < 2; keep_hub++) {
            char *text = as_transformers5(dy_presets[i].config_json, keep_hub);
            if (parse_text(text, &saved, &err)) fail_msg("preset %s (transformers 5%s): %s", dy_presets[i].name,
                                                         keep_hub ? " + hub" : "", err.msg);
            if (memcmp(&hub, &saved, sizeof hub) != 0)
                fail_msg("preset %s: transformers 5 spelling%s reads differently\n%s", dy_presets[i].name,
                         keep_hub ? " + hub" : "", text);
            free(text);
        }
    }
    dy_model_config c;
    dy_error err;
    assert_int_equal(parse_with(BASE_QWEN3 ",\"dtype\":\"bfloat16\",\"torch_dtype\":\"bfloat16\"", &c, &err), 0);
    assert_int_equal(c.dtype, DY_BF16);
    assert_int_equal(parse_with(BASE_QWEN3 ",\"dtype\":null,\"torch_dtype\":\"float16\"", &c, &err), 0);
    assert_int_equal(c.dtype, DY_F16);  // null is absent
    assert_int_equal(parse_with(BASE_QWEN3 ",\"rope_theta\":5e5,\"rope_scaling\":{\"type\":\"yarn\",\"factor\":4},"
                                           "\"rope_parameters\":{\"rope_type\":\"yarn\",\"factor\":4.0,\"rope_theta\":5e5}",
                                &c, &err),
                     0);
    assert_true(c.rope.type == DY_ROPE_YARN && c.rope.factor == 4 && c.rope.theta == 5e5);
    // Both spellings present and disagreeing: one line naming the file and both fields.
    assert_parse_error(BASE_QWEN3 ",\"dtype\":\"bfloat16\",\"torch_dtype\":\"float32\"",
                       "cfg/config.json: dtype is \"bfloat16\" but torch_dtype is \"float32\": they name the same field");
    assert_parse_error(BASE_QWEN3 ",\"rope_theta\":1e6,\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":5e5}",
                       "cfg/config.json: rope_theta is 1000000 but rope_parameters.rope_theta is 500000: they name the same field");
    assert_parse_error(BASE_QWEN3 ",\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":5e5},"
                                  "\"rope_scaling\":{\"rope_type\":\"default\",\"rope_theta\":1e4}",
                       "rope_parameters.rope_theta is 500000 but rope_scaling.rope_theta is 10000: they name the same field");
    assert_parse_error(BASE_QWEN3 ",\"rope_parameters\":{\"rope_type\":\"default\"},"
                                  "\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}",
                       "cfg/config.json: rope_parameters (default) and rope_scaling (yarn) differ: they name the same field");
    assert_parse_error(BASE_QWEN3 ",\"rope_parameters\":{\"rope_type\":\"yarn\",\"factor\":2},"
                                  "\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4}",
                       "rope_parameters (yarn) and rope_scaling (yarn) differ");
    // Each section is still checked on its own, whichever spelling the file also has.
    assert_parse_error(BASE_QWEN3 ",\"rope_parameters\":{\"rope_type\":\"default\"},\"rope_scaling\":\"yarn\"",
                       "rope_scaling: expected an object or null");
}

static void test_rope_spellings(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    // hub style: rope_theta + rope_scaling with rope_type
    assert_int_equal(parse_with(BASE_QWEN3 ",\"rope_theta\":1e6,\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4.0,"
                                           "\"original_max_position_embeddings\":32768}",
                                &c, &err),
                     0);
    assert_int_equal(c.rope.type, DY_ROPE_YARN);
    assert_true(c.rope.factor == 4.0 && c.rope.original_max_position == 32768 && c.rope.theta == 1e6);
    assert_true(c.rope.beta_fast == 32.0 && c.rope.beta_slow == 1.0 && c.rope.truncate && !c.rope.has_attention_factor);
    // legacy key "type", explicit attention_factor and betas, no original (falls back to max_position_embeddings)
    assert_int_equal(parse_with(BASE_QWEN3 ",\"rope_scaling\":{\"type\":\"yarn\",\"factor\":2,\"attention_factor\":1.5,"
                                           "\"beta_fast\":16,\"beta_slow\":2,\"truncate\":false}",
                                &c, &err),
                     0);
    assert_int_equal(c.rope.type, DY_ROPE_YARN);
    assert_true(c.rope.has_attention_factor && c.rope.attention_factor == 1.5 && !c.rope.truncate);
    assert_true(c.rope.beta_fast == 16 && c.rope.beta_slow == 2 && c.rope.original_max_position == 4096);
    assert_true(c.rope.theta == 10000.0);  // HF default when rope_theta is absent
    // transformers >= 5: rope_parameters with rope_theta inside
    assert_int_equal(parse_with(BASE_QWEN3 ",\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":5e5}", &c, &err), 0);
    assert_int_equal(c.rope.type, DY_ROPE_DEFAULT);
    assert_true(c.rope.theta == 5e5);
    assert_int_equal(parse_with(BASE_QWEN3 ",\"rope_parameters\":{\"rope_type\":\"llama3\",\"rope_theta\":5e5,\"factor\":8,"
                                           "\"low_freq_factor\":1,\"high_freq_factor\":4,"
                                           "\"original_max_position_embeddings\":8192}",
                                &c, &err),
                     0);
    assert_int_equal(c.rope.type, DY_ROPE_LLAMA3);
    assert_true(c.rope.theta == 5e5 && c.rope.factor == 8);
    assert_int_equal(parse_with(BASE_QWEN3 ",\"rope_scaling\":{\"type\":\"llama3\",\"factor\":8,\"low_freq_factor\":1,"
                                           "\"high_freq_factor\":4,\"original_max_position_embeddings\":8192}",
                                &c, &err),
                     0);
    assert_int_equal(c.rope.type, DY_ROPE_LLAMA3);
    assert_int_equal(parse_with(BASE_QWEN3 ",\"rope_scaling\":null,\"dtype\":\"float16\"", &c, &err), 0);
    assert_int_equal(c.rope.type, DY_ROPE_DEFAULT);
    assert_int_equal(c.dtype, DY_F16);  // transformers >= 5 spells it "dtype"
}

static void test_optional_fields(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    // null is absent in every field (hidden_act: the default, silu).
    assert_int_equal(parse_with(BASE_QWEN3 ",\"bos_token_id\":null,\"eos_token_id\":[1,2],\"head_dim\":32,\"hidden_act\":null", &c, &err), 0);
    assert_int_equal(c.bos_id, -1);
    assert_int_equal(c.n_eos, 2);
    assert_int_equal(c.head_dim, 32);
    assert_int_equal(c.dtype, DY_F32);  // absent: transformers loads float32
    assert_int_equal(parse_with("\"num_attention_heads\":4," BASE_QWEN3, &c, &err), 0);
    assert_int_equal(parse_with("\"num_key_value_heads\":null,\"model_type\":\"llama\",\"vocab_size\":10,"
                                "\"hidden_size\":64,\"num_hidden_layers\":1,\"num_attention_heads\":4,"
                                "\"intermediate_size\":8,\"rms_norm_eps\":1e-5,\"max_position_embeddings\":16",
                                &c, &err),
                     0);
    assert_int_equal(c.n_kv_heads, 4);  // defaults to num_attention_heads
    assert_int_equal(c.head_dim, 16);
}

static void test_errors(void **state) {
    (void)state;
    dy_model_config c;
    dy_error err;
    assert_int_equal(parse_text("{\"model_type\": ", &c, &err), -1);
    assert_non_null(strstr(err.msg, "cfg/config.json: not valid JSON"));
    // One JSON rule for every reader (runtime/util/json_util.h): once each silently accepted.
    assert_int_equal(parse_text("{\"model_type\": \"qwen3\", \"model_type\": \"llama\"}", &c, &err), -1);
    assert_string_equal(err.msg, "cfg/config.json: not valid JSON: key \"model_type\" appears twice in one object");
    assert_int_equal(parse_text("{\"model_type\": \"qwen3\"} x", &c, &err), -1);
    assert_string_equal(err.msg, "cfg/config.json: not valid JSON: bytes after the JSON value (from byte 24)");
    assert_int_equal(parse_text("{\"model_type\": \"qwen3\\u0000x\"}", &c, &err), -1);
    assert_string_equal(err.msg, "cfg/config.json: not valid JSON: the escape \\u0000 at byte 21 is a NUL character (not allowed in names or values)");
    // The text's length is given: a raw NUL byte inside it is refused, not read as its end.
    static const char with_nul[] = "{\"model_type\": \"qwen3\"}\0junk";
    assert_int_equal(dy_model_config_parse(with_nul, sizeof with_nul - 1, "cfg/config.json", &c, &err), -1);
    assert_string_equal(err.msg, "cfg/config.json: not valid JSON: a NUL byte at byte 23");
    assert_int_equal(parse_text("[1, 2]", &c, &err), -1);
    assert_non_null(strstr(err.msg, "expected a JSON object"));
    assert_int_equal(dy_model_config_load("/nonexistent/config.json", &c, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/config.json: cannot open"));

    assert_parse_error("\"vocab_size\":1", "model_type: missing");
    assert_parse_error("\"model_type\":\"gpt2\"", "model_type: \"gpt2\" is not supported (qwen3, qwen3_moe, llama)");
    assert_parse_error("\"model_type\":\"qwen3\"", "vocab_size: missing");
    assert_parse_error("\"hidden_size\":\"64\"," BASE_QWEN3, "hidden_size: expected an integer");
    assert_parse_error("\"hidden_size\":64.5," BASE_QWEN3, "hidden_size: expected an integer");
    assert_parse_error("\"num_hidden_layers\":0," BASE_QWEN3, "num_hidden_layers: 0 is out of range");
    assert_parse_error("\"num_hidden_layers\":5000," BASE_QWEN3, "num_hidden_layers: 5000 exceeds the supported 1024");
    assert_parse_error("\"num_key_value_heads\":3," BASE_QWEN3, "num_key_value_heads: 3 does not divide num_attention_heads 4");
    assert_parse_error("\"hidden_size\":66," BASE_QWEN3, "head_dim: missing, and hidden_size 66 is not a multiple");
    assert_parse_error("\"head_dim\":15," BASE_QWEN3, "head_dim: 15 is odd");
    assert_parse_error("\"rms_norm_eps\":0," BASE_QWEN3, "rms_norm_eps: must be positive");
    assert_parse_error(BASE_QWEN3 ",\"hidden_act\":\"gelu\"", "hidden_act: \"gelu\" is not supported");
    // Wrong types and ids outside the vocabulary, once accepted (ids of 1e300 or 2^63 were cast to int).
    assert_parse_error("\"hidden_act\":1," BASE_QWEN3, "cfg/config.json: hidden_act: expected a string");
    assert_parse_error("\"hidden_act\":[]," BASE_QWEN3, "cfg/config.json: hidden_act: expected a string");
    assert_parse_error("\"hidden_act\":true," BASE_QWEN3, "cfg/config.json: hidden_act: expected a string");
    assert_parse_error("\"hidden_act\":{}," BASE_QWEN3, "cfg/config.json: hidden_act: expected a string");
    assert_parse_error("\"torch_dtype\":true," BASE_QWEN3, "cfg/config.json: torch_dtype: expected a string");
    assert_parse_error("\"tie_word_embeddings\":\"yes\"," BASE_QWEN3, "tie_word_embeddings: expected true or false");
    assert_parse_error("\"eos_token_id\":1e300," BASE_QWEN3, "cfg/config.json: eos_token_id: 1e+300 is not below vocab_size 1000");
    assert_parse_error("\"eos_token_id\":9223372036854775808," BASE_QWEN3, "eos_token_id: 9.2233720368547758e+18 is not below vocab_size 1000");
    assert_parse_error("\"bos_token_id\":1000," BASE_QWEN3, "cfg/config.json: bos_token_id: 1000 is not below vocab_size 1000");
    assert_parse_error("\"eos_token_id\":[1,null]," BASE_QWEN3, "eos_token_id: expected a token id (a whole number >= 0), got null");
    assert_parse_error("\"eos_token_id\":\"2\"," BASE_QWEN3, "eos_token_id: expected a token id (a whole number >= 0), got a string");
    assert_parse_error(BASE_QWEN3 ",\"attention_bias\":true", "attention_bias: only false is supported");
    assert_parse_error(BASE_QWEN3 ",\"use_sliding_window\":true", "use_sliding_window: only false is supported");
    assert_parse_error(BASE_QWEN3 ",\"tie_word_embeddings\":1", "tie_word_embeddings: expected true or false");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":\"yarn\"", "rope_scaling: expected an object or null");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":{\"factor\":2}", "rope_scaling.rope_type: missing");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":{\"rope_type\":\"dynamic\",\"factor\":2}",
                       "rope_scaling.rope_type: \"dynamic\" is not supported (default, yarn, llama3)");
    assert_parse_error(BASE_QWEN3 ",\"rope_parameters\":{\"rope_type\":\"linear\",\"factor\":2}",
                       "rope_parameters.rope_type: \"linear\" is not supported");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":{\"rope_type\":\"yarn\"}", "rope_scaling.factor: missing");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":-4}", "rope_scaling.factor: must be positive");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":{\"rope_type\":\"yarn\",\"factor\":4,\"mscale\":1}", "rope_scaling.mscale: not supported");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"high_freq_factor\":4,"
                                  "\"original_max_position_embeddings\":8192}",
                       "rope_scaling.low_freq_factor: missing");
    assert_parse_error(BASE_QWEN3 ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8,\"low_freq_factor\":4,"
                                  "\"high_freq_factor\":1,\"original_max_position_embeddings\":8192}",
                       "high_freq_factor: must exceed low_freq_factor");
    assert_parse_error(BASE_QWEN3 ",\"rope_theta\":\"big\"", "rope_theta: expected a number");
    assert_parse_error(BASE_QWEN3 ",\"eos_token_id\":[1,\"x\"]", "eos_token_id: expected a token id (a whole number >= 0), got a string");
    assert_parse_error(BASE_QWEN3 ",\"bos_token_id\":-3", "bos_token_id: expected a token id (a whole number >= 0), got -3");
    assert_parse_error(BASE_QWEN3 ",\"torch_dtype\":\"int8\"", "torch_dtype: \"int8\" is not supported");
    assert_parse_error(BASE_QWEN3 ",\"dtype\":\"float8\"", "dtype: \"float8\" is not supported");
    assert_parse_error("\"model_type\":\"qwen3_moe\",\"vocab_size\":10,\"hidden_size\":64,\"num_hidden_layers\":2,"
                       "\"num_attention_heads\":4,\"intermediate_size\":8,\"rms_norm_eps\":1e-6,\"max_position_embeddings\":8",
                       "num_experts (or num_local_experts): missing");
    assert_parse_error("\"num_experts\":2,\"num_experts_per_tok\":4,\"moe_intermediate_size\":8,\"model_type\":\"qwen3_moe\","
                       "\"vocab_size\":10,\"hidden_size\":64,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                       "\"intermediate_size\":8,\"rms_norm_eps\":1e-6,\"max_position_embeddings\":8",
                       "num_experts_per_tok: 4 exceeds num_experts 2");
    assert_parse_error("\"mlp_only_layers\":[5],\"num_experts\":2,\"num_experts_per_tok\":1,\"moe_intermediate_size\":8,"
                       "\"model_type\":\"qwen3_moe\",\"vocab_size\":10,\"hidden_size\":64,\"num_hidden_layers\":2,"
                       "\"num_attention_heads\":4,\"intermediate_size\":8,\"rms_norm_eps\":1e-6,\"max_position_embeddings\":8",
                       "mlp_only_layers: entry is not a layer index in [0, 2)");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_presets_parse), cmocka_unit_test(test_qwen3_8b_fields),
        cmocka_unit_test(test_llama3_rope_and_eos_list), cmocka_unit_test(test_moe_fields),
        cmocka_unit_test(test_moe_expert_count_spellings), cmocka_unit_test(test_transformers5_spellings),
        cmocka_unit_test(test_rope_spellings), cmocka_unit_test(test_optional_fields),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

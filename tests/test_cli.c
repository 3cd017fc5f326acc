// The dysco program as a user runs it: verbs, --help, exit statuses, make-model -> inspect.
// argv[1] is the dysco binary.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin;

static cmd_result dysco(const char *args) { return run_cmd("'%s' %s", dysco_bin, args); }

static void expect(const char *args, int status, const char *in_stdout, const char *in_stderr) {
    cmd_result r = dysco(args);
    if (r.status != status || (in_stdout && !strstr(r.out, in_stdout)) || (in_stderr && !strstr(r.err, in_stderr)) ||
        (status == 1 && count_lines(r.err) != 1))
        fail_msg("dysco %s\n  expected exit %d, stdout with [%s], stderr with [%s]\n  got exit %d\n  stdout: %s\n  stderr: %s",
                 args, status, in_stdout ? in_stdout : "", in_stderr ? in_stderr : "", r.status, r.out, r.err);
    cmd_result_free(&r);
}

static void test_usage(void **state) {
    (void)state;
    expect("", 2, NULL, "usage: dysco VERB");
    expect("--help", 0, "make-model", NULL);
    expect("frobnicate", 2, NULL, "unknown verb 'frobnicate'");
    expect("inspect --help", 0, "--ctx N", NULL);
    expect("make-model --help", 0, "tiny-qwen3-moe", NULL);
}

static void test_inspect_presets(void **state) {
    (void)state;
    expect("inspect --preset qwen3-8b", 0, "parameters    8,190,735,360", NULL);
    expect("inspect --preset llama3-8b", 0, "parameters    8,030,261,248", NULL);
    expect("inspect --preset qwen3-8b --ctx 131072", 0, "KV cache 18.00 GiB", NULL);
    expect("inspect --preset qwen3-30b-a3b", 0, "128 experts, 8 per token", NULL);
    expect("inspect --preset llama3-70b --tp 8", 0, "tp 8", NULL);
    expect("inspect --preset qwen3-8b --tp 3", 1, NULL, "--tp 3: num_attention_heads (32) is not divisible by 3");
    expect("inspect --preset qwen3-9b", 2, NULL, "unknown preset 'qwen3-9b'");
    expect("inspect --preset qwen3-8b --ctx zero", 2, NULL, "--ctx: expected an integer");
    expect("inspect", 2, NULL, "give a MODEL_DIR or --preset NAME, not neither");
    expect("inspect --bogus", 2, NULL, "inspect: unknown option '--bogus' (see dysco inspect --help)");
    expect("inspect /nonexistent-dysco-dir", 1, NULL, "/nonexistent-dysco-dir/config.json: cannot open");

    // Qwen3-8B at 128k: weights + KV cache + workspace, and the total is their sum (two decimals
    // each, so within rounding); the budget is 40 GiB on one H200.
    cmd_result r = dysco("inspect --preset qwen3-8b --ctx 131072");
    const char *line = strstr(r.out, "memory/GPU    tp 1, ctx 131072, prefill chunk 8192: ");
    double weights, kv, workspace, total, activations, scratch;
    if (!line || sscanf(line, "memory/GPU    tp 1, ctx 131072, prefill chunk 8192: weights %lf GiB + KV cache %lf GiB + "
                              "workspace %lf GiB = %lf GiB (bf16)\nworkspace     activation buffers %lf GiB + op scratch "
                              "%lf GiB",
                        &weights, &kv, &workspace, &total, &activations, &scratch) != 6)
        fail_msg("inspect --preset qwen3-8b --ctx 131072: no memory plan lines in\n%s", r.out);
    assert_true(weights == 15.26 && kv == 18.00 && workspace > 0.1 && workspace < 1.0);
    assert_true(fabs(total - (weights + kv + workspace)) < 0.015 && total <= 40.0);
    assert_true(fabs(workspace - (activations + scratch)) < 0.015);
    cmd_result_free(&r);
    expect("inspect --preset qwen3-8b --ctx 131072 --prefill-chunk 512", 0, "prefill chunk 512: ", NULL);
    expect("inspect --preset qwen3-8b --prefill-chunk 0", 2, NULL, "--prefill-chunk: expected an integer in [1,");

    r = dysco("inspect --preset qwen3-4b --ctx 4096 --json");
    assert_int_equal(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_true(cJSON_GetObjectItem(j, "parameters")->valuedouble == 4022468096.0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "tie_word_embeddings")));
    cJSON *mem = cJSON_GetObjectItem(j, "memory_per_gpu");
    assert_true(cJSON_GetObjectItem(mem, "kv_cache_bytes")->valuedouble == 36.0 * 2 * 8 * 4096 * 128 * 2);
    // The workspace of an 8192-token chunk holds at least the (8192, hidden 2560) bf16 residual
    // stream, and the total (what "plan fits" compares) is the sum of the three.
    const double ws = cJSON_GetObjectItem(mem, "workspace_bytes")->valuedouble;
    assert_true(cJSON_GetObjectItem(mem, "prefill_chunk")->valuedouble == 8192 && ws >= 8192.0 * 2560 * 2);
    assert_true(cJSON_GetObjectItem(mem, "total_bytes")->valuedouble ==
                cJSON_GetObjectItem(mem, "weight_bytes")->valuedouble + cJSON_GetObjectItem(mem, "kv_cache_bytes")->valuedouble + ws);
    cJSON_Delete(j);
    cmd_result_free(&r);
}

static void test_make_model_then_inspect(void **state) {
    (void)state;
    char *dir = make_temp_dir("cli"), args[PATH_MAX + 256];
    snprintf(args, sizeof args, "make-model '%s/a/b/m' --preset tiny-llama --vocab 512 --layers 2 --dtype fp32 --seed 9", dir);
    expect(args, 0, NULL, NULL);  // creates missing parent folders
    snprintf(args, sizeof args, "inspect '%s/a/b/m' --json", dir);
    cmd_result r = dysco(args);
    assert_int_equal(r.status, 0);
    cJSON *j = cJSON_Parse(r.out);
    cJSON *cfg = cJSON_GetObjectItem(j, "config");
    assert_int_equal(cJSON_GetObjectItem(cfg, "layers")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cfg, "vocab_size")->valueint, 512);
    assert_string_equal(cJSON_GetObjectItem(cfg, "dtype")->valuestring, "float32");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "checkpoint"), "tensors_by_dtype"), "F32")->valueint,
                     1 + 2 * 9 + 2);
    // 512*128 embed + lm_head, per layer 2*128 norms + 128*128*2 (q, o) + 64*128*2 (k, v) + 3*256*128, final norm
    assert_true(cJSON_GetObjectItem(j, "parameters")->valuedouble == 2.0 * 512 * 128 + 2 * (256 + 2 * 16384 + 2 * 8192 + 98304) + 128);
    cJSON_Delete(j);
    cmd_result_free(&r);

    // A second run into the same folder refuses without --force and succeeds with it.
    snprintf(args, sizeof args, "make-model '%s/a/b/m' --preset tiny-llama --vocab 512", dir);
    expect(args, 1, NULL, "already holds config.json (use --force to overwrite)");
    snprintf(args, sizeof args, "make-model '%s/a/b/m' --preset tiny-qwen3 --vocab 512 --force --rope-scaling "
                                "'{\"rope_type\":\"yarn\",\"factor\":4,\"original_max_position_embeddings\":64}'", dir);
    expect(args, 0, NULL, NULL);
    snprintf(args, sizeof args, "inspect '%s/a/b/m'", dir);
    expect(args, 0, "rope          yarn, theta 1000000, max_position_embeddings 40960; factor 4, original 64", NULL);

    snprintf(args, sizeof args, "make-model '%s/cfg' --preset qwen3-32b --config-only", dir);
    expect(args, 0, NULL, NULL);
    snprintf(args, sizeof args, "inspect '%s/cfg'", dir);
    expect(args, 1, NULL, "/cfg: no model.safetensors or model.safetensors.index.json in this folder");
    snprintf(args, sizeof args, "%s/cfg/config.json", dir);
    dy_model_config written;
    dy_error err;
    assert_int_equal(dy_model_config_load(args, &written, &err), 0);
    assert_int_equal(written.hidden_size, 5120);

    snprintf(args, sizeof args, "make-model '%s/tied' --preset tiny-qwen3 --vocab 300 --tie --shard-size 100000", dir);
    expect(args, 0, NULL, NULL);
    snprintf(args, sizeof args, "inspect '%s/tied'", dir);
    expect(args, 0, "tied embeddings", NULL);
    snprintf(args, sizeof args, "%s/tied/model.safetensors.index.json", dir);
    assert_true(dy_file_exists(args));
    rm_rf(dir);
    free(dir);
}

// inspect --json: a decoded token's bytes at --ctx (bf16), with the routed experts only for
// MoE (active_bytes_per_token) beside every expert's (bytes_per_token), as config.json's numbers
// give them; a dense model reads the same either way.
static void test_inspect_token_bytes(void **state) {
    (void)state;
    char *dir = make_temp_dir("cli-bytes"), args[PATH_MAX + 256], config[PATH_MAX];
    const char *presets[] = {"tiny-qwen3-moe", "tiny-qwen3", "tiny-llama"};
    for (int p = 0; p < 3; p++) {
        snprintf(args, sizeof args, "make-model '%s/%s' --preset %s --vocab 512", dir, presets[p], presets[p]);
        expect(args, 0, NULL, NULL);
        snprintf(args, sizeof args, "inspect '%s/%s' --ctx 100 --json", dir, presets[p]);
        cmd_result r = dysco(args);
        assert_int_equal(r.status, 0);
        cJSON *j = cJSON_Parse(r.out), *mem = cJSON_GetObjectItem(j, "memory_per_gpu");
        const double active = cJSON_GetObjectItem(mem, "active_bytes_per_token")->valuedouble,
                     all = cJSON_GetObjectItem(mem, "bytes_per_token")->valuedouble;
        snprintf(config, sizeof config, "%s/%s/config.json", dir, presets[p]);
        if (active != token_bytes_from_config(config, 100, 2, true) || all != token_bytes_from_config(config, 100, 2, false))
            fail_msg("%s: active_bytes_per_token %.0f, bytes_per_token %.0f; config.json gives %.0f and %.0f", presets[p],
                     active, all, token_bytes_from_config(config, 100, 2, true), token_bytes_from_config(config, 100, 2, false));
        // tiny-qwen3-moe: 2 of 8 experts in 3 of its 4 layers; dense models read every weight.
        if (p == 0) assert_true(active < all);
        else assert_true(active == all);
        cJSON_Delete(j);
        cmd_result_free(&r);
    }
    snprintf(args, sizeof args, "inspect '%s/tiny-qwen3-moe' --ctx 100", dir);
    expect(args, 0, "per token     ctx 100: weights ", NULL);
    expect(args, 0, " (2 of 8 experts; all: ", NULL);
    rm_rf(dir);
    free(dir);
}

static void test_make_model_tokenizer_copy(void **state) {
    (void)state;
    char *dir = make_temp_dir("cli-tok"), args[PATH_MAX + 256], path[PATH_MAX];
    dy_error err;
    snprintf(path, sizeof path, "%s/tok", dir);
    snprintf(args, sizeof args, "mkdir -p '%s'", path);
    assert_int_equal(system(args), 0);
    snprintf(path, sizeof path, "%s/tok/tokenizer.json", dir);
    assert_int_equal(dy_write_file(path, "{\"model\":{}}", 12, &err), 0);
    snprintf(args, sizeof args, "make-model '%s/m' --preset tiny-qwen3 --vocab 64 --tokenizer '%s/tok'", dir, dir);
    expect(args, 1, NULL, "tok/tokenizer_config.json: missing");
    snprintf(path, sizeof path, "%s/tok/tokenizer_config.json", dir);
    assert_int_equal(dy_write_file(path, "{}", 2, &err), 0);
    snprintf(args, sizeof args, "make-model '%s/m' --preset tiny-qwen3 --vocab 64 --tokenizer '%s/tok' --force", dir, dir);
    expect(args, 0, NULL, NULL);
    snprintf(path, sizeof path, "%s/m/tokenizer.json", dir);
    char *copied = dy_read_file(path, NULL, &err);
    assert_non_null(copied);
    assert_string_equal(copied, "{\"model\":{}}");
    free(copied);
    rm_rf(dir);
    free(dir);
}

static void test_make_model_errors(void **state) {
    (void)state;
    expect("make-model /tmp/x", 2, NULL, "needs OUT_DIR and --preset NAME");
    expect("make-model /tmp/x --preset gpt5", 2, NULL, "unknown preset 'gpt5'");
    expect("make-model /tmp/x --preset tiny-qwen3 --experts 4", 2, NULL, "--experts: preset tiny-qwen3 is not a mixture-of-experts model");
    expect("make-model /tmp/x --preset tiny-qwen3 --dtype fp16", 2, NULL, "--dtype: expected bf16 or fp32, got 'fp16'");
    expect("make-model /tmp/x --preset tiny-qwen3 --layers 0", 2, NULL, "--layers: expected an integer in [1,");
    expect("make-model /tmp/x --preset tiny-qwen3 --layers", 2, NULL, "--layers: missing value");
    expect("make-model /tmp/x --preset tiny-qwen3 --rope-scaling '[1]'", 2, NULL, "--rope-scaling: expected a JSON object or null");
    expect("make-model /tmp/x --preset tiny-qwen3 --rope-scaling '{\"factor\": 2, \"factor\": 4}'", 2, NULL,
           "--rope-scaling: not valid JSON: key \"factor\" appears twice in one object");
    expect("make-model /tmp/x --preset tiny-qwen3 --rope-scaling '{\"factor\": 2} x'", 2, NULL, "--rope-scaling: not valid JSON: bytes after the JSON value (from byte 14)");
    // Overrides are validated by the config parser before anything is written.
    expect("make-model /tmp/dysco-never-written --preset tiny-qwen3 --kv-heads 3", 1, NULL,
           "num_key_value_heads: 3 does not divide num_attention_heads 4");
    expect("make-model /tmp/dysco-never-written --preset tiny-llama --rope-scaling '{\"rope_type\":\"dynamic\",\"factor\":2}'", 1,
           NULL, "rope_scaling.rope_type: \"dynamic\" is not supported");
    assert_false(dy_file_exists("/tmp/dysco-never-written/config.json"));
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO", &dysco_bin, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage), cmocka_unit_test(test_inspect_presets),
        cmocka_unit_test(test_make_model_then_inspect), cmocka_unit_test(test_inspect_token_bytes),
        cmocka_unit_test(test_make_model_tokenizer_copy),
        cmocka_unit_test(test_make_model_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// dysco generate and dysco score as scripts use them: the three methods end to end on a tiny
// random model, the --output / --trace contract, score agreeing with generate, and one test per
// command-line or config validation error (one line, exit status). argv: PATH_TO_DYSCO TOKENIZER_DIR.
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
#include <unistd.h>

#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin, *toks;
static char *dir;  // the fixture folder: ids model (vocab 1024), text model (real Qwen3 tokenizer)

static void expect(const char *args, int status, const char *in_stderr) {
    cmd_result r = run_cmd("'%s' %s", dysco_bin, args);
    if (r.status != status || (in_stderr && !strstr(r.err, in_stderr)) || (status != 0 && count_lines(r.err) != 1))
        fail_msg("dysco %s\n  expected exit %d, stderr with [%s]\n  got exit %d\n  stderr: %s", args, status,
                 in_stderr ? in_stderr : "", r.status, r.err);
    cmd_result_free(&r);
}

static cJSON *read_json(const char *path) {
    dy_error err;
    char *text = dy_read_file(path, NULL, &err);
    if (!text) fail_msg("%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    free(text);
    assert_non_null(j);
    return j;
}

static int group_setup(void **state) {
    (void)state;
    dir = make_temp_dir("generate");
    cmd_result r = run_cmd("'%s' make-model '%s/ids' --preset tiny-qwen3 --vocab 1024 --dtype fp32 --qk-std 0.3 && "
                           "'%s' make-model '%s/text' --preset tiny-qwen3 --layers 2 --tokenizer '%s/qwen3'",
                           dysco_bin, dir, dysco_bin, dir, toks);
    int ok = r.status == 0;
    if (!ok) fprintf(stderr, "%s", r.err);
    cmd_result_free(&r);
    char path[PATH_MAX];
    dy_error err;
    snprintf(path, sizeof path, "%s/prompt.json", dir);
    char ids[4096] = "{\"input_ids\": [";
    for (int i = 0; i < 60; i++) snprintf(ids + strlen(ids), sizeof ids - strlen(ids), i ? ",%d" : "%d", (i * 37 + 11) % 1000);
    strcat(ids, "]}");
    ok = ok && dy_write_file(path, ids, strlen(ids), &err) == 0;
    snprintf(path, sizeof path, "%s/dysco.yaml", dir);
    const char *yaml = "selected_heads: \"[(1,0),(2,1),(3,3)]\"\ntop_k: 8\ntop_p: 0.9\nstrength: 2.0\ndecay_factor: 0.75\n"
                       "context_warmup_steps: 8\nintervention_warmup: 'auto'\nscale_template_tokens: False\n"
                       "template_sequences:\n  - [11, 48]\ndynamic_rescale: True\n";
    ok = ok && dy_write_file(path, yaml, strlen(yaml), &err) == 0;
    return ok ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    rm_rf(dir);
    free(dir);
    return 0;
}

static void test_methods_end_to_end(void **state) {
    (void)state;
    char args[4 * PATH_MAX], out[PATH_MAX], trace[PATH_MAX];
    snprintf(out, sizeof out, "%s/out.json", dir);
    snprintf(trace, sizeof trace, "%s/trace.jsonl", dir);
    const char *methods[] = {"--method vanilla", "--method attnsharp --attn-temperature 0.5", "--method dysco"};
    for (int m = 0; m < 3; m++) {
        snprintf(args, sizeof args,
                 "generate --model '%s/ids' --input-ids '%s/prompt.json' %s --dysco-config '%s/dysco.yaml' "
                 "--max-new-tokens 10 --output '%s' --trace '%s'",
                 dir, dir, methods[m], dir, out, trace);
        expect(args, 0, NULL);
        cJSON *j = read_json(out);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "input_ids")), 60);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "output_ids")), 10);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "logprobs")), 10);
        const cJSON *logging = cJSON_GetObjectItem(j, "generation_logging");
        if (m == 2) {
            // Wi = 2 without a chat template: 8 + 2 - 1 = 9 ... intervention steps: Wi + 10 generated
            assert_true(cJSON_GetObjectItem(logging, "num_generations")->valuedouble == 2 + 10);
            assert_true(cJSON_GetObjectItem(logging, "scale_by_token")->valuedouble +
                            cJSON_GetObjectItem(logging, "scale_by_nucleus")->valuedouble == 1.0);
        } else {
            assert_true(cJSON_IsNull(logging));
        }
        cJSON_Delete(j);
        // DySCO's trace: Wc - 1 = 7 warmup lines from position N - T = 50, then interventions.
        dy_error err;
        char *lines = dy_read_file(trace, NULL, &err);
        assert_non_null(lines);
        if (m == 2) {
            assert_int_equal(count_lines(lines), 7 + 3 + 9);  // warmup, x[N-3..N-1], 9 generated tokens fed
            assert_true(strncmp(lines, "{\"pos\": 50, \"phase\": \"context_warmup\"", 37) == 0);
            assert_non_null(strstr(lines, "{\"pos\": 57, \"phase\": \"intervention\", \"n_selected\": "));
        } else {
            assert_int_equal(count_lines(lines), 10);
            assert_true(strncmp(lines, "{\"pos\": 59, \"phase\": \"decode\", \"token\": ", 40) == 0);
        }
        free(lines);
    }
}

// --trace-selected: every intervention line lists its selected positions, ascending, as many as
// n_selected, each at most pos; other lines list none.
static void test_trace_selected(void **state) {
    (void)state;
    char args[4 * PATH_MAX], trace[PATH_MAX];
    snprintf(trace, sizeof trace, "%s/trace_selected.jsonl", dir);
    snprintf(args, sizeof args,
             "score --model '%s/ids' --input-ids '%s/prompt.json' --method dysco --dysco-config '%s/dysco.yaml' "
             "--continuation-ids '%s/prompt.json' --trace '%s' --trace-selected",
             dir, dir, dir, dir, trace);
    expect(args, 0, NULL);
    dy_error err;
    char *text = dy_read_file(trace, NULL, &err);
    assert_non_null(text);
    int interventions = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        assert_non_null(j);
        const cJSON *sel = cJSON_GetObjectItem(j, "selected");
        const bool intervention = strcmp(cJSON_GetObjectItem(j, "phase")->valuestring, "intervention") == 0;
        assert_true(intervention == (sel != NULL));
        if (sel) {
            interventions++;
            assert_int_equal(cJSON_GetArraySize(sel), cJSON_GetObjectItem(j, "n_selected")->valueint);
            int last = -1;
            for (const cJSON *e = sel->child; e; e = e->next) {
                assert_true(e->valueint > last && e->valueint <= cJSON_GetObjectItem(j, "pos")->valueint);
                last = e->valueint;
            }
        }
        cJSON_Delete(j);
    }
    assert_int_equal(interventions, 3 + 59);  // x[N-3..N-1], then 59 of the 60 forced tokens fed
    free(text);
}

// A trace that cannot be written (a full disk: /dev/full) ends the run at the line that failed,
// with one line naming the file and the reason, instead of decoding on and failing at the end;
// nothing is written to --output. DySCO writes its first lines in the context warmup.
static void test_trace_write_error(void **state) {
    (void)state;
    char args[4 * PATH_MAX], out[PATH_MAX];
    snprintf(out, sizeof out, "%s/unwritten.json", dir);
    const char *methods[] = {"--method vanilla", "--method dysco"};
    for (int m = 0; m < 2; m++) {
        snprintf(args, sizeof args,
                 "generate --model '%s/ids' --input-ids '%s/prompt.json' %s --dysco-config '%s/dysco.yaml' "
                 "--max-new-tokens 4000 --trace /dev/full --output '%s'",
                 dir, dir, methods[m], dir, out);
        expect(args, 1, "dysco: /dev/full: write failed: No space left on device");
        assert_false(dy_file_exists(out));
    }
}

// score with the greedy continuation must agree with generate: every argmax matches and the
// log-probabilities are the ones generate reported.
static void test_score_matches_generate(void **state) {
    (void)state;
    char args[4 * PATH_MAX], path[PATH_MAX];
    const char *methods[] = {"--method vanilla", "--method dysco"};
    for (int m = 0; m < 2; m++) {
        snprintf(args, sizeof args,
                 "generate --model '%s/ids' --input-ids '%s/prompt.json' %s --dysco-config '%s/dysco.yaml' "
                 "--max-new-tokens 6 --output '%s/gen.json'",
                 dir, dir, methods[m], dir, dir);
        expect(args, 0, NULL);
        snprintf(path, sizeof path, "%s/gen.json", dir);
        cJSON *gen = read_json(path);
        char *cont = cJSON_PrintUnformatted(cJSON_GetObjectItem(gen, "output_ids"));
        dy_error err;
        snprintf(path, sizeof path, "%s/cont.json", dir);
        assert_int_equal(dy_write_file(path, cont, strlen(cont), &err), 0);
        free(cont);
        snprintf(args, sizeof args,
                 "score --model '%s/ids' --input-ids '%s/prompt.json' %s --dysco-config '%s/dysco.yaml' "
                 "--continuation-ids '%s' --output '%s/score.json'",
                 dir, dir, methods[m], dir, path, dir);
        expect(args, 0, NULL);
        snprintf(path, sizeof path, "%s/score.json", dir);
        cJSON *score = read_json(path);
        assert_int_equal(cJSON_GetObjectItem(score, "argmax_matches")->valueint, 6);
        const cJSON *a = cJSON_GetObjectItem(gen, "logprobs")->child, *b = cJSON_GetObjectItem(score, "logprobs")->child;
        for (; a && b; a = a->next, b = b->next) assert_true(a->valuedouble == b->valuedouble);
        cJSON_Delete(gen);
        cJSON_Delete(score);
    }
}

// The largest difference between the logprobs of two --output files (as many in each).
static double max_logprob_difference(const char *path_a, const char *path_b) {
    cJSON *ja = read_json(path_a), *jb = read_json(path_b);
    const cJSON *a = cJSON_GetObjectItem(ja, "logprobs")->child, *b = cJSON_GetObjectItem(jb, "logprobs")->child;
    double most = 0;
    for (; a && b; a = a->next, b = b->next) most = fmax(most, fabs(a->valuedouble - b->valuedouble));
    assert_true(!a && !b);  // as many on both sides
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    return most;
}

// --device cpu-bf16 (the GPU's twin) on each tiny preset with make-model's default bf16 weights:
// DySCO generates, score teacher-forces the generated ids to the same logprobs (what
// tests/dysco_device_compare.py reads near-ties from), and those logprobs move from --device
// cpu's by bf16 storage, not at all or by more than 2e-2 (the logits' rms is ~0.23; their
// relative error is checked in test_cpu_bf16).
static void test_device_cpu_bf16(void **state) {
    (void)state;
    const char *presets[] = {"tiny-qwen3", "tiny-llama", "tiny-qwen3-moe"};
    char args[4 * PATH_MAX], gen[PATH_MAX], cont[PATH_MAX], scored[2][PATH_MAX];
    snprintf(gen, sizeof gen, "%s/bf16_gen.json", dir);
    snprintf(cont, sizeof cont, "%s/bf16_cont.json", dir);
    for (int p = 0; p < 3; p++) {
        snprintf(args, sizeof args, "make-model '%s/%s' --preset %s --vocab 1024", dir, presets[p], presets[p]);
        expect(args, 0, NULL);
        const char *common = "--method dysco --dysco-config";
        snprintf(args, sizeof args,
                 "generate --model '%s/%s' --input-ids '%s/prompt.json' %s '%s/dysco.yaml' --max-new-tokens 8 "
                 "--device cpu-bf16 --output '%s'",
                 dir, presets[p], dir, common, dir, gen);
        expect(args, 0, NULL);
        cJSON *j = read_json(gen);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "output_ids")), 8);
        assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "generation_logging")));
        char *ids = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "output_ids"));
        cJSON_Delete(j);
        dy_error err;
        assert_int_equal(dy_write_file(cont, ids, strlen(ids), &err), 0);
        free(ids);
        const char *devices[] = {"cpu-bf16", "cpu"};
        for (int d = 0; d < 2; d++) {
            snprintf(scored[d], sizeof scored[d], "%s/bf16_score_%s.json", dir, devices[d]);
            snprintf(args, sizeof args,
                     "score --model '%s/%s' --input-ids '%s/prompt.json' %s '%s/dysco.yaml' --continuation-ids '%s' "
                     "--device %s --output '%s'",
                     dir, presets[p], dir, common, dir, cont, devices[d], scored[d]);
            expect(args, 0, NULL);
        }
        const double same = max_logprob_difference(gen, scored[0]), moved = max_logprob_difference(scored[0], scored[1]);
        print_message("%s: cpu-bf16 logprobs %.3g from cpu's at most\n", presets[p], moved);
        assert_true(same == 0);
        assert_true(moved > 0 && moved < 2e-2);
    }
}

// The router_margins array of an --output file: n values, each finite and > 0 (asserted).
static void expect_margins(const char *path, int n) {
    cJSON *j = read_json(path);
    const cJSON *m = cJSON_GetObjectItem(j, "router_margins");
    assert_true(cJSON_IsArray(m));
    assert_int_equal(cJSON_GetArraySize(m), n);
    for (const cJSON *e = m->child; e; e = e->next) assert_true(cJSON_IsNumber(e) && isfinite(e->valuedouble) && e->valuedouble > 0);
    cJSON_Delete(j);
}

// --router-margins on the MoE preset: one margin per fed position (the prompt and every token
// but the last) from generate and score, on cpu and cpu-bf16; asked for nothing, the key is
// absent; refused with one line for a dense model, a routing that chooses every expert and a
// generate without --output.
static void test_router_margins(void **state) {
    (void)state;
    char args[4 * PATH_MAX], out[PATH_MAX];
    snprintf(out, sizeof out, "%s/margins.json", dir);
    snprintf(args, sizeof args,
             "make-model '%s/moe' --preset tiny-qwen3-moe --vocab 1024 && '%s' make-model '%s/moe-all' --preset "
             "tiny-qwen3-moe --vocab 1024 --experts 2 --experts-per-tok 2",
             dir, dysco_bin, dir);
    expect(args, 0, NULL);
    const char *devices[] = {"cpu", "cpu-bf16"};
    for (int d = 0; d < 2; d++) {
        snprintf(args, sizeof args,
                 "generate --model '%s/moe' --input-ids '%s/prompt.json' --method dysco --dysco-config '%s/dysco.yaml' "
                 "--max-new-tokens 5 --device %s --output '%s' --router-margins",
                 dir, dir, dir, devices[d], out);
        expect(args, 0, NULL);
        expect_margins(out, 60 + 5 - 1);
        snprintf(args, sizeof args,
                 "score --model '%s/moe' --input-ids '%s/prompt.json' --method vanilla --continuation-ids '%s/prompt.json' "
                 "--device %s --output '%s' --router-margins",
                 dir, dir, dir, devices[d], out);
        expect(args, 0, NULL);
        expect_margins(out, 60 + 60 - 1);
    }
    snprintf(args, sizeof args, "generate --model '%s/moe' --input-ids '%s/prompt.json' --method vanilla --max-new-tokens 2 --output '%s'",
             dir, dir, out);
    expect(args, 0, NULL);
    cJSON *j = read_json(out);
    assert_null(cJSON_GetObjectItem(j, "router_margins"));
    cJSON_Delete(j);
    char want[PATH_MAX + 100];
    snprintf(args, sizeof args, "generate --model '%s/ids' --input-ids '%s/prompt.json' --method vanilla --output '%s' --router-margins",
             dir, dir, out);
    snprintf(want, sizeof want, "dysco: --router-margins: %s/ids/config.json: no MoE layers", dir);
    expect(args, 1, want);
    snprintf(args, sizeof args, "generate --model '%s/moe-all' --input-ids '%s/prompt.json' --method vanilla --output '%s' --router-margins",
             dir, dir, out);
    snprintf(want, sizeof want, "dysco: --router-margins: %s/moe-all/config.json: num_experts_per_tok 2 chooses every expert", dir);
    expect(args, 1, want);
    snprintf(args, sizeof args, "generate --model '%s/moe' --input-ids '%s/prompt.json' --method vanilla --router-margins", dir, dir);
    expect(args, 2, "dysco: generate: --router-margins needs --output F.json");
}

// Generation ends at a stop id (after emitting it) and at max_new_tokens; sampling is seeded.
static void test_stops_and_sampling(void **state) {
    (void)state;
    char args[4 * PATH_MAX], path[PATH_MAX];
    snprintf(path, sizeof path, "%s/s.json", dir);
    snprintf(args, sizeof args, "generate --model '%s/ids' --input-ids '%s/prompt.json' --method vanilla --max-new-tokens 8 "
             "--output '%s'", dir, dir, path);
    expect(args, 0, NULL);
    cJSON *j = read_json(path);
    const int third = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "output_ids"), 2)->valueint;
    cJSON_Delete(j);
    snprintf(args + strlen(args), sizeof args - strlen(args), " --stop-ids 5000,%d", third);
    expect(args, 0, NULL);
    j = read_json(path);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "output_ids")), 3);  // stopped at, and kept, the stop id
    cJSON_Delete(j);
    char *outputs[2];
    for (int run = 0; run < 2; run++) {
        snprintf(args, sizeof args, "generate --model '%s/ids' --input-ids '%s/prompt.json' --method vanilla --max-new-tokens 8 "
                 "--temperature 1.2 --top-p 0.95 --top-k 40 --seed 11 --output '%s'", dir, dir, path);
        expect(args, 0, NULL);
        j = read_json(path);
        outputs[run] = cJSON_PrintUnformatted(cJSON_GetObjectItem(j, "output_ids"));
        cJSON_Delete(j);
    }
    assert_string_equal(outputs[0], outputs[1]);
    free(outputs[0]);
    free(outputs[1]);
}

// dysco bench on the CPU: one machine line, one line per context, numbers present and positive.
static void test_bench(void **state) {
    (void)state;
    char config[PATH_MAX];
    snprintf(config, sizeof config, "%s/ids/config.json", dir);
    cmd_result r = run_cmd("'%s' bench --model '%s/ids' --random-weights --ctx 32,48 --decode-steps 3 --device cpu",
                           dysco_bin, dir);
    if (r.status != 0) fail_msg("bench failed: %s", r.err);
    assert_int_equal(count_lines(r.out), 3);
    char *line = strtok(r.out, "\n");
    cJSON *machine = cJSON_Parse(line);
    assert_string_equal(cJSON_GetObjectItem(machine, "kind")->valuestring, "machine");
    const double bw = cJSON_GetObjectItem(machine, "copy_bandwidth_bytes_per_s")->valuedouble;
    assert_true(bw > 0);
    assert_true(cJSON_GetObjectItem(machine, "gemm_flops_per_s")->valuedouble > 0);
    cJSON_Delete(machine);
    for (int c = 0; c < 2; c++) {
        cJSON *ctx = cJSON_Parse(strtok(NULL, "\n"));
        assert_int_equal(cJSON_GetObjectItem(ctx, "ctx")->valueint, c ? 48 : 32);
        assert_int_equal(cJSON_GetObjectItem(ctx, "decode_steps")->valueint, 2);
        assert_true(cJSON_GetObjectItem(ctx, "decode_ms_per_token_median")->valuedouble > 0);
        assert_true(cJSON_GetObjectItem(ctx, "decode_roofline_ms")->valuedouble > 0);
        assert_true(cJSON_IsNull(cJSON_GetObjectItem(ctx, "gpu_memory_in_use_bytes")));
        // A dense model reads every weight (fp32 on the CPU) whichever way it is counted.
        const double active = cJSON_GetObjectItem(ctx, "active_bytes_per_token")->valuedouble;
        assert_true(active == cJSON_GetObjectItem(ctx, "bytes_per_token")->valuedouble);
        assert_true(active == token_bytes_from_config(config, c ? 48 : 32, 4, true));
        // The bandwidth is printed to 4 digits, the roofline to 1 us.
        assert_float_equal(cJSON_GetObjectItem(ctx, "decode_roofline_ms")->valuedouble, 1e3 * active / bw,
                           1e-3 * 1e3 * active / bw + 6e-4);
        cJSON_Delete(ctx);
    }
    cmd_result_free(&r);
    // A MoE model: the decode roofline is the routed experts' bytes (2 of 8) over the bandwidth;
    // bytes_per_token counts every expert beside it.
    r = run_cmd("'%s' make-model '%s/moe-bench' --preset tiny-qwen3-moe --vocab 1024 --config-only && '%s' bench --model "
                "'%s/moe-bench' --random-weights --ctx 40 --decode-steps 3 --device cpu",
                dysco_bin, dir, dysco_bin, dir);
    if (r.status != 0) fail_msg("bench (MoE) failed: %s", r.err);
    assert_int_equal(count_lines(r.out), 2);
    machine = cJSON_Parse(strtok(r.out, "\n"));
    cJSON *moe = cJSON_Parse(strtok(NULL, "\n"));
    assert_true(machine && moe);
    snprintf(config, sizeof config, "%s/moe-bench/config.json", dir);
    const double active = cJSON_GetObjectItem(moe, "active_bytes_per_token")->valuedouble,
                 all = cJSON_GetObjectItem(moe, "bytes_per_token")->valuedouble,
                 moe_bw = cJSON_GetObjectItem(machine, "copy_bandwidth_bytes_per_s")->valuedouble;
    if (active != token_bytes_from_config(config, 40, 4, true) || all != token_bytes_from_config(config, 40, 4, false))
        fail_msg("bench (MoE): active_bytes_per_token %.0f, bytes_per_token %.0f; config.json gives %.0f and %.0f", active,
                 all, token_bytes_from_config(config, 40, 4, true), token_bytes_from_config(config, 40, 4, false));
    assert_true(active < all);
    assert_float_equal(cJSON_GetObjectItem(moe, "decode_roofline_ms")->valuedouble, 1e3 * active / moe_bw,
                       1e-3 * 1e3 * active / moe_bw + 6e-4);
    cJSON_Delete(machine);
    cJSON_Delete(moe);
    cmd_result_free(&r);
    // DySCO: its step against its roofline (which adds the speculative layers 0..3 to vanilla's),
    // and vanilla timed beside it in the same process.
    r = run_cmd("'%s' bench --model '%s/ids' --random-weights --ctx 40 --decode-steps 3 --device cpu --method dysco "
                "--dysco-config '%s/dysco.yaml'", dysco_bin, dir, dir);
    if (r.status != 0) fail_msg("bench --method dysco failed: %s", r.err);
    assert_int_equal(count_lines(r.out), 2);
    cJSON *ctx = cJSON_Parse(strrchr(r.out, '{'));
    assert_non_null(ctx);
    const double step = cJSON_GetObjectItem(ctx, "dysco_step_ms")->valuedouble,
                 roofline = cJSON_GetObjectItem(ctx, "dysco_roofline_ms")->valuedouble,
                 vanilla_roofline = cJSON_GetObjectItem(ctx, "decode_roofline_ms")->valuedouble;
    assert_true(step > 0 && cJSON_GetObjectItem(ctx, "vanilla_decode_ms")->valuedouble > 0);
    assert_true(roofline > vanilla_roofline);
    assert_float_equal(cJSON_GetObjectItem(ctx, "dysco_fraction_of_roofline")->valuedouble, roofline / step, 2e-3);
    assert_true(cJSON_GetObjectItem(ctx, "prefill_seconds")->valuedouble > 0);
    assert_true(cJSON_GetObjectItem(ctx, "vanilla_prefill_seconds")->valuedouble > 0);
    cJSON_Delete(ctx);
    cmd_result_free(&r);
    char args[PATH_MAX + 100];
    snprintf(args, sizeof args, "bench --model '%s/ids' --ctx 8,x --device cpu", dir);
    expect(args, 1, "--ctx: expected comma-separated lengths from 16 to 16777216, got '8,x'");
    snprintf(args, sizeof args, "bench --model '%s/ids' --ctx 32, --device cpu", dir);
    expect(args, 1, "--ctx: entry 2 of '32,' is empty (expected comma-separated lengths from 16 to 16777216)");
    snprintf(args, sizeof args, "bench --model '%s/ids' --ctx 16,16,16,16,16,16,16,16,16,16,16,16,16,16,16,16,16 --device cpu",
             dir);
    expect(args, 1, "--ctx: more than 16 lengths in '16,16,");
    snprintf(args, sizeof args, "bench --model '%s/ids' --method dysco --device cpu", dir);
    expect(args, 2, "bench: --method dysco needs --dysco-config");
}

static void test_text_prompt(void **state) {
    (void)state;
    char args[4 * PATH_MAX], path[PATH_MAX];
    snprintf(args, sizeof args, "generate --model '%s/text' --prompt 'Where does the route end?' --method vanilla "
             "--max-new-tokens 3 --output '%s/text.json' --stop-on-newline", dir, dir);
    expect(args, 0, NULL);
    snprintf(path, sizeof path, "%s/text.json", dir);
    cJSON *j = read_json(path);
    const cJSON *ids = cJSON_GetObjectItem(j, "input_ids");
    assert_int_equal(cJSON_GetArrayItem(ids, 0)->valueint, 151644);  // <|im_start|>: the chat template applied
    assert_int_equal(cJSON_GetArrayItem(ids, cJSON_GetArraySize(ids) - 1)->valueint, 271);  // ...</think>\n\n
    assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "output_text")));
    cJSON_Delete(j);
    snprintf(args, sizeof args, "generate --model '%s/text' --prompt 'Hello' --no-chat --method vanilla --max-new-tokens 2", dir);
    expect(args, 0, NULL);
}

static void test_validation_errors(void **state) {
    (void)state;
    char ids[2 * PATH_MAX], args[4 * PATH_MAX];
    snprintf(ids, sizeof ids, "--model '%s/ids' --input-ids '%s/prompt.json'", dir, dir);
    const struct {
        const char *args;
        int status;
        const char *message;
    } cases[] = {
        {"generate --input-ids x.json --method vanilla", 2, "generate: needs --model DIR"},
        {"generate %s", 2, "generate: needs --method vanilla|dysco|attnsharp"},
        {"generate %s --prompt hi --method vanilla", 2, "needs exactly one of --prompt, --prompt-file, --input-ids"},
        {"generate %s --method greedy", 2, "--method: expected vanilla, dysco or attnsharp, got 'greedy'"},
        {"generate %s --method attnsharp", 2, "--attn-temperature: attnsharp needs a temperature > 0"},
        {"generate %s --method attnsharp --attn-temperature -1", 2, "attnsharp needs a temperature > 0"},
        {"generate %s --method vanilla --top-p 1.5", 2, "--top-p: expected a value in (0, 1], got 1.5"},
        {"generate %s --method vanilla --top-p nan", 2, "--top-p: expected a number >= 0, got 'nan'"},
        {"generate %s --method vanilla --temperature inf", 2, "--temperature: expected a number >= 0, got 'inf'"},
        {"generate %s --method vanilla --temperature nan", 2, "--temperature: expected a number >= 0, got 'nan'"},
        {"generate %s --method vanilla --temperature -1", 2, "--temperature: expected a number >= 0, got '-1'"},
        {"generate %s --method attnsharp --attn-temperature inf", 2, "--attn-temperature: expected a finite number, got 'inf'"},
        {"generate %s --method vanilla --max-new-tokens 0", 2, "--max-new-tokens: expected an integer in [1,"},
        {"generate %s --method vanilla --device tpu", 2, "--device: expected cpu, cpu-bf16 or cuda, got 'tpu'"},
        {"generate %s --method vanilla --think", 2, "--input-ids bypasses the chat template"},
        {"generate %s --method dysco --trace-selected", 2, "generate: --trace-selected needs --trace F.jsonl and --method dysco"},
        {"generate %s --method vanilla --frobnicate", 2, "generate: unknown option '--frobnicate'"},
        {"score %s --method vanilla", 2, "score: needs --continuation-ids F.json"},
        {"generate %s --method vanilla --stop-ids 1,x", 1, "--stop-ids: expected token ids below 2^31 such as 1,2,3 or [1, 2, 3], got '1,x'"},
        {"generate %s --method vanilla --max-new-tokens 50000", 1, "prompt: 60 tokens + 50000 new exceed max_position_embeddings 40960"},
        {"generate %s --method dysco", 1, "selected_heads"},
        {"generate %s --method dysco --dysco-heads '[(9,0)]' --dysco-top-k 4 --dysco-strength 2 --dysco-decay 0.5", 1,
         "selected_heads: (9, 0): layer 9 out of range for a 4-layer model"},
        {"generate %s --method dysco --dysco-heads '[(1,7)]' --dysco-top-k 4 --dysco-strength 2 --dysco-decay 0.5", 1,
         "head 7 out of range"},
        {"generate %s --method dysco --dysco-heads '[(1,0' --dysco-top-k 4 --dysco-strength 2 --dysco-decay 0.5", 1, "--dysco-heads"},
        {"generate %s --method dysco --dysco-heads '[(1,0)]' --dysco-strength 2 --dysco-decay 0.5", 1, "top_k"},
        // Overrides are named as given, not as the YAML key they replace (once "FILE.yaml: top_p").
        {"generate %s --method dysco --dysco-heads '[(1,0)]' --dysco-top-p 1.5 --dysco-strength 2 --dysco-decay 0.5", 2,
         "--dysco-top-p: expected a value in [0, 1] (0 disables the nucleus), got 1.5"},
        {"generate %s --method dysco --dysco-heads '[(1,0)]' --dysco-top-k 4 --dysco-strength 0 --dysco-decay 0.5", 2,
         "--dysco-strength: expected a value > 0, got 0"},
        {"generate %s --method dysco --dysco-heads '[(1,0)]' --dysco-top-k 4 --dysco-strength -inf --dysco-decay 0.5", 2,
         "--dysco-strength: expected a finite number, got '-inf'"},
        {"generate %s --method dysco --dysco-heads '[(1,0)]' --dysco-top-k 4 --dysco-strength 2 --dysco-decay -0.5", 2,
         "--dysco-decay: expected a number >= 0, got '-0.5'"},
        {"generate %s --method dysco --dysco-heads '[(1,0)]' --dysco-top-k 4 --dysco-strength 2 --dysco-decay 0.5 --dysco-ctx-warmup 100",
         1, "prefill"},
        {"generate %s --method dysco --dysco-heads '[(1,0)]' --dysco-top-k 4 --dysco-strength 2 --dysco-decay 0.5 --dysco-interv-warmup soon",
         1, "--dysco-interv-warmup"},
        {"generate %s --method dysco --dysco-config /nonexistent-dysco.yaml", 1, "/nonexistent-dysco.yaml"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(args, sizeof args, cases[i].args, ids);
        expect(args, cases[i].status, cases[i].message);
    }
    snprintf(args, sizeof args, "generate --model '%s/ids' --prompt hi --method vanilla", dir);
    expect(args, 1, "ids/tokenizer.json: missing (a text prompt needs the tokenizer; --input-ids does not)");
    char bad[PATH_MAX];
    dy_error err;
    snprintf(bad, sizeof bad, "%s/bad.json", dir);
    assert_int_equal(dy_write_file(bad, "[1, 2, 5000]", 12, &err), 0);
    snprintf(args, sizeof args, "generate --model '%s/ids' --input-ids '%s' --method vanilla", dir, bad);
    expect(args, 1, "input: token id 5000 is outside the model's vocabulary (1024)");
    assert_int_equal(dy_write_file(bad, "[1, 1.5]", 8, &err), 0);  // once read as token 1
    expect(args, 1, "bad.json: [1]: expected a token id (a whole number >= 0), got 1.5");
    assert_int_equal(dy_write_file(bad, "{\"ids\": [1]}", 12, &err), 0);
    expect(args, 1, "bad.json: expected {\"input_ids\": [...]} or a non-empty JSON array of token ids");
    snprintf(args, sizeof args, "generate --model '%s/text' --prompt hi --no-chat --system sys --method vanilla", dir);
    expect(args, 1, "--system needs the chat template (drop --no-chat)");
}

// generation_config.json's EOS ids follow config.json's rule (ids inside the vocabulary); a file
// that is not an object once went unread.
static void test_generation_config_errors(void **state) {
    (void)state;
    char path[PATH_MAX], args[4 * PATH_MAX], want[PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/ids/generation_config.json", dir);
    snprintf(args, sizeof args, "generate --model '%s/ids' --input-ids '%s/prompt.json' --method vanilla --max-new-tokens 1",
             dir, dir);
    const struct {
        const char *text, *problem;
    } cases[] = {
        {"{\"eos_token_id\": 1.5}", "eos_token_id: expected a token id (a whole number >= 0), got 1.5"},
        {"{\"eos_token_id\": [2, 1024]}", "eos_token_id: 1024 is not below vocab_size 1024"},
        {"{\"eos_token_id\": \"2\"}", "eos_token_id: expected a token id (a whole number >= 0), got a string"},
        {"[2]", "expected a JSON object"},
    };
    dy_error err;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(dy_write_file(path, cases[i].text, strlen(cases[i].text), &err), 0);
        snprintf(want, sizeof want, "%s: %s", path, cases[i].problem);
        expect(args, 1, want);
    }
    const char *valid = "{\"eos_token_id\": [2, 1023]}";
    assert_int_equal(dy_write_file(path, valid, strlen(valid), &err), 0);
    expect(args, 0, NULL);
    assert_int_equal(unlink(path), 0);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO TOKENIZER_DIR", &dysco_bin, &toks, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_methods_end_to_end), cmocka_unit_test(test_score_matches_generate),
        cmocka_unit_test(test_trace_selected), cmocka_unit_test(test_device_cpu_bf16), cmocka_unit_test(test_router_margins),
        cmocka_unit_test(test_trace_write_error),
        cmocka_unit_test(test_stops_and_sampling), cmocka_unit_test(test_bench), cmocka_unit_test(test_text_prompt),
        cmocka_unit_test(test_validation_errors), cmocka_unit_test(test_generation_config_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

// Tensor parallelism as a user runs it: `mpirun -np N dysco generate|score ...` against the same
// command as one process. For tiny Qwen3, Llama-3 and Qwen3-MoE checkpoints with 8 query heads
// and 2 KV heads (np 4 replicates each KV head on two ranks) and an uneven vocabulary (1001),
// every method and DySCO mode (dynamic hybrid, top-k only, top-p only, static, hard mask, heads
// of one rank only, template tokens rescaled) with greedy and sampled decoding gives under np 2
// and np 4 the same tokens as np 1, the same --trace lines (pos, phase, n_selected,
// top_positions, selected, token) with log-probabilities within 1e-5, and DySCO runs with the
// cross-rank selection check on; teacher-forced score log-probabilities within 1e-5. Then the
// job's errors: a world size that does not divide the heads ends every rank with one line naming
// the dimension; --tp that differs from the world size; verbs that run as one process. bench under
// np 2 prints rank 0's lines alone.
// argv: PATH_TO_DYSCO PATH_TO_MPIRUN.
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

static const char *dysco_bin, *mpirun;
static char *dir;
static const char *const presets[] = {"tiny-qwen3", "tiny-llama", "tiny-qwen3-moe"};
static const int nps[] = {1, 2, 4};

static char *read_text(const char *path) {
    dy_error err;
    char *text = dy_read_file(path, NULL, &err);
    if (!text) fail_msg("%s", err.msg);
    return text;
}

// Runs `mpirun -np np dysco args`, which must succeed.
static void run_np(int np, const char *args) {
    cmd_result r = run_cmd("'%s' --oversubscribe -np %d '%s' %s", mpirun, np, dysco_bin, args);
    if (r.status != 0) fail_msg("mpirun -np %d dysco %s\n  exit %d\n  stderr: %s", np, args, r.status, r.err);
    cmd_result_free(&r);
}

// A trace line without its logprob (compared apart, within a tolerance); *logprob = NAN if none.
static void split_logprob(char *line, double *logprob) {
    char *at = strstr(line, ", \"logprob\": ");
    *logprob = NAN;
    if (!at) return;
    *logprob = strtod(at + 13, NULL);
    *at = '\0';
}

// The trace files of two runs: equal lines but for log-probabilities within 1e-5.
static void same_traces(const char *a_path, const char *b_path, const char *what) {
    char *a = read_text(a_path), *b = read_text(b_path), *sa, *sb;
    int n = 0;
    for (char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb); la || lb;
         la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb), n++) {
        if (!la || !lb) fail_msg("%s: trace line %d: one trace ends early", what, n);
        double pa, pb;
        split_logprob(la, &pa);
        split_logprob(lb, &pb);
        if (strcmp(la, lb) != 0) fail_msg("%s: trace line %d differs:\n  %s\n  %s", what, n, la, lb);
        if (isnan(pa) != isnan(pb) || fabs(pa - pb) > 1e-5)
            fail_msg("%s: trace line %d: logprob %.9g vs %.9g", what, n, pa, pb);
    }
    assert_true(n > 0);
    free(a);
    free(b);
}

// The --output files of two runs: the same ids, log-probabilities within 1e-5, and the parallel
// section naming the degree.
static void same_outputs(const char *a_path, const char *b_path, int np_b, const char *ids_key, const char *what) {
    char *ta = read_text(a_path), *tb = read_text(b_path);
    cJSON *a = cJSON_Parse(ta), *b = cJSON_Parse(tb);
    assert_non_null(a);
    assert_non_null(b);
    const char *keys[] = {ids_key, "argmax_ids"};
    for (int k = 0; k < 2; k++) {
        char *ja = cJSON_PrintUnformatted(cJSON_GetObjectItem(a, keys[k]));
        char *jb = cJSON_PrintUnformatted(cJSON_GetObjectItem(b, keys[k]));
        if (strcmp(ja, jb) != 0) fail_msg("%s: %s differ:\n  np 1 %s\n  np %d %s", what, keys[k], ja, np_b, jb);
        free(ja);
        free(jb);
    }
    const cJSON *la = cJSON_GetObjectItem(a, "logprobs"), *lb = cJSON_GetObjectItem(b, "logprobs");
    assert_int_equal(cJSON_GetArraySize(la), cJSON_GetArraySize(lb));
    for (int i = 0; i < cJSON_GetArraySize(la); i++) {
        const double x = cJSON_GetArrayItem(la, i)->valuedouble, y = cJSON_GetArrayItem(lb, i)->valuedouble;
        if (fabs(x - y) > 1e-5) fail_msg("%s: logprob %d: np 1 %.9g, np %d %.9g", what, i, x, np_b, y);
    }
    const cJSON *par = cJSON_GetObjectItem(b, "parallel");
    assert_int_equal(cJSON_GetObjectItem(par, "tp")->valueint, np_b);
    const double bytes_a = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "parallel"), "weight_bytes_per_rank")->valuedouble;
    const double bytes_b = cJSON_GetObjectItem(par, "weight_bytes_per_rank")->valuedouble;
    // Each rank reads about 1/np of the checkpoint: more for the replicated norms, the router
    // and (np 4) the KV heads.
    if (np_b > 1 && !(bytes_b < bytes_a / np_b * 1.5 && bytes_b >= bytes_a / np_b))
        fail_msg("%s: np %d rank reads %.0f of %.0f bytes", what, np_b, bytes_b, bytes_a);
    cJSON_Delete(a);
    cJSON_Delete(b);
    free(ta);
    free(tb);
}

static int group_setup(void **state) {
    (void)state;
    dir = make_temp_dir("cli-tp");
    int ok = 1;
    for (int p = 0; p < 3 && ok; p++) {
        cmd_result r = run_cmd("'%s' make-model '%s/%s' --preset %s --heads 8 --kv-heads 2 --vocab 1001 --dtype fp32 "
                               "--qk-std 0.08 --seed 7",
                               dysco_bin, dir, presets[p], presets[p]);
        ok = r.status == 0;
        if (!ok) fprintf(stderr, "%s", r.err);
        cmd_result_free(&r);
    }
    // 90 prompt ids with the template sequence [11, 48] in three places; 12 ids to score.
    char ids[4096] = "[", path[PATH_MAX];
    for (int i = 0; i < 90; i++) {
        const int id = i % 30 == 5 ? 11 : i % 30 == 6 ? 48 : (i * 37 + 11) % 1001;
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), i ? ",%d" : "%d", id);
    }
    strcat(ids, "]");
    dy_error err;
    snprintf(path, sizeof path, "%s/prompt.json", dir);
    ok = ok && dy_write_file(path, ids, strlen(ids), &err) == 0;
    const char *cont = "[5, 900, 17, 44, 631, 2, 77, 1000, 250, 251, 3, 9]";
    snprintf(path, sizeof path, "%s/continuation.json", dir);
    ok = ok && dy_write_file(path, cont, strlen(cont), &err) == 0;
    // Selected heads of every rank at np 2 (0, 3 | 5, 7) and np 4 (0 | 3 | 5 | 7).
    const char *yaml = "selected_heads: \"[(1,0),(1,5),(0,3),(2,7)]\"\ntop_k: 12\ntop_p: 0.6\nstrength: 2.5\n"
                       "decay_factor: 0.8\ncontext_warmup_steps: 10\nintervention_warmup: 2\nscale_template_tokens: False\n"
                       "template_sequences:\n  - [11, 48]\ndynamic_rescale: True\n";
    snprintf(path, sizeof path, "%s/dysco.yaml", dir);
    ok = ok && dy_write_file(path, yaml, strlen(yaml), &err) == 0;
    return ok ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    rm_rf(dir);
    free(dir);
    return 0;
}

static const char *const modes[] = {
    "--method vanilla",
    "--method vanilla --temperature 0.8 --top-k 20 --seed 3",
    "--method vanilla --temperature 1 --top-p 0.9 --seed 4",
    "--method attnsharp --attn-temperature 0.5 --temperature 0.9 --seed 5",
    "--method dysco --trace-selected",
    "--method dysco --dysco-top-p 0 --temperature 1 --seed 6",
    "--method dysco --dysco-top-k 0 --trace-selected",
    "--method dysco --dysco-static --trace-selected",
    "--method dysco --dysco-strength 100 --trace-selected",
    "--method dysco --dysco-heads \"[(0,0),(1,1)]\"",  // heads of rank 0 alone: the others add zeros
    "--method dysco --dysco-rescale-template --temperature 0.7 --top-k 50 --seed 8",
};

static void test_generate_matches_one_process(void **state) {
    (void)state;
    char args[8 * PATH_MAX], what[512], out[3][PATH_MAX], trace[3][PATH_MAX];
    for (int p = 0; p < 3; p++)
        for (int m = 0; m < (int)(sizeof modes / sizeof *modes); m++) {
            for (int i = 0; i < 3; i++) {
                snprintf(out[i], sizeof out[i], "%s/out_np%d.json", dir, nps[i]);
                snprintf(trace[i], sizeof trace[i], "%s/trace_np%d.jsonl", dir, nps[i]);
                snprintf(args, sizeof args,
                         "generate --model '%s/%s' --input-ids '%s/prompt.json' --dysco-config '%s/dysco.yaml' %s "
                         "--max-new-tokens 10 --output '%s' --trace '%s'%s",
                         dir, presets[p], dir, dir, modes[m], out[i], trace[i],
                         strstr(modes[m], "dysco") && nps[i] > 1 ? " --tp-check-selection" : "");
                run_np(nps[i], args);
            }
            for (int i = 1; i < 3; i++) {
                snprintf(what, sizeof what, "%s, %s, np %d", presets[p], modes[m], nps[i]);
                same_outputs(out[0], out[i], nps[i], "output_ids", what);
                same_traces(trace[0], trace[i], what);
            }
            printf("  %s, %s: np 2 and 4 as np 1\n", presets[p], modes[m]);
        }
}

static void test_score_matches_one_process(void **state) {
    (void)state;
    char args[8 * PATH_MAX], what[512], out[3][PATH_MAX];
    const char *methods[] = {"--method vanilla", "--method dysco"};
    for (int p = 0; p < 3; p++)
        for (int m = 0; m < 2; m++) {
            for (int i = 0; i < 3; i++) {
                snprintf(out[i], sizeof out[i], "%s/score_np%d.json", dir, nps[i]);
                snprintf(args, sizeof args,
                         "score --model '%s/%s' --input-ids '%s/prompt.json' --continuation-ids '%s/continuation.json' "
                         "--dysco-config '%s/dysco.yaml' %s --output '%s'",
                         dir, presets[p], dir, dir, dir, methods[m], out[i]);
                run_np(nps[i], args);
            }
            for (int i = 1; i < 3; i++) {
                snprintf(what, sizeof what, "score %s, %s, np %d", presets[p], methods[m], nps[i]);
                same_outputs(out[0], out[i], nps[i], "continuation_ids", what);
            }
        }
}

// Every rank's stderr line holds want; the job exits non-zero.
static void expect_job_error(int np, const char *args, int lines, const char *want) {
    cmd_result r = run_cmd("'%s' --oversubscribe -np %d '%s' %s", mpirun, np, dysco_bin, args);
    int found = 0;
    for (const char *s = r.err; (s = strstr(s, want)); s++) found++;
    if (r.status == 0 || found != lines)
        fail_msg("mpirun -np %d dysco %s\n  expected a non-zero exit and %d lines with [%s]\n  got exit %d\n  stderr: %s",
                 np, args, lines, want, r.status, r.err);
    cmd_result_free(&r);
}

static void test_job_errors(void **state) {
    (void)state;
    char args[4 * PATH_MAX];
    snprintf(args, sizeof args, "generate --model '%s/tiny-qwen3' --input-ids '%s/prompt.json' --method vanilla", dir, dir);
    expect_job_error(3, args, 3, "of 3: --tp 3: num_attention_heads (8) is not divisible by 3");
    for (int r = 0; r < 3; r++) {
        char want[64];
        snprintf(want, sizeof want, "dysco: rank %d of 3: ", r);
        expect_job_error(3, args, 1, want);
    }
    snprintf(args, sizeof args, "score --model '%s/tiny-qwen3' --input-ids '%s/prompt.json' --continuation-ids "
             "'%s/continuation.json' --method vanilla --tp 4", dir, dir, dir);
    expect_job_error(2, args, 2, "--tp 4 differs from the 2 processes mpirun started");
    snprintf(args, sizeof args, "make-model '%s/never' --preset tiny-qwen3", dir);
    expect_job_error(2, args, 2, "make-model: runs as one process, but mpirun started 2");
    // Without a launcher, --tp above 1 says how to start the job.
    cmd_result r = run_cmd("'%s' generate --model '%s/tiny-qwen3' --input-ids '%s/prompt.json' --method vanilla --tp 2",
                           dysco_bin, dir, dir);
    assert_int_equal(r.status, 2);
    assert_int_equal(count_lines(r.err), 1);
    assert_non_null(strstr(r.err, "--tp 2 needs 2 processes: start it with mpirun -np 2"));
    cmd_result_free(&r);
}

// bench under mpirun: rank 0 alone prints (one machine line, one line per context), naming the
// degree, and one rank's memory plan is smaller than the whole model's.
static void test_bench_tp(void **state) {
    (void)state;
    double plan[2] = {0};
    for (int i = 0; i < 2; i++) {
        cmd_result r = run_cmd("'%s' --oversubscribe -np %d '%s' bench --model '%s/tiny-qwen3' --ctx 32,48 --decode-steps 3",
                               mpirun, nps[i], dysco_bin, dir);
        if (r.status != 0) fail_msg("mpirun -np %d dysco bench: exit %d\n  stderr: %s", nps[i], r.status, r.err);
        assert_int_equal(count_lines(r.out), 3);
        char *save, *line = strtok_r(r.out, "\n", &save);
        cJSON *machine = cJSON_Parse(line);
        assert_non_null(machine);
        assert_string_equal(cJSON_GetObjectItem(machine, "kind")->valuestring, "machine");
        assert_int_equal(cJSON_GetObjectItem(machine, "tp")->valueint, nps[i]);
        plan[i] = cJSON_GetObjectItem(machine, "memory_plan_bytes_per_rank")->valuedouble;
        cJSON_Delete(machine);
        for (int c = 0; c < 2; c++) {
            cJSON *ctx = cJSON_Parse(strtok_r(NULL, "\n", &save));
            assert_non_null(ctx);
            assert_int_equal(cJSON_GetObjectItem(ctx, "ctx")->valueint, c ? 48 : 32);
            assert_true(cJSON_GetObjectItem(ctx, "decode_ms_per_token_median")->valuedouble > 0);
            cJSON_Delete(ctx);
        }
        cmd_result_free(&r);
    }
    if (!(plan[1] < plan[0] * 0.75)) fail_msg("memory plan per rank: np 1 %.0f bytes, np 2 %.0f", plan[0], plan[1]);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO PATH_TO_MPIRUN", &dysco_bin, &mpirun, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_matches_one_process),
        cmocka_unit_test(test_score_matches_one_process),
        cmocka_unit_test(test_bench_tp),
        cmocka_unit_test(test_job_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

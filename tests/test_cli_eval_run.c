// dysco eval end to end on the CPU with a tiny random model and the synthetic data of
// tests/eval_synthetic_data.py: the results layout and file name of run_eval.py, each example's
// output equal to dysco generate's for its prompt and its metric to dysco eval score's, the
// --test-size selection equal to Python's random.shuffle, the length filter's count against the
// Llama-3.1 template tokenized by dysco tokenize, kill -9 mid-run then a rerun giving the results
// of an uninterrupted run, a rerun with other arguments refused, one error line for each bad
// input, and a --config run equal to the same run given as flags. With MPIEXEC only the tensor-parallel case runs: mpirun -np 2 gives one process's results.
// argv: PATH_TO_DYSCO TOKENIZER_DIR SYNTHETIC_DATA_SCRIPT [MPIEXEC].
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

static const char *dysco_bin, *toks, *script, *mpiexec;
static char *dir;  // model/, data/ (synthetic), dysco.yaml; each case runs in a folder of its own

enum { PATH_EXAMPLES = 6, MAX_TOKENS = 10 };

static char *read_text(const char *path) {
    dy_error err;
    char *text = dy_read_file(path, NULL, &err);
    if (!text) fail_msg("%s", err.msg);
    return text;
}

static cJSON *read_json(const char *path) {
    char *text = read_text(path);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) fail_msg("%s: not JSON", path);
    return j;
}

static void write_text(const char *path, const char *text) {
    dy_error err;
    if (dy_write_file(path, text, strlen(text), &err)) fail_msg("%s", err.msg);
}

// A fresh folder dir/NAME for one run's working directory; its path in out.
static void work_dir(const char *name, char *out, size_t n) {
    snprintf(out, n, "%s/%s", dir, name);
    cmd_result r = run_cmd("rm -rf '%s' && mkdir -p '%s'", out, out);
    cmd_result_free(&r);
}

// dysco eval in the folder cwd with the fixture's model, data and filter tokenizer, results under
// cwd/res (relative, so two folders' runs have the same arguments).
static cmd_result eval_in(const char *cwd, const char *launcher, const char *args) {
    return run_cmd("cd '%s' && %s '%s' eval --model '%s/model' --data-dir '%s/data' --filter-tokenizer '%s/llama3_1' "
                   "--results-dir res %s",
                   cwd, launcher, dysco_bin, dir, dir, toks, args);
}

// The summary line's startup phases: seconds >= 0, the first example's null only when the run
// decoded none; the same phases on stderr.
static void expect_startup(const cJSON *line, const char *err, const char *args) {
    const cJSON *startup = cJSON_GetObjectItemCaseSensitive(line, "startup");
    static const char *const keys[] = {"open_seconds", "data_seconds", "backend_seconds", "load_seconds",
                                       "first_example_seconds"};
    for (int i = 0; i < 5; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(startup, keys[i]);
        if (!(cJSON_IsNumber(v) && v->valuedouble >= 0) && !(i == 4 && cJSON_IsNull(v)))
            fail_msg("dysco eval %s: summary line without startup.%s", args, keys[i]);
    }
    if (!strstr(err, "eval: startup: open ") || !strstr(err, " s, model load "))
        fail_msg("dysco eval %s: no startup line on stderr: %s", args, err);
}

// A run that must have succeeded (r, of dysco eval ARGS in cwd): the results path (cwd/…,
// malloc'd) from its summary line.
static char *results_of(cmd_result r, const char *cwd, const char *args) {
    if (r.status != 0) fail_msg("dysco eval %s: exit %d\n%s", args, r.status, r.err);
    cJSON *line = cJSON_Parse(r.out);
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(line, "results");
    if (!cJSON_IsString(path)) fail_msg("dysco eval %s: no summary line: %s", args, r.out);
    expect_startup(line, r.err, args);
    char *full = xmalloc(strlen(cwd) + strlen(path->valuestring) + 2);
    sprintf(full, "%s/%s", cwd, path->valuestring);
    cJSON_Delete(line);
    cmd_result_free(&r);
    return full;
}

static char *eval_ok(const char *cwd, const char *launcher, const char *args) {
    return results_of(eval_in(cwd, launcher, args), cwd, args);
}

static void expect_error(const char *args, int status, const char *in_stderr) {
    char cwd[PATH_MAX];
    work_dir("errors", cwd, sizeof cwd);
    cmd_result r = eval_in(cwd, "", args);
    if (r.status != status || !strstr(r.err, in_stderr) || count_lines(r.err) != 1)
        fail_msg("dysco eval %s\n  expected exit %d and one line with [%s]\n  got exit %d: %s", args, status, in_stderr,
                 r.status, r.err);
    cmd_result_free(&r);
}

static int group_setup(void **state) {
    (void)state;
    dir = make_temp_dir("eval_run");
    cmd_result r = run_cmd("'%s' make-model '%s/model' --preset tiny-qwen3 --layers 2 --tokenizer '%s/qwen3' >/dev/null && "
                           "python3 '%s' --out '%s/data' --datasets path_walking_16k --examples %d --tokens 250 && "
                           "python3 '%s' --out '%s/data' --datasets mrcr_2needle_8k --examples 4 --tokens 250",
                           dysco_bin, dir, toks, script, dir, PATH_EXAMPLES, script, dir);
    const int ok = r.status == 0;
    if (!ok) fprintf(stderr, "%s", r.err);
    cmd_result_free(&r);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dysco.yaml", dir);
    dy_error err;
    const char *yaml = "selected_heads: \"[(1,0),(1,3),(0,2)]\"\ntop_k: 16\ntop_p: 0.9\nstrength: 2.0\ndecay_factor: 0.75\n"
                       "context_warmup_steps: 4\nintervention_warmup: 'auto'\ndynamic_rescale: True\n";
    return ok && dy_write_file(path, yaml, strlen(yaml), &err) == 0 ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    rm_rf(dir);
    free(dir);
    return 0;
}

// Python's stdout for a snippet (malloc'd).
static char *python(const char *code) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/snippet.py", dir);
    write_text(path, code);
    cmd_result r = run_cmd("python3 '%s'", path);
    if (r.status != 0) fail_msg("python3: %s", r.err);
    free(r.err);
    return r.out;
}

static double number(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("%s: not a number", key);
    return v->valuedouble;
}

// One JSONL line of v, which it frees.
static void put_line(FILE *f, cJSON *v) {
    char *text = cJSON_PrintUnformatted(v);
    fprintf(f, "%s\n", text);
    free(text);
    cJSON_Delete(v);
}

// Each saving_info entry's metric is what dysco eval score gives its output and example (one
// call for all of them); returns the sum of each of names[0..n_names) over the entries.
static void expect_eval_score(const char *dataset, const cJSON *saving, const char *const *names, int n_names, double *sums) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/score.jsonl", dir);
    FILE *f = fopen(path, "w");
    const cJSON *entry;
    cJSON_ArrayForEach(entry, saving) {
        cJSON *line = cJSON_CreateObject();
        cJSON_AddItemToObject(line, "output", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
                                                  cJSON_GetObjectItemCaseSensitive(entry, "output"), "output"), true));
        cJSON_AddItemToObject(line, "example", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(entry, "data"), true));
        put_line(f, line);
    }
    fclose(f);
    cmd_result r = run_cmd("'%s' eval score --dataset %s --input '%s'", dysco_bin, dataset, path);
    if (r.status != 0) fail_msg("eval score: %s", r.err);
    const char *line = r.out;
    for (int i = 0; i < n_names; i++) sums[i] = 0;
    cJSON_ArrayForEach(entry, saving) {
        cJSON *m = cJSON_ParseWithOpts(line, NULL, false);
        if (!m || !cJSON_Compare(m, cJSON_GetObjectItemCaseSensitive(entry, "metric"), true))
            fail_msg("metric differs from dysco eval score's %.200s", line);
        for (int i = 0; i < n_names; i++) sums[i] += number(m, names[i]);
        cJSON_Delete(m);
        line = strchr(line, '\n') + 1;
    }
    cmd_result_free(&r);
}

// The results file as run_eval.py's json.dump(indent=2) writes it: equal to Python's dump of
// what Python reads from it.
static void expect_python_layout(const char *path) {
    char code[PATH_MAX + 256];
    snprintf(code, sizeof code,
             "import json\ntext = open(r'%s', encoding='utf-8').read()\nprint(text == json.dumps(json.loads(text), indent=2))\n",
             path);
    char *same = python(code);
    if (strcmp(same, "True\n") != 0) fail_msg("%s is not json.dump(indent=2) of itself", path);
    free(same);
}

static void test_dysco_run(void **state) {
    (void)state;
    char cwd[PATH_MAX], args[2 * PATH_MAX];
    work_dir("dysco", cwd, sizeof cwd);
    snprintf(args, sizeof args, "--dataset path_walking_16k --method dysco --dysco-config '%s/dysco.yaml' --test-size 3 "
             "--max-tokens %d", dir, MAX_TOKENS);
    char *path = eval_ok(cwd, "", args);
    expect_python_layout(path);
    // run_eval.py's get_output_path for these arguments.
    char code[PATH_MAX + 512], model[PATH_MAX];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(code, sizeof code,
             "import hashlib\nh = hashlib.md5(str([(1,0),(1,3),(0,2)]).encode()).hexdigest()[:8]\n"
             "m = '%s'.replace('/', '-')\n"
             "print(f'res/dysco/{m}/path_walking_16k_modlen16384_max%dt{0.0}p{1.0}"
             "_dynamicrescalehead{h}k16p0.9s2.0df0.75_ctxwarm4intwarm7scaletempFalse_thinkFalse_42and23_testsz3.json')\n",
             model, MAX_TOKENS);
    char *name = python(code);
    name[strlen(name) - 1] = '\0';
    if (strcmp(path + strlen(cwd) + 1, name) != 0) fail_msg("results file %s, run_eval.py's %s", path + strlen(cwd) + 1, name);
    free(name);
    // The examples --test-size picks: random.seed(42); random.shuffle; the first 3.
    char *order = python("import random\nx = list(range(6))\nrandom.seed(42)\nrandom.shuffle(x)\nprint(*x[:3])\n");
    char data[PATH_MAX];
    snprintf(data, sizeof data, "%s/data/longproc/path_walking/path_walking_16k.json", dir);
    cJSON *records = read_json(data), *results = read_json(path);
    const cJSON *saving = cJSON_GetObjectItemCaseSensitive(results, "saving_info"), *entry;
    assert_int_equal(cJSON_GetArraySize(saving), 3);
    assert_int_equal((int)number(results, "test_size"), 3);
    const cJSON *args_out = cJSON_GetObjectItemCaseSensitive(results, "args");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(args_out, "decoding_method")->valuestring, "dysco");
    double sums[3];
    const char *const names[3] = {"accuracy", "partial_accuracy", "extraction_rate"};
    const char *next = order;
    int k = 0;
    cJSON_ArrayForEach(entry, saving) {
        const int index = (int)strtol(next, (char **)&next, 10);
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(entry, "data"), *out = cJSON_GetObjectItemCaseSensitive(entry, "output");
        const cJSON *record = cJSON_GetArrayItem(records, index);
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(ex, "reference_output")->valuestring,
                            cJSON_GetObjectItemCaseSensitive(record, "answer_nl")->valuestring);
        const char *prompt = cJSON_GetObjectItemCaseSensitive(ex, "input_prompt")->valuestring;
        assert_non_null(strstr(prompt, cJSON_GetObjectItemCaseSensitive(record, "context_nl")->valuestring));
        // The same output as dysco generate of the prompt, with the same generation_logging.
        char prompt_path[PATH_MAX], out_path[PATH_MAX], cmd[4 * PATH_MAX];
        snprintf(prompt_path, sizeof prompt_path, "%s/prompt.txt", dir);
        snprintf(out_path, sizeof out_path, "%s/generate.json", dir);
        write_text(prompt_path, prompt);
        snprintf(cmd, sizeof cmd, "'%s' generate --model '%s/model' --prompt-file '%s' --method dysco --dysco-config "
                 "'%s/dysco.yaml' --max-new-tokens %d --output '%s' >/dev/null", dysco_bin, dir, prompt_path, dir,
                 MAX_TOKENS, out_path);
        cmd_result r = run_cmd("%s", cmd);
        if (r.status != 0) fail_msg("generate: %s", r.err);
        cmd_result_free(&r);
        cJSON *g = read_json(out_path);
        const char *output = cJSON_GetObjectItemCaseSensitive(out, "output")->valuestring;
        assert_string_equal(output, cJSON_GetObjectItemCaseSensitive(g, "output_text")->valuestring);
        const cJSON *logged = cJSON_GetObjectItemCaseSensitive(out, "generation_logging");
        assert_true(cJSON_Compare(logged, cJSON_GetObjectItemCaseSensitive(g, "generation_logging"), true));
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(out, "thinking_part")));
        assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(out, "success")));
        assert_true(number(out, "time_taken") > 0);
        cJSON_Delete(g);
        k++;
    }
    expect_eval_score("path_walking_16k", saving, names, 3, sums);
    const cJSON *avg = cJSON_GetObjectItemCaseSensitive(results, "avg_metrics");
    for (int i = 0; i < 3; i++) assert_true(fabs(number(avg, names[i]) - sums[i] / 3) < 1e-12);
    // scores.json: avg_metrics alone; the journal: its header and one line per example.
    char scores[PATH_MAX + 16], journal[PATH_MAX + 8];
    snprintf(scores, sizeof scores, "%.*sscores.json", (int)(strlen(path) - 5), path);
    snprintf(journal, sizeof journal, "%sl", path);
    cJSON *s = read_json(scores);
    assert_true(cJSON_Compare(s, avg, true));
    char *j = read_text(journal);
    assert_int_equal(count_lines(j), 4);
    free(j);
    cJSON_Delete(s);
    cJSON_Delete(records);
    cJSON_Delete(results);
    free(order);
    free(path);
}

// The length of each entry's prompt as the Llama-3.1 chat template renders one user message
// (content stripped) and dysco tokenize (which adds <|begin_of_text|>) counts it: one --batch call.
static void filter_tokens(const cJSON *saving, int *counts, int n) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/filter.jsonl", dir);
    FILE *f = fopen(path, "w");
    const cJSON *entry;
    cJSON_ArrayForEach(entry, saving) {
        const char *prompt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(entry, "data"),
                                                              "input_prompt")->valuestring;
        size_t a = 0, b = strlen(prompt);
        while (a < b && strchr(" \t\n\r", prompt[a])) a++;
        while (b > a && strchr(" \t\n\r", prompt[b - 1])) b--;
        char *text = xmalloc(b - a + 512);
        sprintf(text, "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: "
                      "26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n%.*s<|eot_id|>"
                      "<|start_header_id|>assistant<|end_header_id|>\n\n",
                (int)(b - a), prompt + a);
        cJSON *line = cJSON_CreateObject();
        cJSON_AddStringToObject(line, "text", text);
        put_line(f, line);
        free(text);
    }
    fclose(f);
    cmd_result r = run_cmd("'%s' tokenize --model '%s/llama3_1' --batch '%s'", dysco_bin, toks, path);
    if (r.status != 0) fail_msg("tokenize: %s", r.err);
    const char *line = r.out;
    for (int i = 0; i < n; i++) {
        cJSON *ids = cJSON_ParseWithOpts(line, NULL, false);
        assert_non_null(ids);
        assert_int_equal(cJSON_GetArrayItem(ids, 0)->valueint, 128000);
        counts[i] = cJSON_GetArraySize(ids);
        cJSON_Delete(ids);
        line = strchr(line, '\n') + 1;
    }
    cmd_result_free(&r);
}

static int compare_ints(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void test_length_filter(void **state) {
    (void)state;
    char dysco_results[PATH_MAX], args[512];
    work_dir("filter", dysco_results, sizeof dysco_results);
    // Every example's prompt through the path_walking loader: a run of all 6, one token each.
    char *path = eval_ok(dysco_results, "", "--dataset path_walking_16k --test-size 6 --max-tokens 1");
    cJSON *results = read_json(path);
    const cJSON *saving = cJSON_GetObjectItemCaseSensitive(results, "saving_info");
    const int n = cJSON_GetArraySize(saving);
    assert_int_equal(n, PATH_EXAMPLES);
    int counts[PATH_EXAMPLES] = {0}, sorted[PATH_EXAMPLES];
    filter_tokens(saving, counts, n);
    memcpy(sorted, counts, sizeof counts);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_ints);
    // A limit between the examples' lengths keeps those at or below it.
    const int limit = sorted[2];
    int kept = 0;
    for (int i = 0; i < n; i++) kept += counts[i] <= limit;
    snprintf(args, sizeof args, "--dataset path_walking_16k --test-size 1 --max-tokens 4 --max-model-len %d", limit + 4 + 16);
    cmd_result r = eval_in(dysco_results, "", args);
    char want[128];
    snprintf(want, sizeof want, "1 examples (6 loaded, %d kept by the length filter)", kept);
    if (r.status != 0 || !strstr(r.err, want)) fail_msg("%s: expected [%s] in: %s", args, want, r.err);
    cmd_result_free(&r);
    snprintf(args, sizeof args, "--dataset path_walking_16k --max-tokens 4 --max-model-len %d", sorted[0] + 4 + 15);
    expect_error(args, 1, "path_walking_16k: no examples left: the length filter kept 0 of 6");
    cJSON_Delete(results);
    free(path);
}

static void drop_times(cJSON *results) {
    cJSON *entry;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(results, "saving_info"))
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(entry, "output"), "time_taken");
}

// Two results files equal but for time_taken.
static void expect_same_results(const char *a, const char *b) {
    cJSON *x = read_json(a), *y = read_json(b);
    drop_times(x);
    drop_times(y);
    if (!cJSON_Compare(x, y, true)) fail_msg("%s and %s differ (time_taken aside)", a, b);
    cJSON_Delete(x);
    cJSON_Delete(y);
}

static const char RUN_ARGS[] = "--dataset path_walking_16k --test-size 6 --max-tokens 10";

// Reruns in the folder of a finished run (results at path).
static void rerun_checks(const char *whole, const char *path) {
    char broken[PATH_MAX];
    char *before = read_text(path);
    // The same arguments again: nothing left to decode; the same file, time_taken included.
    char *again = eval_ok(whole, "", RUN_ARGS), *after = read_text(again);
    assert_string_equal(before, after);
    // Other arguments (not in the file name) into the same journal: refused.
    char args[512];
    snprintf(args, sizeof args, "%s --stop-on-newline", RUN_ARGS);
    cmd_result r = eval_in(whole, "", args);
    if (r.status != 1 || count_lines(r.err) != 1 ||
        !strstr(r.err, "made by a run with other arguments (args.stop_on_newline: false there, true now); use another "
                       "--results-dir, or remove the file"))
        fail_msg("rerun with other arguments: exit %d: %s", r.status, r.err);
    cmd_result_free(&r);
    // A journal line broken in the middle (not a torn last line): refused, naming the line.
    work_dir("broken", broken, sizeof broken);
    r = run_cmd("cp -r '%s/res' '%s/' && cd '%s' && f=$(ls res/flash/*/*.jsonl) && sed -i '3s/.*/{\"index\": 1,/' \"$f\" && echo \"$f\"",
                whole, broken, broken);
    if (r.status != 0) fail_msg("%s", r.err);
    char want[PATH_MAX];
    snprintf(want, sizeof want, "%.*s:3: not valid JSON", (int)strcspn(r.out, "\n"), r.out);
    cmd_result_free(&r);
    r = eval_in(broken, "", RUN_ARGS);
    if (r.status != 1 || count_lines(r.err) != 1 || !strstr(r.err, want)) fail_msg("broken journal: exit %d: %s", r.status, r.err);
    cmd_result_free(&r);
    free(before);
    free(after);
    free(again);
}

// kill -9 mid-run, a torn last line, the rerun that resumes; then reruns of the finished run.
static void test_kill_then_resume(void **state) {
    (void)state;
    char whole[PATH_MAX], killed[PATH_MAX];
    work_dir("whole", whole, sizeof whole);
    work_dir("killed", killed, sizeof killed);
    char *path = eval_ok(whole, "", RUN_ARGS);
    const char *relative = path + strlen(whole) + 1;
    // kill -9 once two examples are in the journal (header + 2 lines), then a torn line as a kill
    // during a write leaves it.
    cmd_result r = run_cmd("(cd '%s' && { '%s' eval --model '%s/model' --data-dir '%s/data' --filter-tokenizer '%s/llama3_1' "
                           "--results-dir res %s >/dev/null 2>&1 & pid=$!; }; j='%sl'; "
                           "while kill -0 $pid 2>/dev/null && [ \"$(cat \"$j\" 2>/dev/null | wc -l)\" -lt 3 ]; do sleep 0.02; done; kill -9 $pid; "
                           "wait $pid; echo \"status $?\"; wc -l < \"$j\"; printf '{\"index\": 2, \"da' >> \"$j\")",
                           killed, dysco_bin, dir, dir, toks, RUN_ARGS, relative);
    int lines = 0;
    if (r.status != 0 || !strstr(r.out, "status 137") || sscanf(strchr(r.out, '\n') + 1, "%d", &lines) != 1 || lines >= 7)
        fail_msg("the run was not killed mid-run: %s %s", r.out, r.err);
    cmd_result_free(&r);
    r = eval_in(killed, "", RUN_ARGS);
    if (r.status != 0 || !strstr(r.err, "resuming after the finished ones")) fail_msg("resume: exit %d: %s", r.status, r.err);
    cmd_result_free(&r);
    char resumed[PATH_MAX * 2], journal[PATH_MAX * 2 + 8];
    snprintf(resumed, sizeof resumed, "%s/%s", killed, relative);
    expect_same_results(path, resumed);
    // The journal: the header, then indices 0..5 once each.
    snprintf(journal, sizeof journal, "%sl", resumed);
    char *text = read_text(journal), *line = strchr(text, '\n') + 1;
    for (int i = 0; i < 6; i++) {
        cJSON *rec = cJSON_ParseWithOpts(line, NULL, false);
        assert_non_null(rec);
        assert_int_equal((int)number(rec, "index"), i);
        cJSON_Delete(rec);
        line = strchr(line, '\n') + 1;
    }
    assert_int_equal(*line, '\0');
    free(text);
    rerun_checks(whole, path);
    free(path);
}

static void test_mrcr_run(void **state) {
    (void)state;
    char cwd[PATH_MAX];
    work_dir("mrcr", cwd, sizeof cwd);
    // MRCR is not length-filtered: a --max-model-len below every prompt still runs them all.
    static const char args[] = "--dataset mrcr_2needle_8k --test-size 3 --max-tokens 6 --max-model-len 64";
    char *path = eval_ok(cwd, "", args);
    expect_python_layout(path);
    // Progress: plain lines into a file; on a terminal (script(1)'s pseudo-terminal) one line redrawn.
    char tty_cwd[PATH_MAX];
    work_dir("mrcr_tty", tty_cwd, sizeof tty_cwd);
    cmd_result r = eval_in(tty_cwd, "", args);
    if (r.status != 0 || !strstr(r.err, "eval: 3/3 examples, prefill ") || !strstr(r.err, " tokens/s, match_ratio 0.") ||
        strchr(r.err, '\r'))
        fail_msg("progress lines: %s", r.err);
    cmd_result_free(&r);
    work_dir("mrcr_tty", tty_cwd, sizeof tty_cwd);
    r = run_cmd("cd '%s' && script -qec \"'%s' eval --model '%s/model' --data-dir '%s/data' --results-dir res %s\" /dev/null",
                tty_cwd, dysco_bin, dir, dir, args);
    if (r.status != 0 || !strstr(r.out, "\r\033[K[########################] 3/3  prefill ") || !strstr(r.out, "  match_ratio 0.") ||
        !strstr(r.out, "  ETA 0:00"))
        fail_msg("progress bar on a terminal: exit %d: %s", r.status, r.out);
    cmd_result_free(&r);
    cJSON *results = read_json(path);
    const cJSON *entry;
    int n = 0;
    cJSON_ArrayForEach(entry, cJSON_GetObjectItemCaseSensitive(results, "saving_info")) {
        const cJSON *ex = cJSON_GetObjectItemCaseSensitive(entry, "data"), *out = cJSON_GetObjectItemCaseSensitive(entry, "output");
        assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(out, "prompt")));
        assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(out, "prompt"), cJSON_GetObjectItemCaseSensitive(ex, "input_prompt"), true));
        assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(out, "generation_logging")));
        n++;
    }
    assert_int_equal(n, 3);
    const char *const names[] = {"match_ratio"};
    double sum;
    expect_eval_score("mrcr_2needle_8k", cJSON_GetObjectItemCaseSensitive(results, "saving_info"), names, 1, &sum);
    assert_true(fabs(number(cJSON_GetObjectItemCaseSensitive(results, "avg_metrics"), "match_ratio") - sum / 3) < 1e-12);
    cJSON_Delete(results);
    free(path);
}

// LongBench v2 and CLIPPER records (written here, with the corners their loaders meet: "$Q$"
// inside a context, Unicode whitespace around the fields, paragraphs out of order, an idx twice,
// ints and strings for idx), their prompts and items against the reference's loaders transcribed
// in Python, and a run of each: LongBench v2's --test-size shuffle, CLIPPER's order and pairs.
static const char LOADERS_PY[] =
    "import json, random, sys\n"
    "lb = [dict(_id=str(i), domain='d', question=' Which river? \u3000', choice_A='A%d ' % i, choice_B='\\tB', choice_C='C',\n"
    "           choice_D='D $DOC$', answer='ABCD'[i % 4], context='\\n Text %d with $Q$ and $C_A$.\\u2003' % i) for i in range(5)]\n"
    "cl = []\n"
    "for i in range(2):\n"
    "    for label in (True, False):\n"
    "        ps = [dict(idx=10, paragraph_text='ten'), dict(idx='2', paragraph_text='two'), dict(idx=2, paragraph_text='two again'),\n"
    "              dict(idx='1', paragraph_text='one %d' % i)]\n"
    "        cl.append(dict(data=dict(idx=str(i), question='It is %s.' % label, paragraphs=ps, gt_docs=['1'], num_gold_docs=1), label=label))\n"
    "d = sys.argv[1]\n"
    "import os\n"
    "os.makedirs(d + '/lbv2_qr', exist_ok=True); os.makedirs(d + '/clipper', exist_ok=True)\n"
    "json.dump(lb, open(d + '/lbv2_qr/data_32k.json', 'w')); json.dump(cl, open(d + '/clipper/test-400.json', 'w'))\n"
    "HEAD = 'Please read the following text and answer the question below.\\n\\n<text>\\n$DOC$\\n</text>\\n\\nWhat is the correct answer to this question: $Q$\\nChoices:\\n(A) $C_A$\\n(B) $C_B$\\n(C) $C_C$\\n(D) $C_D$\\n\\n'\n"
    "T = HEAD + 'Format your response as follows: \"The correct answer is (insert choice here)\".'\n"
    "out = []\n"
    "for r in json.load(open(d + '/lbv2_qr/data_32k.json')):\n"
    "    p = T.replace('$DOC$', r['context'].strip()).replace('$Q$', r['question'].strip()).replace('$C_A$', r['choice_A'].strip()).replace('$C_B$', r['choice_B'].strip()).replace('$C_C$', r['choice_C'].strip()).replace('$C_D$', r['choice_D'].strip())\n"
    "    ref = f\"The correct answer is ({r['answer']})\"\n"
    "    for k in ['context', 'choice_A', 'choice_B', 'choice_C', 'choice_D']: del r[k]\n"
    "    out.append(dict(input_prompt=p, reference_output=ref, item=r))\n"
    "random.seed(42); random.shuffle(out)\n"
    "print(json.dumps(out[:2]))\n"
    "G = 'You are provided with a context and a statement. Your task is to carefully read the context and then determine whether the statement is true or false.  \\n\\nAnswer TRUE if the statement is true in its entirety based on the context provided.\\nAnswer FALSE if any part of the statement is false based on the context provided.\\n\\n<context>{}</context>\\n\\n\\n<statement>{}</statement>\\n\\n<question>Based on the context provided, is the above statement TRUE or FALSE?</question>\\n\\nFirst provide an explanation of your decision-making process, and then provide your final answer. Use the following format:\\n\\n<explanation>YOUR EXPLANATION</explanation>\\n<answer>YOUR ANSWER</answer>'\n"
    "out = []\n"
    "for item in json.load(open(d + '/clipper/test-400.json')):\n"
    "    s, lab = item['data'], item['label']\n"
    "    ids = sorted([str(x['idx']) for x in s['paragraphs']], key=lambda x: int(x))\n"
    "    t = {str(x['idx']): x['paragraph_text'] for x in s['paragraphs']}\n"
    "    out.append(dict(input_prompt=G.format('\\n\\n\\n'.join(t[i] for i in ids), s['question']), reference_output='TRUE' if lab else 'FALSE', item={**s, 'label': lab}))\n"
    "print(json.dumps(out))\n";

static void expect_examples(const char *path, const cJSON *expected) {
    cJSON *results = read_json(path);
    const cJSON *saving = cJSON_GetObjectItemCaseSensitive(results, "saving_info"), *e = expected->child, *entry;
    assert_int_equal(cJSON_GetArraySize(saving), cJSON_GetArraySize(expected));
    cJSON_ArrayForEach(entry, saving) {
        if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(entry, "data"), e, true))
            fail_msg("%s: example differs from the reference loader's:\n%s", path, cJSON_Print(e));
        e = e->next;
    }
    cJSON_Delete(results);
}

static void test_longbench_v2_and_clipper(void **state) {
    (void)state;
    char cwd[PATH_MAX], code_path[PATH_MAX + 16], data[PATH_MAX + 16], args[3 * PATH_MAX];
    work_dir("lbv2_clipper", cwd, sizeof cwd);
    snprintf(code_path, sizeof code_path, "%s/loaders.py", cwd);
    snprintf(data, sizeof data, "%s/data", cwd);
    write_text(code_path, LOADERS_PY);
    cmd_result r = run_cmd("python3 '%s' '%s'", code_path, data);
    if (r.status != 0) fail_msg("loaders.py: %s", r.err);
    char *second = strchr(r.out, '\n') + 1;
    cJSON *lb = cJSON_ParseWithOpts(r.out, NULL, false), *cl = cJSON_Parse(second);
    assert_non_null(lb);
    assert_non_null(cl);
    snprintf(args, sizeof args, "--dataset longbenchv2_32k --data-dir '%s' --test-size 2 --max-tokens 2", data);
    char *path = eval_ok(cwd, "", args);
    expect_examples(path, lb);
    free(path);
    snprintf(args, sizeof args, "--dataset clipper --data-dir '%s' --test-size 4 --max-tokens 2", data);
    path = eval_ok(cwd, "", args);
    expect_examples(path, cl);
    free(path);
    snprintf(args, sizeof args, "--dataset clipper --data-dir '%s' --test-size 3 --max-tokens 2", data);
    expect_error(args, 1, "clipper: 3 examples: CLIPPER's accuracy counts (TRUE, FALSE) pairs; use an even --test-size");
    cJSON_Delete(lb);
    cJSON_Delete(cl);
    cmd_result_free(&r);
}

// A copy of the synthetic data under dir/NAME with one file replaced by text ("" removes it).
static void bad_data(const char *name, const char *file, const char *text) {
    char path[PATH_MAX];
    cmd_result r = run_cmd("rm -rf '%s/%s' && cp -r '%s/data' '%s/%s' && mkdir -p \"$(dirname '%s/%s/%s')\"", dir, name, dir,
                           dir, name, dir, name, file);
    cmd_result_free(&r);
    snprintf(path, sizeof path, "%s/%s/%s", dir, name, file);
    if (*text) write_text(path, text);
    else remove(path);
}

static void test_bad_input(void **state) {
    (void)state;
    char args[3 * PATH_MAX];
    expect_error("--dataset path_walking_16k --data-dir nowhere", 1,
                 "nowhere/longproc/path_walking/path_walking_16k.json: missing (the reference's scripts/setup/prepare_data.sh "
                 "unzips data_eval_longproc.zip of the Hugging Face dataset PrincetonPLI/DySCO");
    expect_error("--dataset mrcr_4needle_8k --data-dir nowhere", 1,
                 "nowhere/mrcr/4needle_8k.json: missing (the reference ships no MRCR data");
    // A copy of the data with one file replaced (or removed), and the line it gives.
    static const struct {
        const char *name, *dataset, *file, *text, *error;
    } bad[] = {
        {"no_yaml", "path_walking_16k", "longproc/path_walking/prompts.yaml", "",
         "no_yaml/longproc/path_walking/prompts.yaml: missing ("},
        {"broken", "path_walking_16k", "longproc/path_walking/path_walking_16k.json",  // cut in the middle of a record
         "[{\"context_nl\": \"A is a lively city.\", \"ques",
         "broken/longproc/path_walking/path_walking_16k.json: not valid JSON at byte "},
        {"field", "path_walking_16k", "longproc/path_walking/path_walking_16k.json",
         "[{\"context_nl\": \"c\", \"question_repr\": [\"A\", \"B\"], \"answer_nl\": \"x\"}, "
         "{\"context_nl\": \"c\", \"question_repr\": [\"A\", \"B\"]}]",
         "field/longproc/path_walking/path_walking_16k.json: [1].answer_nl: missing"},
        {"question", "path_walking_16k", "longproc/path_walking/path_walking_16k.json",
         "[{\"context_nl\": \"c\", \"question_repr\": \"A to B\", \"answer_nl\": \"x\"}]",
         "[0].question_repr: expected a list [source city, destination city] of strings"},
        {"template", "path_walking_16k", "longproc/path_walking/prompts.yaml", "USER_PROMPT: |\n  From {src_city} to {city}.\n",
         "template/longproc/path_walking/prompts.yaml: USER_PROMPT: {city}: the example has no such field"},
        {"yaml", "path_walking_16k", "longproc/path_walking/prompts.yaml", "OTHER: x\n",
         "yaml/longproc/path_walking/prompts.yaml: USER_PROMPT: missing"},
        {"message", "mrcr_2needle_8k", "mrcr/2needle_8k.json",
         "[{\"input_prompt\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\"}], "
         "\"reference_output\": \"ab x\", \"random_string_to_prepend\": \"ab\"}]",
         "message/mrcr/2needle_8k.json: [0].input_prompt[1]: expected {\"role\": string, \"content\": string}"},
        // CLIPPER's idx beyond long long (a double's conversion was undefined; a string's was
        // clamped, misordering it), and one whose newline is escaped so the error stays one line.
        {"idx_number", "clipper", "clipper/test-400.json",
         "[{\"data\": {\"question\": \"q\", \"paragraphs\": [{\"idx\": 1e23, \"paragraph_text\": \"t\"}]}, \"label\": true}]",
         "idx_number/clipper/test-400.json: [0].data.paragraphs[0].idx: 1e+23 is out of range"},
        {"idx_string", "clipper", "clipper/test-400.json",
         "[{\"data\": {\"question\": \"q\", \"paragraphs\": [{\"idx\": \"99999999999999999999\", \"paragraph_text\": \"t\"}]}, "
         "\"label\": true}]",
         "idx_string/clipper/test-400.json: [0].data.paragraphs[0].idx: '99999999999999999999' is out of range"},
        {"idx_newline", "clipper", "clipper/test-400.json",
         "[{\"data\": {\"question\": \"q\", \"paragraphs\": [{\"idx\": \"1\\n\", \"paragraph_text\": \"t\"}]}, \"label\": true}]",
         "idx_newline/clipper/test-400.json: [0].data.paragraphs[0].idx: '1\\n' is not a whole number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        bad_data(bad[i].name, bad[i].file, bad[i].text);
        snprintf(args, sizeof args, "--dataset %s --data-dir '%s/%s'", bad[i].dataset, dir, bad[i].name);
        expect_error(args, 1, bad[i].error);
    }
    // Prompts that a few kilobytes multiply past 16 MiB: 6000 marks each filled with 3000 bytes,
    // and 3000 paragraphs of one idx each given its last text of 6000 bytes.
    enum { MARKS = 6000, FILL = 3000 };
    char *text = xmalloc(3 * MARKS + 2 * FILL + 256), *p = text;
    p += sprintf(p, "[{\"question\": \"");
    for (int i = 0; i < FILL; i++) *p++ = 'q';
    p += sprintf(p, "\", \"context\": \"");
    for (int i = 0; i < MARKS; i++) p += sprintf(p, "$Q$");
    sprintf(p, "\", \"choice_A\": \"a\", \"choice_B\": \"b\", \"choice_C\": \"c\", \"choice_D\": \"d\", \"answer\": \"A\"}]");
    bad_data("lbv2_big", "lbv2_qr/data_8k.json", text);
    snprintf(args, sizeof args, "--dataset longbenchv2_8k --data-dir '%s/lbv2_big'", dir);
    expect_error(args, 1, "lbv2_big/lbv2_qr/data_8k.json: [0].question: the text would be longer than 16777216 bytes");
    free(text);
    text = xmalloc(40 * FILL + 2 * FILL + 256), p = text;
    p += sprintf(p, "[{\"data\": {\"question\": \"q\", \"paragraphs\": [");
    for (int i = 0; i < FILL - 1; i++) p += sprintf(p, "{\"idx\": 1, \"paragraph_text\": \"\"}, ");
    p += sprintf(p, "{\"idx\": 1, \"paragraph_text\": \"");
    for (int i = 0; i < 2 * FILL; i++) *p++ = 't';
    sprintf(p, "\"}]}, \"label\": true}]");
    bad_data("clipper_big", "clipper/test-400.json", text);
    snprintf(args, sizeof args, "--dataset clipper --data-dir '%s/clipper_big'", dir);
    expect_error(args, 1, "clipper_big/clipper/test-400.json: [0].data: the prompt would be longer than 16777216 bytes");
    free(text);
    expect_error("--dataset mrcr_2needle_8k --no-chat-template", 1,
                 "mrcr_2needle_8k example 0: input_prompt is a list of messages: it needs the chat template");
    expect_error("--dataset infbench_qa_eng_8k --data-dir nowhere", 1,
                 "nowhere/helmet/longqa/infbench/dataset_dict.json: missing (the reference ships no HELMET data");
    expect_error("--dataset hotpot_cot_8k --data-dir nowhere", 1,
                 "nowhere/helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl: missing (the reference ships no HELMET data");
    expect_error("--dataset longbenchv2_cot_64k --data-dir nowhere", 1, "nowhere/lbv2_qr/data_64k.json: missing (the reference ships no LongBench v2 data");
    expect_error("--dataset clipper_sp2 --data-dir nowhere", 1, "nowhere/clipper/test-400_sp2.json: missing (the reference ships no CLIPPER data");
    expect_error("--dataset path_walking_15k", 2, "--dataset: unknown dataset 'path_walking_15k'");
    expect_error("--dataset path_walking_16k --strip-thinking", 2, "--strip-thinking: needs --think");
    expect_error("--dataset path_walking_16k --method attnsharp", 2, "--attn-temperature: attnsharp needs a temperature > 0");
    snprintf(args, sizeof args, "--dataset path_walking_16k --filter-tokenizer '%s/qwen3'", toks);
    expect_error(args, 1, "qwen3/tokenizer_config.json: the length filter counts with Llama-3.1's tokenizer and template");
}

// --config: every option from the file (the data, model and results places, DySCO's too) but
// --max-tokens, which the command line overrides (the file's 64, the command line's 10): the
// results of the same run given as flags, args included, so the journal and file name agree.
static void test_run_config(void **state) {
    (void)state;
    char flags_cwd[PATH_MAX], config_cwd[PATH_MAX], args[3 * PATH_MAX], yaml[4 * PATH_MAX], yaml_path[PATH_MAX + 16];
    work_dir("flags", flags_cwd, sizeof flags_cwd);
    work_dir("config", config_cwd, sizeof config_cwd);
    snprintf(args, sizeof args, "--dataset path_walking_16k --method dysco --dysco-config '%s/dysco.yaml' --dysco-strength 3 "
             "--test-size 3 --max-tokens %d --stop-on-newline", dir, MAX_TOKENS);
    char *by_flags = eval_ok(flags_cwd, "", args);
    snprintf(yaml, sizeof yaml,
             "# run_eval.py's spelling and the command line's\nmodel: %s/model\ndata_dir: '%s/data'\nfilter-tokenizer: %s/llama3_1\n"
             "results_dir: res\ndataset: path_walking_16k\nmethod: dysco\ndysco_config: \"%s/dysco.yaml\"\n"
             "dysco-strength: 3.0\ntest_size: 3\nmax_tokens: 64\nstop_on_newline: true\nthink: false\n",
             dir, dir, toks, dir);
    snprintf(yaml_path, sizeof yaml_path, "%s/run.yaml", config_cwd);
    write_text(yaml_path, yaml);
    snprintf(args, sizeof args, "--max-tokens %d --config run.yaml", MAX_TOKENS);
    char *by_config = results_of(run_cmd("cd '%s' && '%s' eval %s", config_cwd, dysco_bin, args), config_cwd, args);
    assert_string_equal(by_flags + strlen(flags_cwd), by_config + strlen(config_cwd));
    expect_same_results(by_flags, by_config);
    cJSON *results = read_json(by_config);
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(results, "args");
    assert_int_equal((int)number(a, "max_tokens"), MAX_TOKENS);
    assert_true(number(a, "dysco_strength") == 3.0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "stop_on_newline")));
    cJSON_Delete(results);
    // A bad file: one line naming it and the key, exit 1; an error the checks find after the
    // parse names the option (here DySCO's, set from the file).
    write_text(yaml_path, "max_tokens: 64\nmax_token: 32\n");
    cmd_result r = run_cmd("cd '%s' && '%s' eval --config run.yaml", config_cwd, dysco_bin);
    if (r.status != 1 || count_lines(r.err) != 1 || !strstr(r.err, "dysco: run.yaml: max_token: unknown key"))
        fail_msg("a bad run config: exit %d: %s", r.status, r.err);
    cmd_result_free(&r);
    write_text(yaml_path, "dysco_top_p: 2\n");
    snprintf(args, sizeof args, "--dataset path_walking_16k --config '%s'", yaml_path);
    expect_error(args, 2, "--dysco-top-p: expected a value in [0, 1]");
    free(by_flags);
    free(by_config);
}

// mpirun -np 2: every rank decodes every example with its shard; rank 0 writes what one process does.
static void test_tensor_parallel(void **state) {
    (void)state;
    char one[PATH_MAX], two[PATH_MAX], args[2 * PATH_MAX], launcher[PATH_MAX + 64];
    work_dir("tp1", one, sizeof one);
    work_dir("tp2", two, sizeof two);
    snprintf(args, sizeof args, "--dataset path_walking_16k --method dysco --dysco-config '%s/dysco.yaml' --test-size 3 "
             "--max-tokens %d", dir, MAX_TOKENS);
    snprintf(launcher, sizeof launcher, "'%s' --oversubscribe -np 2", mpiexec);
    char *a = eval_ok(one, "", args), *b = eval_ok(two, launcher, args);
    assert_string_equal(a + strlen(one), b + strlen(two));
    // The same outputs and metrics; generation_logging's importance masses are sums the ranks
    // add in another order (within 1e-6, as test_cli_tp allows the log-probabilities 1e-5).
    cJSON *x = read_json(a), *y = read_json(b);
    drop_times(x);
    drop_times(y);
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(x, "saving_info")->child;
    for (const cJSON *ey = cJSON_GetObjectItemCaseSensitive(y, "saving_info")->child; ex && ey; ex = ex->next, ey = ey->next) {
        cJSON *ox = cJSON_GetObjectItemCaseSensitive(ex, "output"), *oy = cJSON_GetObjectItemCaseSensitive(ey, "output");
        const cJSON *lx = cJSON_GetObjectItemCaseSensitive(ox, "generation_logging"), *ly;
        for (const cJSON *v = lx->child; v; v = v->next) {
            ly = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(oy, "generation_logging"), v->string);
            if (!cJSON_IsNumber(ly) || fabs(v->valuedouble - ly->valuedouble) > 1e-6 * fabs(v->valuedouble))
                fail_msg("generation_logging.%s: np 1 %.17g, np 2 %.17g", v->string, v->valuedouble, ly ? ly->valuedouble : NAN);
        }
        cJSON_DeleteItemFromObjectCaseSensitive(ox, "generation_logging");
        cJSON_DeleteItemFromObjectCaseSensitive(oy, "generation_logging");
    }
    if (!cJSON_Compare(x, y, true)) fail_msg("%s and %s differ (time_taken and generation_logging aside)", a, b);
    cJSON_Delete(x);
    cJSON_Delete(y);
    char journal[PATH_MAX + 8];
    snprintf(journal, sizeof journal, "%sl", b);
    char *text = read_text(journal);
    assert_int_equal(count_lines(text), 4);  // one writer: the header and 3 lines
    free(text);
    free(a);
    free(b);
}

int main(int argc, char **argv) {
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: %s PATH_TO_DYSCO TOKENIZER_DIR SYNTHETIC_DATA_SCRIPT [MPIEXEC]\n", argv[0]);
        return 2;
    }
    dysco_bin = argv[1];
    toks = argv[2];
    script = argv[3];
    mpiexec = argc == 5 ? argv[4] : NULL;
    const struct CMUnitTest runs[] = {
        cmocka_unit_test(test_dysco_run), cmocka_unit_test(test_length_filter), cmocka_unit_test(test_kill_then_resume),
        cmocka_unit_test(test_mrcr_run),  cmocka_unit_test(test_longbench_v2_and_clipper), cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_run_config),
    };
    const struct CMUnitTest tp[] = {cmocka_unit_test(test_tensor_parallel)};
    if (mpiexec) return cmocka_run_group_tests(tp, group_setup, group_teardown);
    return cmocka_run_group_tests(runs, group_setup, group_teardown);
}

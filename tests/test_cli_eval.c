// `dysco eval score` as scripts use it: json.dumps of each example's metrics (the expected lines
// are what the reference's functions in tests/eval_scoring_fixtures.py print for the same
// input), --summary with CLIPPER's pairs, and one error line naming the file, the line, the field
// and the problem for bad input; and every option of dysco eval --help a key of its run config.
// argv: PATH_TO_DYSCO.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin;
static char *dir;

// Writes len bytes to dir/name and returns the path (a static buffer: one input at a time).
static const char *input_bytes(const char *name, const char *bytes, size_t len) {
    static char path[PATH_MAX];
    dy_error err;
    if (dy_path_join(path, sizeof path, dir, name, &err) || dy_write_file(path, bytes, len, &err)) setup_die(err.msg);
    return path;
}

static const char *input(const char *name, const char *text) { return input_bytes(name, text, strlen(text)); }

// Runs eval score; the exit status and stdout must be as given, and stderr one line holding
// in_stderr when the status is not 0 (and empty when it is).
static void expect(const char *dataset, const char *path, const char *extra, int status, const char *stdout_is,
                   const char *in_stderr) {
    cmd_result r = run_cmd("'%s' eval score --dataset '%s' --input '%s' %s", dysco_bin, dataset, path, extra);
    if (r.status != status || (stdout_is && strcmp(r.out, stdout_is) != 0) || (in_stderr && !strstr(r.err, in_stderr)) ||
        (status != 0 && count_lines(r.err) != 1) || (status == 0 && r.err[0]))
        fail_msg("eval score --dataset %s --input %s %s\n  expected exit %d, stdout [%s], stderr with [%s]\n  got exit %d\n"
                 "  stdout: %.2000s\n  stderr: %s",
                 dataset, path, extra, status, stdout_is ? stdout_is : "(any)", in_stderr ? in_stderr : "", r.status,
                 r.out, r.err);
    cmd_result_free(&r);
}

#define LINE(s) s "\n"

static void test_scores(void **state) {
    (void)state;
    // A blank line between the examples is skipped.
    expect("path_walking_16k",
           input("path.jsonl", LINE("{\"output\": \"<Route>\\nFrom A, take a bus to B.\\nFrom B, take a train to C.\\n</Route>\", "
                                    "\"example\": {\"input_prompt\": \"...\", \"reference_output\": \"From A, take a bus to "
                                    "B.\\nFrom B, take a ferry to C.\\nFrom C, take a bus to D.\", \"item\": {}}}")
                                   "  \n" LINE("{\"output\": \"no tags\", \"example\": {\"reference_output\": \"x\"}}")),
           "", 0,
           LINE("{\"accuracy\": 0.0, \"partial_accuracy\": 0.6666666666666666, \"extraction_rate\": 1.0}")
               LINE("{\"accuracy\": 0.0, \"partial_accuracy\": 0.0, \"extraction_rate\": 0.0}"),
           NULL);
    expect("hotpot_nocot_8k", input("hotpot.jsonl", LINE("{\"output\": \"no\", \"example\": {\"item\": {\"answer\": [\"yes\"]}}}")),
           "", 0, LINE("{\"exact_match\": false, \"f1\": 0, \"substring_exact_match\": false}"), NULL);
    // rouge_score's Score(0, 0, 0) for an empty side: ints, not floats.
    expect("infbench_qa_eng_8k",
           input("qa.jsonl", LINE("{\"output\": \"Answer: The Eiffel Tower!\", \"example\": {\"item\": {\"answer\": "
                                  "[[\"Eiffel Tower\"], [\"tower\"]]}}}")
                                 LINE("{\"output\": \"\", \"example\": {\"item\": {\"answer\": \"the river\"}}}")),
           "", 0,
           LINE("{\"exact_match\": true, \"f1\": 1.0, \"substring_exact_match\": true, \"rougeL_f1\": 0.8, "
                "\"rougeL_recall\": 1.0, \"rougeLsum_f1\": 0.8, \"rougeLsum_recall\": 1.0}")
               LINE("{\"exact_match\": false, \"f1\": 0, \"substring_exact_match\": false, \"rougeL_f1\": 0, "
                    "\"rougeL_recall\": 0, \"rougeLsum_f1\": 0, \"rougeLsum_recall\": 0}"),
           NULL);
    // HELMET's loader drops "_nonchat_" from the name.
    expect("infbench_choice_eng_nonchat_32k",
           input("choice.jsonl", LINE("{\"output\": \"answer: b. Two rivers\", \"example\": {\"item\": {\"answer\": "
                                      "[\"B\", \"B. two rivers\"]}}}")),
           "", 0, LINE("{\"exact_match\": true, \"f1\": 1.0, \"substring_exact_match\": true}"), NULL);
    expect("longbenchv2_cot_64k",
           input("lbv2.jsonl", LINE("{\"output\": \"**The correct answer is (C)**\", \"example\": {\"item\": {\"answer\": \"C\"}}}")),
           "", 0, LINE("{\"accuracy\": 1.0, \"extraction\": 1.0}"), NULL);
    expect("mrcr_8needle_256k",
           input("mrcr.jsonl", LINE("{\"output\": \"  xY12 a tapir poem\\n\", \"example\": {\"input_prompt\": [], "
                                    "\"reference_output\": \"xY12 a tapir poem.\", \"random_string_to_prepend\": \"xY12\"}}")),
           "", 0, LINE("{\"match_ratio\": 0.9629629629629629}"), NULL);
}

static const char CLIPPER_FOUR[] =
    LINE("{\"output\": \"<answer>TRUE</answer>\", \"example\": {\"item\": {\"idx\": \"0\", \"label\": true}}}")
    LINE("{\"output\": \"<answer>false</answer>\", \"example\": {\"item\": {\"idx\": \"1000\", \"label\": false}}}")
    LINE("{\"output\": \"true\", \"example\": {\"item\": {\"idx\": \"1\", \"label\": true}}}")
    LINE("{\"output\": \"<answer>true</answer>\", \"example\": {\"item\": {\"idx\": \"1001\", \"label\": false}}}");

static void test_summary(void **state) {
    (void)state;
    // run_eval.py: accuracy over (TRUE, FALSE) pairs (1 of 2 right), the other metrics' means.
    expect("clipper", input("clipper.jsonl", CLIPPER_FOUR), "--summary", 0,
           LINE("{\"accuracy\": 1, \"parsed_successfully\": 1}") LINE("{\"accuracy\": 1, \"parsed_successfully\": 1}")
               LINE("{\"accuracy\": 1, \"parsed_successfully\": 1}") LINE("{\"accuracy\": 0, \"parsed_successfully\": 1}")
                   LINE("{\"avg_metrics\": {\"accuracy\": 0.5, \"parsed_successfully\": 1.0}, \"test_size\": 4}"),
           NULL);
    char three[sizeof CLIPPER_FOUR];
    memcpy(three, CLIPPER_FOUR, sizeof three);
    *(strchr(strstr(three, "\"idx\": \"1\""), '\n') + 1) = '\0';  // the first three lines
    expect("clipper", input("clipper3.jsonl", three), "--summary", 1, NULL, "clipper: 3 examples; its accuracy needs whole");
    expect("clipper", input("empty.jsonl", ""), "--summary", 1, "", "empty.jsonl: --summary: no examples");
    expect("clipper", input("empty.jsonl", ""), "", 0, "", NULL);
}

static void test_bad_input(void **state) {
    (void)state;
    const char *good = "{\"output\": \"no\", \"example\": {\"item\": {\"answer\": [\"yes\"]}}}\n";
    char text[512];
    snprintf(text, sizeof text, "%s{\"output\": \"no\", \"example\": }\n", good);
    // The lines before the bad one have been printed.
    expect("hotpot_cot_16k", input("bad.jsonl", text), "", 1,
           LINE("{\"exact_match\": false, \"f1\": 0, \"substring_exact_match\": false}"), "bad.jsonl:2: ");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"example\": {}}\n"), "", 1, "", "bad.jsonl:1: output: missing");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"output\": 3, \"example\": {}}\n"), "", 1, "", "bad.jsonl:1: output: expected a string");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"output\": \"x\"}\n"), "", 1, "", "bad.jsonl:1: example: missing");
    expect("hotpot_cot_16k", input("bad.jsonl", "[1, 2]\n"), "", 1, "", "bad.jsonl:1: expected an object");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"output\": \"x\", \"output\": \"y\", \"example\": {}}\n"), "", 1, "",
           "bad.jsonl:1: ");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"output\": \"x\", \"example\": {\"item\": {}}}\n"), "", 1, "",
           "bad.jsonl:1: example.item.answer: missing");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"output\": \"x\", \"example\": {\"item\": {\"answer\": []}}}\n"), "", 1, "",
           "bad.jsonl:1: example.item.answer: expected a string or a non-empty list of answers");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"output\": \"x\", \"example\": {\"item\": {\"answer\": [\"a\", 7]}}}\n"),
           "", 1, "", "bad.jsonl:1: example.item.answer[1]: expected a string, got a number");
    expect("path_walking_4k", input("bad.jsonl", "{\"output\": \"x\", \"example\": {\"reference_output\": null}}\n"), "", 1,
           "", "bad.jsonl:1: example.reference_output: expected a string, got null");
    expect("clipper_sp1", input("bad.jsonl", "{\"output\": \"x\", \"example\": {\"item\": {\"label\": 1}}}\n"), "", 1, "",
           "bad.jsonl:1: example.item.label: expected true or false");
    expect("infbench_choice_eng_8k", input("bad.jsonl", "{\"output\": \"x\", \"example\": {\"item\": {\"answer\": \"B\"}}}\n"),
           "", 1, "", "bad.jsonl:1: example.item.answer: expected [letter, \"X. option\"]");
    expect("mrcr_2needle_8k", input("bad.jsonl", "{\"output\": \"x\", \"example\": {\"reference_output\": \"x\"}}\n"), "", 1,
           "", "bad.jsonl:1: example.random_string_to_prepend: missing");
    // Raw bytes: a NUL inside the line, and invalid UTF-8 in the output string.
    static const char nul[] = "{\"output\": \"a\0b\", \"example\": {}}\n";
    expect("hotpot_cot_16k", input_bytes("bad.jsonl", nul, sizeof nul - 1), "", 1, "", "bad.jsonl:1: not valid JSON: a NUL byte at byte 13");
    expect("hotpot_cot_16k", input("bad.jsonl", "{\"output\": \"ab\xff\", \"example\": {\"item\": {\"answer\": \"a\"}}}\n"),
           "", 1, "", "bad.jsonl:1: not valid JSON: invalid UTF-8 at byte 14");
    expect("hotpot_cot_16k", "/nonexistent/in.jsonl", "", 1, "", "/nonexistent/in.jsonl: cannot open");
}

static void test_usage(void **state) {
    (void)state;
    // An unknown name is one line listing the families; exit status 2 as for any usage error.
    expect("path_walking_64k", "x.jsonl", "", 2, "", "--dataset: unknown dataset 'path_walking_64k' (the reference's are path_walking_{4k,8k,16k,32k},");
    expect("hotpot_nocot_8k_extra", "x.jsonl", "", 2, "", "mrcr_{2,4,8}needle_{8k,16k,32k,64k,128k,256k}, clipper, clipper_sp1, clipper_sp2)");
    cmd_result r = run_cmd("'%s' eval score --dataset clipper", dysco_bin);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "eval score: needs --dataset NAME and --input F.jsonl"));
    cmd_result_free(&r);
    // Without the subverb score, eval is the run (test_cli_eval_run): a stray word is its usage error.
    r = run_cmd("'%s' eval scores", dysco_bin);
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "eval: unexpected argument 'scores' (see dysco eval --help)"));
    cmd_result_free(&r);
    r = run_cmd("'%s' eval --help", dysco_bin);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "dysco eval score --dataset NAME --input F.jsonl"));
    assert_non_null(strstr(r.out, "--model DIR"));
    assert_non_null(strstr(r.out, "\n  --config RUN.yaml "));
    cmd_result_free(&r);
    r = run_cmd("'%s' eval score --help", dysco_bin);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--summary"));
    assert_non_null(strstr(r.out, "longbenchv2_[cot_|original_cot_]{N}k"));
    cmd_result_free(&r);
}

// Every option dysco eval --help lists but --config is a key of its run config, in run_eval.py's
// spelling: a list as its value is refused naming the key as written, never as unknown.
static void test_run_config_keys(void **state) {
    (void)state;
    cmd_result help = run_cmd("'%s' eval --help", dysco_bin);
    assert_int_equal(help.status, 0);
    int n = 0;
    for (const char *line = strstr(help.out, "\n  --"); line; line = strstr(line + 1, "\n  --")) {
        char option[64], key[64], yaml[128], want[PATH_MAX + 128];
        if (sscanf(line + 3, "%63s", option) != 1 || strcmp(option, "--config") == 0) continue;
        snprintf(key, sizeof key, "%s", option + 2);
        for (char *c = key; *c; c++) *c = *c == '-' ? '_' : *c;
        snprintf(yaml, sizeof yaml, "%s: [1]\n", key);
        const char *path = input("run.yaml", yaml);
        snprintf(want, sizeof want, "dysco: %s: %s: expected ", path, key);
        cmd_result r = run_cmd("'%s' eval --config '%s'", dysco_bin, path);
        if (r.status != 1 || count_lines(r.err) != 1 || strncmp(r.err, want, strlen(want)) != 0 || !strstr(r.err, ", not a list"))
            fail_msg("%s in a run config: exit %d: %s", key, r.status, r.err);
        cmd_result_free(&r);
        n++;
    }
    assert_true(n >= 30);  // the data, model, decoding, DySCO and output options
    cmd_result_free(&help);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "DYSCO", &dysco_bin, NULL);
    dir = make_temp_dir("cli_eval");
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_scores), cmocka_unit_test(test_summary),
                                       cmocka_unit_test(test_bad_input), cmocka_unit_test(test_usage),
                                       cmocka_unit_test(test_run_config_keys)};
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(dir);
    free(dir);
    return failed;
}

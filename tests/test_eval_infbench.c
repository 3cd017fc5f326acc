// HELMET's InfiniteBench loaders (infbench_qa_eng_*, infbench_choice_eng_*): the examples against
// tests/eval_infbench_reference.py (the reference's loader code with numpy in the place of
// datasets and `dysco tokenize --offsets` in the place of transformers' Llama-2 tokenizer) on
// tests/eval_synthetic_data.py's Arrow data, stories short (kept whole) and long (cut at 8k's
// 7,892 tokens), and the loaders' one-line errors. The Llama-2-format tokenizer is the
// lenml_llama2 files launch/fetch-tokenizers.sh fetches (the Llama-2 format with another
// vocabulary; test_tokenizer_parity_llama2* hold the tokenizer to tokenizers.js and Hugging Face).
// argv: PATH_TO_DYSCO TOKENIZER_DIR SYNTHETIC_DATA_SCRIPT REFERENCE_SCRIPT.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/eval/eval_data.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"
#include "test_util.h"

static const char *dysco_bin, *tokenizers, *synthetic_script, *reference_script;
static const char *python;  // an interpreter with numpy
static char *dir;           // short/ and long/: synthetic data
static char llama2[1024];   // TOKENIZER_DIR/lenml_llama2

enum { SHORT_ROWS = 9, SHORT_TOKENS = 300, LONG_ROWS = 4, LONG_TOKENS = 9000 };

static cJSON *parse(const char *text) {
    char problem[160];
    cJSON *v = dy_json_parse(text, strlen(text), problem, sizeof problem);
    if (!v) fail_msg("reference output: %s", problem);
    return v;
}

static void check_as_reference(const char *name, const char *folder, int rows, int tokens, int *n_cut) {
    cmd_result r = run_cmd("%s '%s' '%s' '%s' %s %d %d 0", python, reference_script, dysco_bin, llama2, name, rows, tokens);
    if (r.status != 0) fail_msg("%s: %s", reference_script, r.err);
    cJSON *expected = parse(r.out);
    cmd_result_free(&r);
    char data_dir[1024];
    snprintf(data_dir, sizeof data_dir, "%s/%s", dir, folder);
    dy_eval_data data;
    dy_error err;
    dy_eval_family family = strstr(name, "choice") ? DY_EVAL_INFBENCH_CHOICE : DY_EVAL_INFBENCH_QA;
    if (dy_eval_data_load(name, family, data_dir, llama2, &data, &err)) fail_msg("%s: %s", name, err.msg);
    const int n = cJSON_GetArraySize(expected);
    assert_int_equal(n, rows);
    assert_int_equal(cJSON_GetArraySize(data.examples), n);
    const char *key;
    const int i = example_difference(data.examples, expected, &key);
    if (i >= 0) {
        char *ours = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data.examples, i), key));
        char *theirs = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(expected, i), key));
        fail_msg("%s: example %d: %s differs: ours %.300s ... theirs %.300s", name, i, key, ours, theirs);
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, data.examples) {
        const char *prompt = cJSON_GetObjectItemCaseSensitive(e, "input_prompt")->valuestring;
        *n_cut += strstr(prompt, " ... [the rest of the text is omitted]") != NULL;
    }
    dy_eval_data_free(&data);
    cJSON_Delete(expected);
}

static void test_short_stories_as_reference(void **state) {
    (void)state;
    int cut = 0;
    check_as_reference("infbench_qa_eng_8k", "short", SHORT_ROWS, SHORT_TOKENS, &cut);
    check_as_reference("infbench_choice_eng_128k", "short", SHORT_ROWS, SHORT_TOKENS, &cut);
    check_as_reference("infbench_nonchat_qa_eng_8k", "short", SHORT_ROWS, SHORT_TOKENS, &cut);
    assert_int_equal(cut, 0);
}

static void test_long_stories_cut_as_reference(void **state) {
    (void)state;
    int cut = 0;
    check_as_reference("infbench_qa_eng_8k", "long", LONG_ROWS, LONG_TOKENS, &cut);
    check_as_reference("infbench_choice_eng_8k", "long", LONG_ROWS, LONG_TOKENS, &cut);
    assert_int_equal(cut, 2 * LONG_ROWS);  // every story is longer than 7,892 tokens
    check_as_reference("infbench_qa_eng_16k", "long", LONG_ROWS, LONG_TOKENS, &cut);
    assert_int_equal(cut, 2 * LONG_ROWS);  // and shorter than 16,084
}

// rows (a JSON list) in InfiniteBench's columns as an Arrow stream file at path, written by
// tests/arrow_stream_writer.py (beside the synthetic data script).
static void write_rows(const char *path, const char *rows) {
    static const char SCHEMA[] =
        "[{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"context\", \"type\": \"large_utf8\"}, "
        "{\"name\": \"input\", \"type\": \"utf8\"}, {\"name\": \"answer\", \"type\": {\"list\": \"utf8\"}}, "
        "{\"name\": \"options\", \"type\": {\"list\": \"utf8\"}}]";
    char spec_path[1100], writer[1024], *spec = xmalloc(strlen(rows) + sizeof SCHEMA + 64);
    sprintf(spec, "{\"schema\": %s, \"batches\": [%s]}", SCHEMA, rows);
    snprintf(spec_path, sizeof spec_path, "%s.spec.json", path);
    snprintf(writer, sizeof writer, "%s", synthetic_script);
    strcpy(strrchr(writer, '/') + 1, "arrow_stream_writer.py");
    dy_error err;
    if (dy_write_file(spec_path, spec, strlen(spec), &err)) fail_msg("%s", err.msg);
    free(spec);
    cmd_result r = run_cmd("python3 '%s' '%s' '%s'", writer, spec_path, path);
    if (r.status != 0) fail_msg("arrow writer: %s", r.err);
    cmd_result_free(&r);
    remove(spec_path);
}

// The loader's error on a copy of short/ whose file (under helmet/longqa/infbench) is removed
// (rows NULL) or holds rows; message may hold %s for the copy's folder.
static void expect_error(const char *name, const char *file, const char *rows, const char *tokenizer, const char *message) {
    char *d = make_temp_dir("infbench_bad");
    cmd_result r = run_cmd("cp -r '%s/short/helmet' '%s/'", dir, d);
    assert_int_equal(r.status, 0);
    cmd_result_free(&r);
    char path[1024], expected[2048];
    if (file) {
        snprintf(path, sizeof path, "%s/helmet/longqa/infbench/%s", d, file);
        if (rows) write_rows(path, rows);
        else remove(path);
    }
    dy_eval_data data;
    dy_error err;
    dy_eval_family family = strstr(name, "choice") ? DY_EVAL_INFBENCH_CHOICE : DY_EVAL_INFBENCH_QA;
    assert_int_equal(dy_eval_data_load(name, family, d, tokenizer ? tokenizer : llama2, &data, &err), -1);
    snprintf(expected, sizeof expected, message, d);
    if (strncmp(err.msg, expected, strlen(expected)) != 0) fail_msg("%s: got '%s', expected '%s...'", name, err.msg, expected);
    rm_rf(d);
    free(d);
}

static void test_bad_data(void **state) {
    (void)state;
    static const char QA[] = "longbook_qa_eng/data-00000-of-00001.arrow", CHOICE[] = "longbook_choice_eng/data-00000-of-00001.arrow";
    expect_error("infbench_qa_eng_8k", "dataset_dict.json", NULL, NULL,
                 "%s/helmet/longqa/infbench/dataset_dict.json: missing (the reference ships no HELMET data");
    expect_error("infbench_choice_eng_8k", "longbook_choice_eng/state.json", NULL, NULL,
                 "%s/helmet/longqa/infbench/longbook_choice_eng/state.json: missing");
    expect_error("infbench_qa_eng_8k", NULL, NULL, "/nowhere",
                 "/nowhere/tokenizer.json: missing (InfiniteBench's contexts are cut with Llama-2-7b's tokenizer");
    expect_error("infbench_choice_eng_8k", CHOICE,
                 "[{\"id\": 1, \"context\": \"c\", \"input\": \"q\", \"answer\": [\"x\"], \"options\": [\"a\", \"b\", \"c\", \"d\"]}]",
                 NULL, "%s/helmet/longqa/infbench/longbook_choice_eng: row 0: answer[0] is not one of the options");
    expect_error("infbench_choice_eng_8k", CHOICE,
                 "[{\"id\": 1, \"context\": \"c\", \"input\": \"q\", \"answer\": [\"a\"], \"options\": [\"a\", \"b\", \"c\"]}]",
                 NULL, "%s/helmet/longqa/infbench/longbook_choice_eng: row 0: options: expected a list of at least 4 strings");
    // Two rows of one id leave no other rows for the demos.
    expect_error("infbench_qa_eng_8k", QA,
                 "[{\"id\": 1, \"context\": \"c\", \"input\": \"q\", \"answer\": [\"x\"], \"options\": []}, "
                 "{\"id\": 1, \"context\": \"d\", \"input\": \"r\", \"answer\": [\"y\"], \"options\": []}]",
                 NULL, "%s/helmet/longqa/infbench/longbook_qa_eng: row 0: 0 rows of another id, 2 demos needed");
    expect_error("infbench_qa_eng_8k", QA,
                 "[{\"id\": 1, \"context\": \"c\", \"input\": null, \"answer\": [\"x\"], \"options\": []}]", NULL,
                 "%s/helmet/longqa/infbench/longbook_qa_eng: row 0: input: expected a string");
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO TOKENIZER_DIR SYNTHETIC_DATA_SCRIPT REFERENCE_SCRIPT", &dysco_bin, &tokenizers,
              &synthetic_script, &reference_script, NULL);
    snprintf(llama2, sizeof llama2, "%s/lenml_llama2", tokenizers);
    if (!(python = python_with_numpy())) {
        fprintf(stderr, "test_eval_infbench: no python3 with numpy (Debian: python3-numpy)\n");
        return 1;
    }
    dir = make_temp_dir("eval_infbench");
    cmd_result r = run_cmd("python3 '%s' --out '%s/short' --datasets infbench_qa_eng_8k --examples %d --tokens %d && "
                           "python3 '%s' --out '%s/long' --datasets infbench_qa_eng_8k --examples %d --tokens %d",
                           synthetic_script, dir, SHORT_ROWS, SHORT_TOKENS, synthetic_script, dir, LONG_ROWS, LONG_TOKENS);
    if (r.status != 0) {
        fprintf(stderr, "%s: %s\n", synthetic_script, r.err);
        return 1;
    }
    cmd_result_free(&r);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_stories_as_reference),
        cmocka_unit_test(test_long_stories_cut_as_reference),
        cmocka_unit_test(test_bad_data),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(dir);
    free(dir);
    return failed;
}

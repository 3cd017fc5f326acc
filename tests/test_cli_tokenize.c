// `dysco tokenize` as scripts use it, on the real Qwen3 and Llama-3.1 tokenizer files: ids,
// chat prompts, intervention_warmup auto, decoding, JSONL batches, and the one-line errors for
// malformed tokenizer files and bad input. argv: PATH_TO_DYSCO TOKENIZER_DIR.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin, *toks;

static void expect(const char *args, int status, const char *in_stdout, const char *in_stderr) {
    cmd_result r = run_cmd("'%s' tokenize %s", dysco_bin, args);
    if (r.status != status || (in_stdout && !strstr(r.out, in_stdout)) || (in_stderr && !strstr(r.err, in_stderr)) ||
        (status != 0 && count_lines(r.err) != 1))
        fail_msg("dysco tokenize %s\n  expected exit %d, stdout with [%s], stderr with [%s]\n  got exit %d\n  stdout: %.500s\n  stderr: %s",
                 args, status, in_stdout ? in_stdout : "", in_stderr ? in_stderr : "", r.status, r.out, r.err);
    cmd_result_free(&r);
}

static void test_encode_and_chat(void **state) {
    (void)state;
    char args[PATH_MAX + 200];
    snprintf(args, sizeof args, "--model '%s/qwen3' --text 'Hello world!'", toks);
    expect(args, 0, "[9707,1879,0]\n", NULL);
    snprintf(args, sizeof args, "--model '%s/llama3_1' --text 'Hello world!'", toks);
    expect(args, 0, "[128000,9906,1917,0]\n", NULL);  // the post-processor adds <|begin_of_text|>
    snprintf(args, sizeof args, "--model '%s/llama3_1' --text 'Hello world!' --no-special", toks);
    expect(args, 0, "[9906,1917,0]\n", NULL);
    // <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n
    snprintf(args, sizeof args, "--model '%s/qwen3' --chat --text Hi", toks);
    expect(args, 0, "[151644,872,198,13048,151645,198,151644,77091,198,151667,271,151668,271]\n", NULL);
    snprintf(args, sizeof args, "--model '%s/qwen3' --chat --think --text Hi", toks);
    expect(args, 0, "[151644,872,198,13048,151645,198,151644,77091,198]\n", NULL);
    snprintf(args, sizeof args, "--model '%s/qwen3' --chat --system 'Be brief.' --text Hi", toks);
    expect(args, 0, "[151644,8948,198,", NULL);
    snprintf(args, sizeof args, "--model '%s/qwen3' --decode --text '[9707,1879,0,151644]'", toks);
    expect(args, 0, "Hello world!<|im_start|>\n", NULL);
    snprintf(args, sizeof args, "--model '%s/qwen3' --decode --skip-special --text '{\"input_ids\": [151644,9707]}'", toks);
    expect(args, 0, "Hello\n", NULL);
}

// --offsets on the Llama-2-format file (lenml_llama2: Mistral-7B's vocabulary in that format):
// HF's offset_mapping, the leading "▁" folded into the first token, <s> at (0, 0), and "é" one
// code point; on the byte-level files <|begin_of_text|> at (0, 0), "é" (2 bytes) and "😀" (4 bytes)
// one code point each, the emoji's token with its space.
static void test_offsets(void **state) {
    (void)state;
    char args[PATH_MAX + 200];
    snprintf(args, sizeof args, "--model '%s/lenml_llama2' --offsets --text 'Hello world'", toks);
    expect(args, 0, "{\"input_ids\": [1,22557,1526], \"offset_mapping\": [[0, 0], [0, 5], [5, 11]]}\n", NULL);
    snprintf(args, sizeof args, "--model '%s/lenml_llama2' --offsets --no-special --text 'caf\xc3\xa9 ok'", toks);
    expect(args, 0, "\"offset_mapping\": [[0, 4], [4, 7]]}\n", NULL);
    snprintf(args, sizeof args, "--model '%s/lenml_llama2' --decode --text '[1,22557,1526]'", toks);
    expect(args, 0, "<s> Hello world\n", NULL);
    snprintf(args, sizeof args, "--model '%s/llama3_1' --offsets --text 'Hello world!'", toks);
    expect(args, 0, "{\"input_ids\": [128000,9906,1917,0], \"offset_mapping\": [[0, 0], [0, 5], [5, 11], [11, 12]]}\n", NULL);
    snprintf(args, sizeof args, "--model '%s/qwen3' --offsets --text 'caf\xc3\xa9 \xf0\x9f\x98\x80'", toks);
    expect(args, 0, "{\"input_ids\": [924,58858,90316], \"offset_mapping\": [[0, 2], [2, 4], [4, 6]]}\n", NULL);
    snprintf(args, sizeof args, "--model '%s/lenml_llama2' --offsets --chat --text hi", toks);
    expect(args, 2, NULL, "tokenize: --offsets is for plain --text or --file input");
}

static void test_warmup(void **state) {
    (void)state;
    char args[PATH_MAX + 100];
    snprintf(args, sizeof args, "--model '%s/qwen3' --warmup", toks);
    expect(args, 0, "{\"intervention_warmup\": 7, \"template\": \"qwen3\", \"enable_thinking\": false}", NULL);
    snprintf(args, sizeof args, "--model '%s/qwen3' --warmup --think", toks);
    expect(args, 0, "{\"intervention_warmup\": 3,", NULL);
    snprintf(args, sizeof args, "--model '%s/llama3_1' --warmup", toks);
    expect(args, 0, "{\"intervention_warmup\": 4, \"template\": \"llama3\"", NULL);
}

static void test_batch(void **state) {
    (void)state;
    char *dir = make_temp_dir("tok-batch"), path[PATH_MAX], args[2 * PATH_MAX];
    dy_error err;
    snprintf(path, sizeof path, "%s/in.jsonl", dir);
    const char *lines = "{\"text\": \"Hello world!\"}\n"
                        "\n"
                        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"add_generation_prompt\": true, \"enable_thinking\": false}\n"
                        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n";
    assert_int_equal(dy_write_file(path, lines, strlen(lines), &err), 0);
    snprintf(args, sizeof args, "--model '%s/qwen3' --batch '%s'", toks, path);
    expect(args, 0,
           "[9707,1879,0]\n[151644,872,198,13048,151645,198,151644,77091,198,151667,271,151668,271]\n"
           "[151644,872,198,13048,151645,198]\n",
           NULL);
    const char *bad = "{\"text\": \"ok\"}\n{\"prompt\": \"no\"}\n";
    assert_int_equal(dy_write_file(path, bad, strlen(bad), &err), 0);
    char want[PATH_MAX + 100];
    snprintf(want, sizeof want, "%s:2: expected a \"text\" string or a \"messages\" list", path);
    expect(args, 1, "[562]\n", want);  // "ok"
    const char *bad_msg = "{\"messages\": [{\"role\": \"user\"}]}\n";
    assert_int_equal(dy_write_file(path, bad_msg, strlen(bad_msg), &err), 0);
    snprintf(want, sizeof want, "%s:1: messages[0]: content is missing or not a string", path);
    expect(args, 1, NULL, want);
    // Flags are true or false ("add_generation_prompt": "yes" read as false, 1 as not given), and
    // a line gives text or messages (with both, messages were ignored).
    const char *bad_flags[][2] = {
        {"{\"text\": \"ok\", \"add_special_tokens\": \"no\"}\n", "add_special_tokens: expected true or false"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"add_generation_prompt\": \"yes\"}\n",
         "add_generation_prompt: expected true or false"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"enable_thinking\": 1}\n",
         "enable_thinking: expected true or false"},
        {"{\"text\": \"ok\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n",
         "give \"text\" or \"messages\", not both"},
    };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(dy_write_file(path, bad_flags[i][0], strlen(bad_flags[i][0]), &err), 0);
        snprintf(want, sizeof want, "%s:1: %s", path, bad_flags[i][1]);
        expect(args, 1, NULL, want);
    }
    // A lone UTF-16 surrogate is named as the problem (once "not a JSON object"); a pair is a character.
    const char *surrogates = "{\"text\": \"ok \\ud83d\\ude00\"}\n{\"text\": \"\\ud800\"}\n";
    assert_int_equal(dy_write_file(path, surrogates, strlen(surrogates), &err), 0);
    snprintf(want, sizeof want, "%s:2: not valid JSON: the escape \\ud800 at byte 10 is a lone UTF-16 surrogate", path);
    expect(args, 1, "[562,90316]\n", want);
    // A NUL byte does not end the line (it once did: the rest was dropped, or a "\0" line skipped as
    // blank), nor a string (cJSON read "a<NUL>b" as "a").
    const char with_nul[] = "{\"text\": \"ok\"}\0{\"text\": \"more\"}\n";
    assert_int_equal(dy_write_file(path, with_nul, sizeof with_nul - 1, &err), 0);
    snprintf(want, sizeof want, "%s:1: not valid JSON: a NUL byte at byte 14", path);
    expect(args, 1, NULL, want);
    const char nul_line[] = "\0\n{\"text\": \"ok\"}\n";
    assert_int_equal(dy_write_file(path, nul_line, sizeof nul_line - 1, &err), 0);
    snprintf(want, sizeof want, "%s:1: not valid JSON: a NUL byte at byte 0", path);
    expect(args, 1, NULL, want);
    const char nul_in_text[] = "{\"text\": \"a\0b\"}\n";
    assert_int_equal(dy_write_file(path, nul_in_text, sizeof nul_in_text - 1, &err), 0);
    snprintf(want, sizeof want, "%s:1: not valid JSON: a NUL byte at byte 11", path);
    expect(args, 1, NULL, want);
    rm_rf(dir);
    free(dir);
}

// Writes DIR/tokenizer.json: the real Qwen3 file with one edit.
static void write_edited(const char *dir, void (*edit)(cJSON *root)) {
    char path[PATH_MAX];
    dy_error err;
    snprintf(path, sizeof path, "%s/qwen3/tokenizer.json", toks);
    char *json = dy_read_file(path, NULL, &err);
    assert_non_null(json);
    cJSON *root = cJSON_Parse(json);
    free(json);
    edit(root);
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    assert_int_equal(dy_write_file(path, out, strlen(out), &err), 0);
    free(out);
}

static void drop_model(cJSON *root) { cJSON_DeleteItemFromObject(root, "model"); }
static void bad_merge(cJSON *root) {
    cJSON *merges = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "merges");
    cJSON_ReplaceItemInArray(merges, 3, cJSON_CreateString("no-such-token \xc4\xa0"));
}
static void unknown_pre_tokenizer(cJSON *root) {
    cJSON_DeleteItemFromObject(root, "pre_tokenizer");
    cJSON_AddItemToObject(root, "pre_tokenizer", cJSON_Parse("{\"type\": \"Whitespace\"}"));
}

static void test_malformed_tokenizer_files(void **state) {
    (void)state;
    char *dir = make_temp_dir("tok-bad"), args[PATH_MAX + 64], want[PATH_MAX + 200];
    snprintf(args, sizeof args, "--model '%s' --text hi", dir);
    write_edited(dir, drop_model);
    snprintf(want, sizeof want, "dysco: %s/tokenizer.json: model: missing", dir);
    expect(args, 1, NULL, want);
    write_edited(dir, bad_merge);
    snprintf(want, sizeof want, "dysco: %s/tokenizer.json: model.merges: entry 3 (no-such-token + \xc4\xa0) uses a token not in model.vocab", dir);
    expect(args, 1, NULL, want);
    write_edited(dir, unknown_pre_tokenizer);
    snprintf(want, sizeof want, "dysco: %s/tokenizer.json: pre_tokenizer: type \"Whitespace\" is not supported", dir);
    expect(args, 1, NULL, want);
    char path[PATH_MAX];
    dy_error err;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    static const char cut[] = "{\"model\": {\"type\": \"BPE\",";  // (once written with its NUL, now refused as such)
    assert_int_equal(dy_write_file(path, cut, sizeof cut - 1, &err), 0);
    snprintf(want, sizeof want, "dysco: %s/tokenizer.json: not valid JSON at byte 24", dir);  // where the parser stopped
    expect(args, 1, NULL, want);
    rm_rf(dir);
    free(dir);
}

static void test_usage_and_input_errors(void **state) {
    (void)state;
    char args[PATH_MAX + 100];
    expect("--text hi", 2, NULL, "tokenize: needs --model DIR");
    snprintf(args, sizeof args, "--model '%s/qwen3'", toks);
    expect(args, 2, NULL, "needs exactly one of --text, --file, --batch, --warmup");
    snprintf(args, sizeof args, "--model '%s/qwen3' --text a --file b", toks);
    expect(args, 2, NULL, "needs exactly one of");
    snprintf(args, sizeof args, "--model '%s/qwen3' --text a --system s", toks);
    expect(args, 2, NULL, "--system needs --chat");
    snprintf(args, sizeof args, "--model '%s/qwen3' --file /nonexistent-dysco.txt", toks);
    expect(args, 1, NULL, "/nonexistent-dysco.txt: cannot open");
    snprintf(args, sizeof args, "--model '%s/qwen3' --text \"$(printf 'ab\\377')\"", toks);
    expect(args, 1, NULL, "text: invalid UTF-8 at byte 2");
    snprintf(args, sizeof args, "--model '%s/qwen3' --decode --text '[1, 999999]'", toks);
    expect(args, 1, NULL, "--text: [1]: token id 999999 is not in the vocabulary");
    snprintf(args, sizeof args, "--model '%s/qwen3' --decode --text '[1, \"x\"]'", toks);
    expect(args, 1, NULL, "--text: [1]: expected a token id (a whole number >= 0), got a string");
    snprintf(args, sizeof args, "--model '%s/qwen3' --decode --text '[1, 1.5]'", toks);  // once read as 1
    expect(args, 1, NULL, "--text: [1]: expected a token id (a whole number >= 0), got 1.5");
    snprintf(args, sizeof args, "--model '%s/qwen3' --decode --text '[2147483648]'", toks);
    expect(args, 1, NULL, "--text: [0]: 2147483648 is not below the int32 limit 2147483648");
    snprintf(args, sizeof args, "--model '%s/qwen3' --decode --text '[1] [2]'", toks);
    expect(args, 1, NULL, "--text: not valid JSON: bytes after the JSON value (from byte 4)");
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO TOKENIZER_DIR", &dysco_bin, &toks, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_and_chat), cmocka_unit_test(test_offsets), cmocka_unit_test(test_warmup), cmocka_unit_test(test_batch),
        cmocka_unit_test(test_malformed_tokenizer_files), cmocka_unit_test(test_usage_and_input_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// Chat templates: recognition (small strings, real tokenizer_config.json files, each error) and
// rendering, compared byte for byte with what transformers' Jinja renders for the same chat.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/tokenizer/chat_template.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

// The real tokenizer_config.json files live at DIR/qwen3/ and DIR/llama3_1/, DIR being argv[1]
// (ctest passes DYSCO_TOKENIZERS, where launch/fetch-tokenizers.sh puts them).
static const char *tokenizers_dir;

// Marker-only templates: recognition looks at markers, not at the whole text.
#define QWEN3_MARKERS "{{'<|im_start|>'}}{% if enable_thinking %}{{ m.reasoning_content }}{% endif %}"
#define LLAMA3_MARKERS "{{ '<|start_header_id|>' + message['role'] }}"
#define LLAMA31_MARKERS "{{- '<|start_header_id|>system' }}{{- 'Cutting Knowledge Date: December 2023' }}"
#define LLAMA32_MARKERS LLAMA31_MARKERS "{%- set date_string = strftime_now('%d %b %Y') %}"

#define M(role, content) {role, content, NULL}

static dy_chat_template detect_ok(const char *text, const char *bos) {
    dy_chat_template t;
    dy_error err = {{0}};
    if (dy_chat_template_detect(text, bos, "tok/tokenizer_config.json", &t, &err)) fail_msg("detect: %s", err.msg);
    return t;
}

static void assert_render(const dy_chat_template *t, const dy_chat_message *m, int n, bool gen, int think,
                          const char *expected) {
    dy_error err = {{0}};
    char *got = dy_chat_render(t, m, n, gen, think, &err);
    if (!got) fail_msg("render failed: %s", err.msg);
    if (strcmp(got, expected) != 0) {
        print_error("expected:\n[%s]\ngot:\n[%s]\n", expected, got);
        free(got);
        fail();
    }
    free(got);
}

static void assert_render_error(const dy_chat_template *t, const dy_chat_message *m, int n, const char *expected) {
    dy_error err = {{0}};
    char *got = dy_chat_render(t, m, n, true, -1, &err);
    if (got || strcmp(err.msg, expected) != 0)
        fail_msg("expected error: %s\n  got: %s", expected, got ? "(success)" : err.msg);
}

// "DD Mon YYYY", English month names, as Python's strftime("%d %b %Y") prints in the C locale.
static void assert_date_format(const char *d) {
    static const char *months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec";
    if (strlen(d) != 11) fail_msg("date \"%s\": expected 11 characters", d);
    bool digits = isdigit((unsigned char)d[0]) && isdigit((unsigned char)d[1]);
    for (int i = 7; i < 11; i++) digits = digits && isdigit((unsigned char)d[i]);
    char month[4] = {d[3], d[4], d[5], 0};
    if (!digits || d[2] != ' ' || d[6] != ' ' || !strstr(months, month) || strchr(month, ' '))
        fail_msg("date \"%s\": expected DD Mon YYYY", d);
    int day = (d[0] - '0') * 10 + (d[1] - '0');
    assert_true(day >= 1 && day <= 31);
    assert_true(atoi(d + 7) >= 2024);
}

// ---- Recognition -------------------------------------------------------------------------------

static void test_detect_small_templates(void **state) {
    (void)state;
    dy_chat_template t = detect_ok(QWEN3_MARKERS, NULL);
    assert_int_equal(t.family, DY_CHAT_QWEN3);
    assert_string_equal(t.bos_token, "");
    assert_string_equal(dy_chat_family_name(t.family), "qwen3");

    t = detect_ok(LLAMA3_MARKERS, "<|begin_of_text|>");
    assert_int_equal(t.family, DY_CHAT_LLAMA3);
    assert_string_equal(t.bos_token, "<|begin_of_text|>");
    assert_string_equal(dy_chat_family_name(t.family), "llama3");

    t = detect_ok(LLAMA31_MARKERS, "<|begin_of_text|>");
    assert_int_equal(t.family, DY_CHAT_LLAMA31);
    assert_string_equal(t.date_string, "26 Jul 2024");  // Llama 3.1 never asks for today's date
    assert_string_equal(dy_chat_family_name(t.family), "llama3.1");
}

static void test_detect_strftime_now_date(void **state) {
    (void)state;
    // Today's date, taken before and after detection so a midnight in between cannot fail the test.
    char before[32], after[32];
    time_t now = time(NULL);
    strftime(before, sizeof before, "%d %b %Y", localtime(&now));  // the test runs in the C locale
    dy_chat_template t = detect_ok(LLAMA32_MARKERS, "<|begin_of_text|>");
    now = time(NULL);
    strftime(after, sizeof after, "%d %b %Y", localtime(&now));
    assert_int_equal(t.family, DY_CHAT_LLAMA31);
    assert_date_format(t.date_string);
    if (strcmp(t.date_string, before) != 0 && strcmp(t.date_string, after) != 0)
        fail_msg("date \"%s\": expected today, \"%s\"", t.date_string, after);

    const dy_chat_message m[] = {M("user", "x")};
    char expected[512];
    snprintf(expected, sizeof expected,
             "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
             "Today Date: %s\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>",
             t.date_string);
    assert_render(&t, m, 1, false, -1, expected);
}

static void assert_detect_error(const char *text, const char *bos, const char *expected) {
    dy_chat_template t;
    dy_error err = {{0}};
    if (dy_chat_template_detect(text, bos, "tok/tokenizer_config.json", &t, &err) == 0 || strcmp(err.msg, expected) != 0)
        fail_msg("expected error: %s\n  got: %s", expected, err.msg);
}

static void test_detect_errors(void **state) {
    (void)state;
    const char *unknown = "tok/tokenizer_config.json: chat_template: not a template dysco implements (Qwen3 hybrid "
                          "thinking, Llama 3, Llama 3.1/3.2/3.3); without the chat template the text is used as is";
    // Qwen2.5 / plain ChatML: <|im_start|> without the hybrid-thinking markers.
    assert_detect_error("{{'<|im_start|>' + message['role'] + '\\n'}}", NULL, unknown);
    assert_detect_error("{{'<|im_start|>'}}{% if enable_thinking %}{% endif %}", NULL, unknown);
    assert_detect_error("{{ bos_token }}[INST] {{ message['content'] }} [/INST]", "<s>", unknown);
    assert_detect_error("", NULL, unknown);
    assert_detect_error(NULL, NULL,
                        "tok/tokenizer_config.json: chat_template: missing (the text can still be used without a chat template)");
    char long_bos[80];
    memset(long_bos, 'b', sizeof long_bos - 1);
    long_bos[sizeof long_bos - 1] = '\0';
    assert_detect_error(LLAMA3_MARKERS, long_bos, "tok/tokenizer_config.json: bos_token: longer than 63 bytes");
}

static void tokenizers_path(const char *model, char *out, size_t n) {
    snprintf(out, n, "%s/%s/tokenizer_config.json", tokenizers_dir, model);
    if (!dy_file_exists(out)) fail_msg("%s: missing (run launch/fetch-tokenizers.sh)", out);
}

static void test_load_real_tokenizer_configs(void **state) {
    (void)state;
    char path[PATH_MAX];
    dy_chat_template t;
    dy_error err = {{0}};

    tokenizers_path("qwen3", path, sizeof path);
    if (dy_chat_template_load(path, &t, &err)) fail_msg("%s", err.msg);
    assert_int_equal(t.family, DY_CHAT_QWEN3);
    assert_string_equal(t.bos_token, "");  // "bos_token": null
    const dy_chat_message q[] = {M("system", "sys"), M("user", "Hi")};
    assert_render(&t, q, 2, true, 0,
                  "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                  "<|im_start|>assistant\n<think>\n\n</think>\n\n");

    // The package named llama3_1 ships the plain Llama 3 template (no "Cutting Knowledge Date").
    tokenizers_path("llama3_1", path, sizeof path);
    if (dy_chat_template_load(path, &t, &err)) fail_msg("%s", err.msg);
    assert_int_equal(t.family, DY_CHAT_LLAMA3);
    assert_string_equal(t.bos_token, "<|begin_of_text|>");
    assert_render(&t, q, 2, true, -1,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nsys<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

// Writes tokenizer_config.json (and chat_template.jinja when jinja is non-NULL) into a fresh
// folder and loads it. Returns the folder; the caller removes it.
static char *load_from(const char *config, const char *jinja, dy_chat_template *t, int *rc, dy_error *err) {
    char *dir = make_temp_dir("chat"), path[PATH_MAX];
    dy_error werr;
    snprintf(path, sizeof path, "%s/chat_template.jinja", dir);
    if (jinja && dy_write_file(path, jinja, strlen(jinja), &werr)) fail_msg("%s", werr.msg);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    if (config && dy_write_file(path, config, strlen(config), &werr)) fail_msg("%s", werr.msg);
    *rc = dy_chat_template_load(path, t, err);
    return dir;
}

static void assert_load_error(const char *config, const char *jinja, const char *expected) {
    dy_chat_template t;
    dy_error err = {{0}};
    int rc;
    char *dir = load_from(config, jinja, &t, &rc, &err);
    // Every error names the file: the folder's path comes first.
    if (rc == 0 || !strstr(err.msg, expected) || strncmp(err.msg, dir, strlen(dir)) != 0)
        fail_msg("config %s\n  expected error containing: %s\n  got: %s", config ? config : "(none)", expected,
                 rc ? err.msg : "(success)");
    rm_rf(dir);
    free(dir);
}

static void test_load_variants(void **state) {
    (void)state;
    dy_chat_template t;
    dy_error err = {{0}};
    int rc;
    // A list of named templates: "default" is the chat one; bos_token as an AddedToken object.
    char *dir = load_from("{\"bos_token\":{\"__type\":\"AddedToken\",\"content\":\"<B>\",\"lstrip\":false},"
                          "\"chat_template\":[{\"name\":\"tool_use\",\"template\":\"x\"},"
                          "{\"name\":\"default\",\"template\":\"" LLAMA3_MARKERS "\"}]}",
                          NULL, &t, &rc, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(t.family, DY_CHAT_LLAMA3);
    assert_string_equal(t.bos_token, "<B>");
    rm_rf(dir);
    free(dir);

    // chat_template.jinja beside the config wins over the inline template, as in transformers.
    dir = load_from("{\"bos_token\":\"<B>\",\"chat_template\":\"" LLAMA3_MARKERS "\"}", LLAMA31_MARKERS, &t, &rc, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(t.family, DY_CHAT_LLAMA31);
    assert_string_equal(t.bos_token, "<B>");
    rm_rf(dir);
    free(dir);
    dir = load_from("{\"bos_token\":null,\"eos_token\":{\"content\":\"<e>\"},\"pad_token\":null,"
                    "\"additional_special_tokens\":[\"<a>\",{\"content\":\"<b>\"}]}",
                    QWEN3_MARKERS, &t, &rc, &err);
    if (rc) fail_msg("%s", err.msg);
    assert_int_equal(t.family, DY_CHAT_QWEN3);
    rm_rf(dir);
    free(dir);
}

static void test_load_errors(void **state) {
    (void)state;
    const char *missing = "/tokenizer_config.json: chat_template: missing (the text can still be used without a chat template)";
    assert_load_error("{\"bos_token\":\"<s>\"}", NULL, missing);
    assert_load_error("{\"chat_template\":null}", NULL, missing);
    assert_load_error("{\"chat_template\":\"{{ messages }}\"}", NULL,
                      "/tokenizer_config.json: chat_template: not a template dysco implements");
    assert_load_error("{\"chat_template\":\"x\"}", "{{ '[INST]' }}",
                      "/chat_template.jinja: chat_template: not a template dysco implements");
    assert_load_error("{\"chat_template\": \"x\",", NULL, "/tokenizer_config.json: not valid JSON");
    assert_load_error("[1, 2]", NULL, "/tokenizer_config.json: expected a JSON object");
    assert_load_error("{\"chat_template\":7}", NULL,
                      "/tokenizer_config.json: chat_template: expected a string or a list of {\"name\", \"template\"} objects");
    assert_load_error("{\"chat_template\":[{\"name\":\"tool_use\",\"template\":\"x\"}]}", NULL,
                      "/tokenizer_config.json: chat_template: no template named \"default\" in the list");
    assert_load_error("{\"chat_template\":[{\"name\":\"default\",\"template\":3}]}", NULL,
                      "/tokenizer_config.json: chat_template: template \"default\" is not a string");
    assert_load_error("{\"bos_token\":5,\"chat_template\":\"" LLAMA3_MARKERS "\"}", NULL,
                      "/tokenizer_config.json: bos_token: expected a string or an object with \"content\"");
    assert_load_error("{\"bos_token\":{\"special\":true},\"chat_template\":\"" LLAMA3_MARKERS "\"}", NULL,
                      "/tokenizer_config.json: bos_token: expected a string or an object with \"content\"");
    // Every special-token field has the bos_token's shape, used or not (eos_token 5 was accepted).
    assert_load_error("{\"eos_token\":5,\"chat_template\":\"" QWEN3_MARKERS "\"}", NULL,
                      "/tokenizer_config.json: eos_token: expected a string or an object with \"content\"");
    assert_load_error("{\"pad_token\":[\"<p>\"],\"chat_template\":\"" QWEN3_MARKERS "\"}", NULL,
                      "/tokenizer_config.json: pad_token: expected a string or an object with \"content\"");
    assert_load_error("{\"unk_token\":{\"content\":1},\"chat_template\":\"" QWEN3_MARKERS "\"}", NULL,
                      "/tokenizer_config.json: unk_token: expected a string or an object with \"content\"");
    assert_load_error("{\"additional_special_tokens\":\"<a>\",\"chat_template\":\"" QWEN3_MARKERS "\"}", NULL,
                      "/tokenizer_config.json: additional_special_tokens: expected a list");
    assert_load_error("{\"additional_special_tokens\":[\"<a>\",null],\"chat_template\":\"" QWEN3_MARKERS "\"}", NULL,
                      "/tokenizer_config.json: additional_special_tokens[1]: expected a string or an object with \"content\"");
    assert_load_error(NULL, NULL, "/tokenizer_config.json: cannot open");
}

static void test_render_errors(void **state) {
    (void)state;
    const dy_chat_template q = detect_ok(QWEN3_MARKERS, NULL), l3 = detect_ok(LLAMA3_MARKERS, "<s>"),
                           l31 = detect_ok(LLAMA31_MARKERS, "<s>");
    const dy_chat_message m[] = {M("user", "x"), {NULL, "y", NULL}}, no_content[] = {M("user", "x"), {"user", NULL, NULL}};
    assert_render_error(&q, m, 0, "messages: empty");
    assert_render_error(&l3, m, 0, "messages: empty");
    assert_render_error(&l31, m, 0, "messages: empty");
    assert_render_error(&l31, NULL, 3, "messages: empty");
    assert_render_error(&q, m, 2, "messages[1].role: missing");
    assert_render_error(&l3, no_content, 2, "messages[1].content: missing");
    dy_error err = {{0}};
    assert_null(dy_chat_render(&q, m, 1, true, 2, &err));
    assert_string_equal(err.msg, "enable_thinking: 2 is not -1 (not given), 0 or 1");
}

// ---- Qwen3 -------------------------------------------------------------------------------------

static void test_qwen3_single_user(void **state) {
    (void)state;
    const dy_chat_template t = detect_ok(QWEN3_MARKERS, NULL);
    const dy_chat_message m[] = {M("user", "Hi there")};
    const char *turn = "<|im_start|>user\nHi there<|im_end|>\n";
    assert_render(&t, m, 1, false, -1, turn);
    assert_render(&t, m, 1, false, 0, turn);  // enable_thinking only shapes the generation prompt
    assert_render(&t, m, 1, true, -1, "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
    assert_render(&t, m, 1, true, 1, "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
    assert_render(&t, m, 1, true, 0,
                  "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

static void test_qwen3_multi_turn_thinking(void **state) {
    (void)state;
    const dy_chat_template t = detect_ok(QWEN3_MARKERS, NULL);
    // The same assistant text before and after the last user query: only the later one keeps its
    // reasoning.
    const dy_chat_message m[] = {
        M("system", "You are terse."), M("user", "2+2?"),
        M("assistant", "<think>\nreasoning\n</think>\n\nanswer"), M("user", "and 3+3?"),
        M("assistant", "<think>\nreasoning\n</think>\n\nanswer"),
    };
    assert_render(&t, m, 5, false, -1,
                  "<|im_start|>system\n"
                  "You are terse.<|im_end|>\n"
                  "<|im_start|>user\n"
                  "2+2?<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "answer<|im_end|>\n"
                  "<|im_start|>user\n"
                  "and 3+3?<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "<think>\n"
                  "reasoning\n"
                  "</think>\n"
                  "\n"
                  "answer<|im_end|>\n");
    assert_render(&t, m, 4, true, 1,
                  "<|im_start|>system\n"
                  "You are terse.<|im_end|>\n"
                  "<|im_start|>user\n"
                  "2+2?<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "answer<|im_end|>\n"
                  "<|im_start|>user\n"
                  "and 3+3?<|im_end|>\n"
                  "<|im_start|>assistant\n");

    // After the query: a non-last turn with empty reasoning gets no think block; the last turn
    // always does. split('</think>')[-1] takes the text after the LAST </think>, the reasoning
    // is before the FIRST one, after the last <think>.
    const dy_chat_message after[] = {
        M("user", "q"), M("assistant", "plain reply"), M("assistant", "<think>\n\n</think>\n\n\nsecond"),
        M("assistant", "\n<think>a</think>b</think>\n\nlast"),
    };
    assert_render(&t, after, 4, false, -1,
                  "<|im_start|>user\n"
                  "q<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "plain reply<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "second<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "<think>\n"
                  "a\n"
                  "</think>\n"
                  "\n"
                  "last<|im_end|>\n");
}

static void test_qwen3_reasoning_content(void **state) {
    (void)state;
    const dy_chat_template t = detect_ok(QWEN3_MARKERS, NULL);
    // Given explicitly, reasoning_content wins and the content is not split on </think>.
    const dy_chat_message m[] = {
        M("user", "q1"),
        {"assistant", "\n\nold answer", "\nold plan\n"},
        M("user", "q2"),
        {"assistant", "\n\nanswer", "\nplan\n"},
        {"assistant", "\nkept as is", ""},
        {"assistant", "<think>ignored</think>final", "given"},
    };
    assert_render(&t, m, 6, false, -1,
                  "<|im_start|>user\n"
                  "q1<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "\n"
                  "\n"
                  "old answer<|im_end|>\n"
                  "<|im_start|>user\n"
                  "q2<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "<think>\n"
                  "plan\n"
                  "</think>\n"
                  "\n"
                  "answer<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "\n"
                  "kept as is<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "<think>\n"
                  "given\n"
                  "</think>\n"
                  "\n"
                  "<think>ignored</think>final<|im_end|>\n");
}

static void test_qwen3_tools(void **state) {
    (void)state;
    const dy_chat_template t = detect_ok(QWEN3_MARKERS, NULL);
    // Consecutive tool results share one user turn; a user message that is a whole
    // <tool_response> is not a query, so the assistant turn after it keeps its reasoning.
    const dy_chat_message m[] = {
        M("system", "sys"),
        M("user", "weather?"),
        M("assistant", "<think>\nneed tool\n</think>\n\nchecking"),
        M("tool", "{\"t\": 21}"),
        M("tool", "{\"t\": 22}"),
        M("user", "<tool_response>\nextra\n</tool_response>"),
        M("assistant", "<think>\ngot it\n</think>\n\nIt is 21."),
        M("tool", "late"),
    };
    assert_render(&t, m, 8, true, 0,
                  "<|im_start|>system\n"
                  "sys<|im_end|>\n"
                  "<|im_start|>user\n"
                  "weather?<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "<think>\n"
                  "need tool\n"
                  "</think>\n"
                  "\n"
                  "checking<|im_end|>\n"
                  "<|im_start|>user\n"
                  "<tool_response>\n"
                  "{\"t\": 21}\n"
                  "</tool_response>\n"
                  "<tool_response>\n"
                  "{\"t\": 22}\n"
                  "</tool_response><|im_end|>\n"
                  "<|im_start|>user\n"
                  "<tool_response>\n"
                  "extra\n"
                  "</tool_response><|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "<think>\n"
                  "got it\n"
                  "</think>\n"
                  "\n"
                  "It is 21.<|im_end|>\n"
                  "<|im_start|>user\n"
                  "<tool_response>\n"
                  "late\n"
                  "</tool_response><|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "<think>\n"
                  "\n"
                  "</think>\n"
                  "\n");
    // A chat that opens with a tool result opens the user turn itself.
    const dy_chat_message first[] = {M("tool", "r")};
    assert_render(&t, first, 1, false, -1, "<|im_start|>user\n<tool_response>\nr\n</tool_response><|im_end|>\n");
}

static void test_qwen3_system_in_the_middle(void **state) {
    (void)state;
    const dy_chat_template t = detect_ok(QWEN3_MARKERS, NULL);
    // A later system message is a turn of its own; unknown roles render as nothing.
    const dy_chat_message m[] = {M("user", "hi"), M("system", "new rules"), M("assistant", "ok"), M("other", "dropped"),
                                 M("user", "bye")};
    assert_render(&t, m, 5, true, -1,
                  "<|im_start|>user\n"
                  "hi<|im_end|>\n"
                  "<|im_start|>system\n"
                  "new rules<|im_end|>\n"
                  "<|im_start|>assistant\n"
                  "ok<|im_end|>\n"
                  "<|im_start|>user\n"
                  "bye<|im_end|>\n"
                  "<|im_start|>assistant\n");
    const dy_chat_message only_unknown[] = {M("other", "x")};
    assert_render(&t, only_unknown, 1, false, -1, "");
}

// ---- Llama -------------------------------------------------------------------------------------

static void test_llama3_plain_unicode_trim(void **state) {
    (void)state;
    const dy_chat_template t = detect_ok(LLAMA3_MARKERS, "<|begin_of_text|>");
    // |trim strips what Python's isspace() calls whitespace (U+3000, U+00A0, U+2028, ...), never
    // U+200B (zero-width space); BOS comes before the first turn only.
    const dy_chat_message m[] = {
        M("system", " \u3000sys\u00a0\n"),
        M("user", "\u3000\u00a0 hi\u200b \u00a0\u3000"),
        M("assistant", "\u200bX\u200b"),
        M("tool", "\t r \u2028"),
    };
    assert_render(&t, m, 4, true, -1,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  "\n"
                  "sys<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  "\n"
                  "hi\u200b<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  "\n"
                  "\u200bX\u200b<|eot_id|><|start_header_id|>tool<|end_header_id|>\n"
                  "\n"
                  "r<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  "\n");
    const dy_chat_message one[] = {M("user", "x")};
    assert_render(&t, one, 1, false, -1, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>");
    // The other whitespace classes: C0 separators (U+001C..U+001F), NEL (U+0085), U+1680,
    // U+2000..U+200A, U+202F, U+205F; and malformed UTF-8 stops the trim instead of being eaten.
    const dy_chat_message odd[] = {
        M("user", "\034\035\036\037\302\205\u1680\u2000\u200a\u202f\u205f\u2029x\v\f\r"),
        M("user", " \377 "),
        M("user", "a\343\200"),  // a truncated U+3000 is not whitespace
    };
    assert_render(&t, odd, 3, false, -1,
                  "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nx<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\n\377<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\na\343\200<|eot_id|>");
}

static void test_llama31_with_system(void **state) {
    (void)state;
    const dy_chat_template t = detect_ok(LLAMA31_MARKERS, "<|begin_of_text|>");
    // Tool results: the template tests `content is iterable`, which a Jinja string is, so they
    // go through |tojson (quoted, escaped, not trimmed) under the ipython header.
    const dy_chat_message m[] = {
        M("system", "  Be brief.\n"),
        M("user", " hi "),
        M("assistant", "hello"),
        M("tool", " {\"a\": \"b\\c\"}\n"),
        M("ipython", "\u00e9\001"),
    };
    assert_render(&t, m, 5, true, -1,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  "\n"
                  "Cutting Knowledge Date: December 2023\n"
                  "Today Date: 26 Jul 2024\n"
                  "\n"
                  "Be brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  "\n"
                  "hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  "\n"
                  "hello<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n"
                  "\n"
                  "\" {\\\"a\\\": \\\"b\\\\c\\\"}\\n\"<|eot_id|><|start_header_id|>ipython<|end_header_id|>\n"
                  "\n"
                  "\"\u00e9\\u0001\"<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  "\n");
    const dy_chat_message only_system[] = {M("system", "s")};
    assert_render(&t, only_system, 1, false, -1,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
                  "Today Date: 26 Jul 2024\n\ns<|eot_id|>");
}

static void test_llama31_without_system(void **state) {
    (void)state;
    dy_chat_template t = detect_ok(LLAMA31_MARKERS, "<|begin_of_text|>");
    // Without a leading system message the system block is still there, empty; a later system
    // message is an ordinary turn.
    const dy_chat_message m[] = {M("user", " hi "), M("system", "late system\n")};
    assert_render(&t, m, 2, false, -1,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  "\n"
                  "Cutting Knowledge Date: December 2023\n"
                  "Today Date: 26 Jul 2024\n"
                  "\n"
                  "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  "\n"
                  "hi<|eot_id|><|start_header_id|>system<|end_header_id|>\n"
                  "\n"
                  "late system<|eot_id|>");
    snprintf(t.date_string, sizeof t.date_string, "05 Mar 2025");
    assert_render(&t, m, 1, true, -1,
                  "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n"
                  "\n"
                  "Cutting Knowledge Date: December 2023\n"
                  "Today Date: 05 Mar 2025\n"
                  "\n"
                  "<|eot_id|><|start_header_id|>user<|end_header_id|>\n"
                  "\n"
                  "hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n"
                  "\n");
}

int main(int argc, char **argv) {
    test_args(argc, argv, "TOKENIZER_DIR", &tokenizers_dir, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect_small_templates),
        cmocka_unit_test(test_detect_strftime_now_date),
        cmocka_unit_test(test_detect_errors),
        cmocka_unit_test(test_load_real_tokenizer_configs),
        cmocka_unit_test(test_load_variants),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_render_errors),
        cmocka_unit_test(test_qwen3_single_user),
        cmocka_unit_test(test_qwen3_multi_turn_thinking),
        cmocka_unit_test(test_qwen3_reasoning_content),
        cmocka_unit_test(test_qwen3_tools),
        cmocka_unit_test(test_qwen3_system_in_the_middle),
        cmocka_unit_test(test_llama3_plain_unicode_trim),
        cmocka_unit_test(test_llama31_with_system),
        cmocka_unit_test(test_llama31_without_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

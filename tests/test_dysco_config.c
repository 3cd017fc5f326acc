// DySCO YAML configs: the three shipped files against the reference's dysco_cfgs/*.yaml, the value spellings PyYAML
// accepts, run_eval's override rules, and every load and validation error.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/dysco/dysco_config.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *configs_dir;  // configs/dysco, the test's argument
static char *tmp_dir;

static void load_shipped(const char *name, dy_dysco_config *c) {
    char path[4096];
    dy_error err;
    snprintf(path, sizeof path, "%s/%s", configs_dir, name);
    if (dy_dysco_config_load(path, c, &err)) fail_msg("%s", err.msg);
}

// Writes len bytes to a fresh file in tmp_dir and returns its path (static buffer).
static const char *yaml_bytes(const char *bytes, size_t len) {
    static char path[4096];
    static int n;
    dy_error err;
    snprintf(path, sizeof path, "%s/cfg%d.yaml", tmp_dir, n++);
    if (dy_write_file(path, bytes, len, &err)) fail_msg("%s", err.msg);
    return path;
}

static const char *yaml_file(const char *text) { return yaml_bytes(text, strlen(text)); }

static dy_dysco_config load_text(const char *text) {
    dy_dysco_config c;
    dy_error err;
    if (dy_dysco_config_load(yaml_file(text), &c, &err)) fail_msg("YAML:\n%s\nerror: %s", text, err.msg);
    return c;
}

static void assert_msg(int rc, const dy_error *err, const char *expected, const char *what) {
    if (rc == 0 || !strstr(err->msg, expected))
        fail_msg("%s\n  expected error containing: %s\n  got: %s", what, expected, rc ? err->msg : "(success)");
}

// The file of len bytes fails to load with one line that names it and holds expected.
static void assert_bytes_error(const char *bytes, size_t len, const char *expected) {
    dy_dysco_config c;
    dy_error err = {{0}};
    const char *path = yaml_bytes(bytes, len);
    assert_msg(dy_dysco_config_load(path, &c, &err), &err, expected, bytes);
    assert_non_null(strstr(err.msg, path));  // every load error names the file
    assert_null(strchr(err.msg, '\n'));      // on one line
}

static void assert_load_error(const char *text, const char *expected) { assert_bytes_error(text, strlen(text), expected); }

#define MINIMAL "selected_heads: \"[(1,2)]\"\ntop_k: 8\nstrength: 2.0\ndecay_factor: 0.75\n"

// MINIMAL without the keys that tail sets (at the start of one of its lines), then tail: a key
// given twice is an error, so a test replaces a setting rather than repeating it. Static buffer.
static const char *minimal_with(const char *tail) {
    static char text[4096];
    size_t n = 0;
    for (const char *line = MINIMAL; *line;) {
        const char *end = strchr(line, '\n') + 1, *colon = strchr(line, ':');
        char key[64];
        snprintf(key, sizeof key, "\n%.*s", (int)(colon + 1 - line), line);  // "\ntop_k:"
        if (strncmp(tail, key + 1, strlen(key + 1)) != 0 && !strstr(tail, key)) {
            memcpy(text + n, line, (size_t)(end - line));
            n += (size_t)(end - line);
        }
        line = end;
    }
    if (n + strlen(tail) >= sizeof text) fail_msg("minimal_with: tail too long");
    strcpy(text + n, tail);
    return text;
}

static void assert_pairs(const dy_dysco_config *c, const int (*pairs)[2], int n) {
    assert_int_equal(c->n_heads, n);
    for (int i = 0; i < n; i++) {
        assert_int_equal(c->heads[i].layer, pairs[i][0]);
        assert_int_equal(c->heads[i].head, pairs[i][1]);
    }
}

static void assert_templates(const dy_dysco_config *c, const int32_t *const *seqs, const int *lens, int n) {
    assert_int_equal(c->n_templates, n);
    for (int t = 0; t < n; t++) {
        assert_int_equal(c->template_start[t + 1] - c->template_start[t], lens[t]);
        assert_memory_equal(c->template_tokens + c->template_start[t], seqs[t], (size_t)lens[t] * sizeof(int32_t));
    }
}

// The values every shipped file shares (the reference's dysco_cfgs/*.yaml).
static void assert_common(const dy_dysco_config *c) {
    assert_true(c->has_select_top_k);
    assert_int_equal(c->select_top_k, 4096);
    assert_true(c->has_select_top_p);
    assert_true(c->select_top_p == 0.975);
    assert_true(c->strength == 2.0);
    assert_true(c->decay == 0.75);
    assert_int_equal(c->ctx_warmup, 8);
    assert_true(c->interv_auto);
    assert_false(c->scale_template_tokens);
    assert_true(c->dynamic);
}

static const int32_t qwen_t0[] = {151644, 8948, 198}, qwen_t1[] = {151644, 872, 198}, qwen_t2[] = {151644, 77091, 198},
                     qwen_t3[] = {151667, 271, 151668, 271};
static const int32_t *const qwen_templates[] = {qwen_t0, qwen_t1, qwen_t2, qwen_t3};
static const int qwen_lens[] = {3, 3, 3, 4};

static void test_qwen3_8b(void **state) {
    (void)state;
    static const int pairs[][2] = {{21, 31}, {21, 18}, {20, 15}, {22, 4},  {21, 11}, {20, 16}, {21, 17}, {19, 13},
                                   {21, 10}, {21, 8},  {18, 5},  {20, 14}, {19, 14}, {24, 13}, {17, 4},  {19, 28}};
    dy_dysco_config c;
    dy_error err;
    load_shipped("qwen3_8b.yaml", &c);
    assert_pairs(&c, pairs, 16);
    assert_common(&c);
    assert_templates(&c, qwen_templates, qwen_lens, 4);
    assert_int_equal(dy_dysco_max_layer(&c), 24);
    assert_int_equal(dy_dysco_config_validate(&c, 36, 32, "qwen3_8b.yaml", &err), 0);
}

static void test_qwen3_4b(void **state) {
    (void)state;
    static const int pairs[][2] = {{20, 15}, {21, 18}, {21, 31}, {22, 4},  {21, 11}, {24, 29}, {21, 10}, {20, 16},
                                   {21, 8},  {21, 17}, {23, 30}, {20, 14}, {20, 13}, {24, 13}, {20, 4},  {18, 19}};
    dy_dysco_config c;
    dy_error err;
    load_shipped("qwen3_4b.yaml", &c);
    assert_pairs(&c, pairs, 16);
    assert_common(&c);
    assert_templates(&c, qwen_templates, qwen_lens, 4);
    assert_int_equal(dy_dysco_max_layer(&c), 24);
    assert_int_equal(dy_dysco_config_validate(&c, 36, 32, "qwen3_4b.yaml", &err), 0);
}

static void test_llama3_8b(void **state) {
    (void)state;
    static const int pairs[][2] = {{17, 24}, {14, 31}, {17, 26}, {16, 19}, {16, 25}, {13, 1},  {14, 22}, {13, 16},
                                   {14, 20}, {14, 3},  {14, 1},  {17, 27}, {16, 26}, {17, 21}, {16, 27}, {19, 3}};
    static const int32_t t0[] = {128000}, t1[] = {128006, 9125, 128007, 271}, t2[] = {128009, 128006, 882, 128007, 271},
                         t3[] = {128009, 128006, 78191, 128007, 271};
    static const int32_t *const seqs[] = {t0, t1, t2, t3};
    static const int lens[] = {1, 4, 5, 5};
    dy_dysco_config c;
    dy_error err;
    load_shipped("llama3_8b.yaml", &c);
    assert_pairs(&c, pairs, 16);
    assert_common(&c);
    assert_templates(&c, seqs, lens, 4);
    assert_int_equal(dy_dysco_max_layer(&c), 19);
    assert_int_equal(dy_dysco_config_validate(&c, 32, 32, "llama3_8b.yaml", &err), 0);
    assert_msg(dy_dysco_config_validate(&c, 16, 32, "llama3_8b.yaml", &err), &err,
               "llama3_8b.yaml: selected_heads: (17, 24): layer 17 out of range for a 16-layer model", "16 layers");
}

static void test_defaults(void **state) {
    (void)state;
    dy_dysco_config c;
    dy_dysco_config_defaults(&c);
    assert_int_equal(c.n_heads, 0);
    assert_false(c.has_select_top_k);
    assert_false(c.has_select_top_p);
    assert_true(isnan(c.strength) && isnan(c.decay));
    assert_int_equal(c.ctx_warmup, 0);
    assert_true(c.interv_auto);
    assert_false(c.scale_template_tokens);
    assert_int_equal(c.n_templates, 0);
    assert_true(c.dynamic);
    assert_int_equal(dy_dysco_max_layer(&c), -1);

    // Keys absent from a file keep these defaults.
    c = load_text(MINIMAL);
    assert_int_equal(c.n_heads, 1);
    assert_int_equal(c.select_top_k, 8);
    assert_false(c.has_select_top_p);
    assert_int_equal(c.ctx_warmup, 0);
    assert_true(c.interv_auto && c.dynamic && !c.scale_template_tokens);
    assert_int_equal(c.n_templates, 0);
}

static void test_heads_spellings(void **state) {
    (void)state;
    static const int pairs[][2] = {{21, 31}, {21, 18}, {3, 0}};
    static const char *texts[] = {
        "[(21,31),(21,18),(3,0)]",
        "[ (21, 31) , (21,18),(3 ,0) ]",
        "\n[\n  (21,31),\n  (21,18),\n\t(3,0),\n]\n",
        "[[21,31],[21,18],[3,0]]",
        "[(21,31,),(21, 18 ,), (3,0)]",
        "[(+21,31),(21,18),(3,0)]",
    };
    dy_error err;
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        dy_dysco_config c;
        dy_dysco_config_defaults(&c);
        if (dy_dysco_parse_heads(texts[i], &c, "--dysco-heads", &err)) fail_msg("%s: %s", texts[i], err.msg);
        assert_pairs(&c, pairs, 3);
    }
    dy_dysco_config c;
    dy_dysco_config_defaults(&c);
    assert_int_equal(dy_dysco_parse_heads("[]", &c, "x", &err), 0);
    assert_int_equal(c.n_heads, 0);

    // The same in YAML: double- and single-quoted, folded over lines, a literal block.
    static const char *yamls[] = {
        "selected_heads: \"[(21,31), (21,18), (3,0)]\"\n",
        "selected_heads: '[(21,31),(21,18),(3,0)]'\n",
        "selected_heads: \"[(21,31),\n  (21,18),\n  (3,0)]\"\n",
        "selected_heads: |\n  [(21,31),\n   (21,18),\n   (3,0)]\n",
    };
    for (size_t i = 0; i < sizeof yamls / sizeof *yamls; i++) {
        c = load_text(yamls[i]);
        assert_pairs(&c, pairs, 3);
    }
}

static void test_value_spellings(void **state) {
    (void)state;
    static const char *autos[] = {"'auto'", "auto", "\"auto\""};
    for (size_t i = 0; i < 3; i++) {
        char text[256];
        snprintf(text, sizeof text, MINIMAL "intervention_warmup: %s\n", autos[i]);
        dy_dysco_config c = load_text(text);
        assert_true(c.interv_auto);
    }
    static const char *sevens[] = {"7", "'7'", "\"7\""};
    for (size_t i = 0; i < 3; i++) {
        char text[256];
        snprintf(text, sizeof text, MINIMAL "intervention_warmup: %s\n", sevens[i]);
        dy_dysco_config c = load_text(text);
        assert_false(c.interv_auto);
        assert_int_equal(c.interv_warmup, 7);
    }
    dy_dysco_config c = load_text(minimal_with("intervention_warmup: 0\nscale_template_tokens: yes\ndynamic_rescale: false\n"
                                               "top_p: 1\nstrength: 99\ndecay_factor: 0\ncontext_warmup_steps: 1\n"));
    assert_false(c.interv_auto);
    assert_int_equal(c.interv_warmup, 0);
    assert_true(c.scale_template_tokens);
    assert_false(c.dynamic);
    assert_true(c.has_select_top_p && c.select_top_p == 1.0);
    assert_true(c.strength == 99.0 && c.decay == 0.0);
    assert_int_equal(c.ctx_warmup, 1);

    c = load_text(minimal_with("dynamic_rescale: True\nscale_template_tokens: OFF\ntop_p: 9.75e-1\nstrength: .5\n"));
    assert_true(c.dynamic);
    assert_false(c.scale_template_tokens);
    assert_true(c.select_top_p == 0.975 && c.strength == 0.5);

    // null keeps the default (run_eval's cfg.get); top_k: null leaves nucleus only.
    c = load_text(minimal_with("top_k: null\ntop_p: 0.9\ncontext_warmup_steps: ~\nintervention_warmup:\n"));
    assert_false(c.has_select_top_k);
    assert_true(c.has_select_top_p);
    assert_int_equal(c.ctx_warmup, 0);
    assert_true(c.interv_auto);

    // Templates: flow and block lists, comments, an empty sequence.
    c = load_text(MINIMAL "template_sequences:\n  - [5]   # five\n  - [1, 2, 3]  # one two three\n  -\n    - 9\n    - 8\n"
                          "  - []\n");
    static const int32_t a[] = {5}, b[] = {1, 2, 3}, d[] = {9, 8};
    static const int32_t *const seqs[] = {a, b, d, a};
    static const int lens[] = {1, 3, 2, 0};
    assert_templates(&c, seqs, lens, 4);
    c = load_text(MINIMAL "template_sequences: []\n");
    assert_int_equal(c.n_templates, 0);
}

static void test_overrides(void **state) {
    (void)state;
    dy_dysco_config c;
    dy_error err;
    load_shipped("qwen3_8b.yaml", &c);
    dy_dysco_override_top_p(&c, 0);  // the authors' quick check: --dysco_top_p 0 --dysco_top_k 1024
    dy_dysco_override_top_k(&c, 1024);
    assert_false(c.has_select_top_p);
    assert_true(c.has_select_top_k);
    assert_int_equal(c.select_top_k, 1024);
    assert_int_equal(dy_dysco_config_validate(&c, 36, 32, "x", &err), 0);
    dy_dysco_override_top_k(&c, -5);
    assert_false(c.has_select_top_k);
    assert_msg(dy_dysco_config_validate(&c, 36, 32, "x", &err), &err, "x: top_k, top_p: at least one is needed",
               "both removed");
    dy_dysco_override_top_p(&c, 0.5);
    assert_true(c.has_select_top_p && c.select_top_p == 0.5);
    dy_dysco_override_top_p(&c, -1);
    assert_false(c.has_select_top_p);

    assert_int_equal(dy_dysco_parse_interv_warmup("12", &c, "--dysco-interv-warmup", &err), 0);
    assert_false(c.interv_auto);
    assert_int_equal(c.interv_warmup, 12);
    assert_int_equal(dy_dysco_parse_interv_warmup("auto", &c, "--dysco-interv-warmup", &err), 0);
    assert_true(c.interv_auto);
    assert_msg(dy_dysco_parse_interv_warmup("-1", &c, "--dysco-interv-warmup", &err), &err,
               "--dysco-interv-warmup: expected 'auto' or a non-negative integer, got \"-1\"", "-1");
    assert_msg(dy_dysco_parse_interv_warmup("", &c, "--dysco-interv-warmup", &err), &err, "got \"\"", "empty");
    assert_true(c.interv_auto);  // unchanged by the failures
}

static void assert_invalid(const char *yaml_tail, const char *expected) {
    dy_dysco_config c = load_text(minimal_with(yaml_tail));
    dy_error err = {{0}};
    assert_msg(dy_dysco_config_validate(&c, 36, 32, "cfg.yaml", &err), &err, expected, yaml_tail);
    assert_non_null(strstr(err.msg, "cfg.yaml: "));
}

static void test_validation_errors(void **state) {
    (void)state;
    assert_invalid("selected_heads: \"[(1,2),(40,3)]\"\n",
                   "cfg.yaml: selected_heads: (40, 3): layer 40 out of range for a 36-layer model");
    assert_invalid("selected_heads: \"[(-1,3)]\"\n", "selected_heads: (-1, 3): layer -1 out of range for a 36-layer model");
    assert_invalid("selected_heads: \"[(35,32)]\"\n",
                   "selected_heads: (35, 32): head 32 out of range for a model with 32 query heads");
    assert_invalid("selected_heads: \"[(3,-2)]\"\n", "selected_heads: (3, -2): head -2 out of range");
    assert_invalid("selected_heads: \"[]\"\n", "selected_heads: missing (at least one (layer, head) pair)");
    assert_invalid("top_k: -3\n", "top_k: must be at least 1, got -3");
    assert_invalid("top_k: 0\n", "top_k: must be at least 1, got 0");
    assert_invalid("top_k: null\n", "top_k, top_p: at least one is needed");
    assert_invalid("top_p: 0\n", "top_p: must be in (0, 1], got 0");
    assert_invalid("top_p: 1.5\n", "top_p: must be in (0, 1], got 1.5");
    assert_invalid("top_p: -0.2\n", "top_p: must be in (0, 1], got -0.2");
    assert_invalid("strength: 0\n", "strength: must be positive, got 0");
    assert_invalid("strength: -2\n", "strength: must be positive, got -2");
    assert_invalid("strength: null\n", "strength: missing");
    assert_invalid("decay_factor: -0.1\n", "decay_factor: must be at least 0, got -0.1");
    assert_invalid("decay_factor: ~\n", "decay_factor: missing");
    assert_invalid("context_warmup_steps: -1\n", "context_warmup_steps: must be at least 0, got -1");

    // Edges that pass: p = 1, decay 0, k = 1, the last layer and head.
    dy_dysco_config c = load_text(minimal_with("top_p: 1\ndecay_factor: 0\ntop_k: 1\nselected_heads: \"[(35,31)]\"\n"));
    dy_error err;
    assert_int_equal(dy_dysco_config_validate(&c, 36, 32, "x", &err), 0);
    c.interv_auto = false;
    c.interv_warmup = -1;  // only reachable through the struct: both parsers refuse it
    assert_msg(dy_dysco_config_validate(&c, 36, 32, "x", &err), &err, "x: intervention_warmup: must be at least 0, got -1",
               "Wi < 0");
}

static void test_prompt_check(void **state) {
    (void)state;
    dy_dysco_config c;
    dy_error err;
    load_shipped("qwen3_8b.yaml", &c);  // Wc = 8
    assert_int_equal(dy_dysco_check_prompt(&c, 7, 16, &err), 0);  // T = 15: one prompt token prefilled
    assert_msg(dy_dysco_check_prompt(&c, 7, 15, &err), &err,
               "prompt: context_warmup_steps 8 + intervention_warmup 7 leave no prefill for a 15-token prompt", "T = N");
    assert_msg(dy_dysco_check_prompt(&c, 7, 4, &err), &err, "leave no prefill for a 4-token prompt", "T > N");
    c.ctx_warmup = 0;
    assert_msg(dy_dysco_check_prompt(&c, 0, 100, &err), &err,
               "context_warmup_steps + intervention_warmup is 0: DySCO holds back at least one prompt token", "T = 0");
    assert_int_equal(dy_dysco_check_prompt(&c, 1, 2, &err), 0);
    c.ctx_warmup = 1;
    assert_int_equal(dy_dysco_check_prompt(&c, 0, 2, &err), 0);
    assert_msg(dy_dysco_check_prompt(&c, 0, 1, &err), &err, "for a 1-token prompt", "N = 1");
}

static void test_load_errors(void **state) {
    (void)state;
    dy_dysco_config c;
    dy_error err;
    assert_int_equal(dy_dysco_config_load("/nonexistent/dysco.yaml", &c, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/dysco.yaml: cannot open"));

    assert_load_error(MINIMAL "selection_method: hybrid\n",
                      "selection_method: unknown key (selected_heads, top_k, top_p, strength, decay_factor, "
                      "context_warmup_steps, intervention_warmup, scale_template_tokens, template_sequences, dynamic_rescale)");
    assert_load_error(MINIMAL "top_K: null\n", "top_K: unknown key");
    assert_load_error("", "empty, expected a mapping of DySCO settings");
    assert_load_error("# only a comment\n", "empty, expected a mapping");
    assert_load_error("- 1\n- 2\n", "expected a mapping of DySCO settings");
    assert_load_error("top_k: [1\n", "line 2: not valid YAML");
    assert_load_error("? [a, b]\n: 1\n", "a key is not a plain name");

    // selected_heads: malformed strings and wrong node types.
    static const char heads_expected[] = "selected_heads: expected a list of (layer, head) pairs such as \"[(21,31),(21,18)]\"";
    assert_load_error("selected_heads: \"(21,31)\"\n", heads_expected);
    assert_load_error("selected_heads: \"[(21,31),(21]\"\n", "stopped at character 13");
    assert_load_error("selected_heads: \"[(21;31)]\"\n", "stopped at character 5");
    assert_load_error("selected_heads: \"[(21,31) (21,18)]\"\n", "stopped at character 10");
    assert_load_error("selected_heads: \"[(a,b)]\"\n", heads_expected);
    assert_load_error("selected_heads: \"[(21,31,4)]\"\n", heads_expected);
    assert_load_error("selected_heads: \"[(21,31)\"\n", heads_expected);
    assert_load_error("selected_heads: \"[(21,31)] x\"\n", "text follows the closing ']'");
    assert_load_error("selected_heads: \"[(99999999999,1)]\"\n", heads_expected);
    assert_load_error("selected_heads: [[21,31]]\n", "selected_heads: expected a string such as \"[(21,31),(21,18)]\"");

    // Wrong types, each naming its field.
    assert_load_error(minimal_with("top_k: 4096.5\n"), "top_k: expected an integer");
    assert_load_error(minimal_with("top_k: '4096'\n"), "top_k: expected an integer");
    assert_load_error(minimal_with("top_k: [1]\n"), "top_k: expected an integer");
    assert_load_error(minimal_with("top_k: 99999999999\n"), "top_k: expected an integer");
    assert_load_error(MINIMAL "top_p: high\n", "top_p: expected a number");
    assert_load_error(MINIMAL "top_p: '0.9'\n", "top_p: expected a number");
    assert_load_error(MINIMAL "top_p: .inf\n", "top_p: expected a number");
    assert_load_error(minimal_with("strength: [2]\n"), "strength: expected a number");
    assert_load_error(minimal_with("strength: 1e999\n"), "strength: expected a number");
    assert_load_error(minimal_with("decay_factor: {a: 1}\n"), "decay_factor: expected a number");
    assert_load_error(MINIMAL "context_warmup_steps: 8.0\n", "context_warmup_steps: expected an integer");
    assert_load_error(MINIMAL "intervention_warmup: -3\n",
                      "intervention_warmup: expected 'auto' or a non-negative integer, got \"-3\"");
    assert_load_error(MINIMAL "intervention_warmup: Auto\n", "intervention_warmup: expected 'auto' or a non-negative integer");
    assert_load_error(MINIMAL "intervention_warmup: [7]\n", "intervention_warmup: expected 'auto' or a non-negative integer");
    assert_load_error(MINIMAL "scale_template_tokens: 1\n", "scale_template_tokens: expected true or false");
    assert_load_error(MINIMAL "dynamic_rescale: 'True'\n", "dynamic_rescale: expected true or false");
    assert_load_error(MINIMAL "template_sequences: [1, 2]\n", "template_sequences: entry 1: expected a list of token ids");
    assert_load_error(MINIMAL "template_sequences:\n  - [1]\n  - [2, x]\n",
                      "template_sequences: entry 2: expected a list of token ids");
    assert_load_error(MINIMAL "template_sequences: [[-1]]\n", "template_sequences: entry 1: expected a list of token ids");
    assert_load_error(MINIMAL "template_sequences: 5\n", "template_sequences: expected a list of token-id lists");
}

static void test_limits(void **state) {
    (void)state;
    dy_dysco_config c;
    dy_dysco_config_defaults(&c);
    dy_error err;
    char text[8192] = "[";
    for (int i = 0; i <= DY_DYSCO_MAX_HEADS; i++) strcat(text, "(1,2),");
    strcat(text, "]");
    assert_msg(dy_dysco_parse_heads(text, &c, "--dysco-heads", &err), &err, "--dysco-heads: more than 256 pairs", "257");
    text[strlen(text) - 7] = ']';  // 256 pairs, then a trailing comma
    text[strlen(text) - 6] = 0;
    assert_int_equal(dy_dysco_parse_heads(text, &c, "--dysco-heads", &err), 0);
    assert_int_equal(c.n_heads, DY_DYSCO_MAX_HEADS);

    char yaml[16384];
    int n = snprintf(yaml, sizeof yaml, MINIMAL "template_sequences:\n");
    for (int i = 0; i <= DY_DYSCO_MAX_TEMPLATES; i++) n += snprintf(yaml + n, sizeof yaml - (size_t)n, "  - [1]\n");
    assert_load_error(yaml, "template_sequences: more than 64 sequences");
    n = snprintf(yaml, sizeof yaml, MINIMAL "template_sequences:\n  - [");
    for (int i = 0; i <= DY_DYSCO_MAX_TEMPLATE_TOKENS; i++) n += snprintf(yaml + n, sizeof yaml - (size_t)n, "7,");
    snprintf(yaml + n, sizeof yaml - (size_t)n, "7]\n");
    assert_load_error(yaml, "template_sequences: more than 1024 tokens in all");
}

// Text made of n copies of piece between head and tail (malloc'd).
static char *repeated(const char *head, const char *piece, int n, const char *tail) {
    const size_t h = strlen(head), p = strlen(piece);
    char *text = xmalloc(h + (size_t)n * p + strlen(tail) + 1);
    memcpy(text, head, h);
    for (int i = 0; i < n; i++) memcpy(text + h + (size_t)i * p, piece, p);
    strcpy(text + h + (size_t)n * p, tail);
    return text;
}

// Issue 15: 100,000 nested '[' (200 KB) took 19 s of CPU before libyaml answered; 100,000 anchors
// took a minute in its loader. Each is refused at its first event past the rule.
static void test_bounded_work(void **state) {
    (void)state;
    static const struct {
        const char *head, *piece, *tail, *expected;
        int n;
        bool minimal;  // head is minimal_with(head)
    } cases[] = {
        {"", "[", "", "line 1: nested deeper than 32", 100000, false},
        {"", "{", "", "line 1: nested deeper than 32", 100000, false},
        {"", "- ", "x\n", "line 1: nested deeper than 32", 100000, false},
        {"template_sequences:\n", "  ", "x\n", "template_sequences: expected a list of token-id lists", 1, true},
        {"top_k: [", "1, ", "1]\n", "top_k: expected an integer", 200000, true},
        {"template_sequences: [", "[1], ", "[1]]\n", "template_sequences: more than 64 sequences", 200000, true},
        {"strength: ", "9", "\n", "strength: expected a number", 1000000, true},
        {"a: &a [1, 1]\nb: &b [", "*a, ", "*a]\n", "line 1: anchors (&name) and aliases (*name) are not supported", 1000, false},
        {"top_k: ", "*x", "\n", "line 4: anchors (&name) and aliases (*name) are not supported", 1, true},
        {"selected_heads: \"[(1,2)]", "\\0", "junk\"\n", "line 4: a string holds a NUL character", 1, true},
        {"---\n", "top_k: 9\n", "", "line 5: a second YAML document", 1, true},
        {"top_k: [1\n", "", "", "line 5: not valid YAML", 0, true},  // syntax errors come first
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *text = repeated(cases[i].minimal ? minimal_with(cases[i].head) : cases[i].head, cases[i].piece, cases[i].n,
                              cases[i].tail);
        assert_load_error(text, cases[i].expected);
        free(text);
    }
    // At the limit: the root mapping and 31 lists pass the first reading (and top_k refuses a
    // list); one more list is too deep.
    for (int lists = 31; lists <= 32; lists++) {
        char *closing = repeated("", "]", lists, "\n"), *text = repeated(minimal_with("top_k: "), "[", lists, closing);
        assert_load_error(text, lists == 31 ? "top_k: expected an integer" : "line 4: nested deeper than 32");
        free(text);
        free(closing);
    }
}

// PyYAML keeps a key's later value without a word, so a second top_k further down a file
// silently won. A key twice in any one mapping is an error naming the line, the key and the line
// of its first use; mappings apart may share keys.
static void test_duplicate_keys(void **state) {
    (void)state;
    assert_load_error(MINIMAL "top_k: 4\n", "line 5: key \"top_k\" appears twice in one mapping (first on line 2)");
    assert_load_error(MINIMAL "top_p: 0.9\ntop_p: null\n", "line 6: key \"top_p\" appears twice in one mapping (first on line 5)");
    // Keys compare by their text: quoted or plain, the same key.
    assert_load_error(MINIMAL "'strength': 3\n", "line 5: key \"strength\" appears twice in one mapping (first on line 3)");
    // Nested mappings (refused later as values) are checked too, each apart.
    assert_load_error(minimal_with("top_k: {a: 1, b: 2, a: 3}\n"), "line 4: key \"a\" appears twice in one mapping (first on line 4)");
    assert_load_error(minimal_with("top_k:\n  a:\n    a: 1\n  b: 2\n  a: 3\n"),
                      "line 8: key \"a\" appears twice in one mapping (first on line 5)");
    assert_load_error(minimal_with("template_sequences: [{a: 1}, {a: 2}]\n"),
                      "template_sequences: entry 1: expected a list of token ids");
    // The empty key (fuzz_dysco_config found a null arena pointer offset by 0 for the first one).
    assert_load_error("\"\": 1\n\"\": 2\n", "line 2: key \"\" appears twice in one mapping (first on line 1)");
    assert_load_error("?\n", ": unknown key (selected_heads,");
    // The key as far as one line shows it.
    assert_load_error(MINIMAL "\"a\\nb\": 1\n\"a\\nb\": 2\n", "line 6: key \"a\" appears twice in one mapping (first on line 5)");
}

// A NUL byte anywhere in the file (once cut by nothing: libyaml's reader refused it but the line
// named was always 1) names its byte; so do the reader's other errors.
static void test_nul_bytes(void **state) {
    (void)state;
    static const struct {
        const char *before, *after;  // the file is before, a NUL byte, after
    } cases[] = {{MINIMAL "top_p: 0.", "9\n"}, {"# a", "comment\n" MINIMAL}, {MINIMAL, ""}, {"", MINIMAL}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char bytes[256], expected[64];
        const size_t at = strlen(cases[i].before), len = at + 1 + strlen(cases[i].after);
        memcpy(bytes, cases[i].before, at);
        bytes[at] = '\0';
        memcpy(bytes + at + 1, cases[i].after, len - at - 1);
        snprintf(expected, sizeof expected, "not valid YAML: a NUL byte at byte %zu", at);
        assert_bytes_error(bytes, len, expected);
    }
    char expected[64];
    snprintf(expected, sizeof expected, "not valid YAML: invalid leading UTF-8 octet at byte %zu", strlen(MINIMAL "top_p: 0.9"));
    assert_load_error(MINIMAL "top_p: 0.9\xff\n", expected);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "CONFIGS_DYSCO_DIR", &configs_dir, NULL);
    tmp_dir = make_temp_dir("dysco-config");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3_8b),          cmocka_unit_test(test_qwen3_4b),
        cmocka_unit_test(test_llama3_8b),         cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_heads_spellings),   cmocka_unit_test(test_value_spellings),
        cmocka_unit_test(test_overrides),         cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_prompt_check),      cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_limits),            cmocka_unit_test(test_bounded_work),
        cmocka_unit_test(test_duplicate_keys),    cmocka_unit_test(test_nul_bytes),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(tmp_dir);
    free(tmp_dir);
    return rc;
}

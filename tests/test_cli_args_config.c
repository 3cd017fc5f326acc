// The run config (runtime/cli/cli_args_config.c) on a table of every kind of option: each key
// spelled with '_' or '-' lands in its row, the command line overrides the file whichever comes
// first, null and an empty file keep the defaults, and every bad file is one line naming the file
// and the key (or the line) with DY_ARGS_BAD_FILE.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cli/cli_args.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

static char *dir;
static const char *config_path, *name, *device;
static int64_t max_tokens;
static double scale;
static bool verbose, tie, tie_given;

static const char *const DEVICES[] = {"cpu", "cuda", NULL};
static const dy_option ROWS[] = {
    {"--config", "RUN.yaml", "the run config", .string = &config_path},
    {"--name", "NAME", "a string", .string = &name},
    {"--max-tokens", "N", "an integer", .integer = &max_tokens, .min = 1, .max = 1000},
    {"--scale", "X", "a number", .number = &scale, .lower = 0.5},
    {"--device", NULL, "a choice", .string = &device, .choices = DEVICES},
    {"--verbose", NULL, "a flag", .flag = &verbose},
    {"--no-tie", NULL, "a clearing flag", .flag = &tie, .clears = true, .given = &tie_given},
};
static dy_args_config config = {.option = "--config"};
static const dy_args_spec SPEC = {.verb = "demo", .usage = "usage: dysco demo [options]\n", .options = ROWS,
                                  .n_options = DY_COUNT_OF(ROWS), .config = &config};

static int reset_defaults(void **state) {
    (void)state;
    dy_args_config_free(&config);
    config_path = name = NULL;
    device = "cpu";
    max_tokens = 16;
    scale = 1.5;
    verbose = tie_given = false;
    tie = true;
    return 0;
}

// Writes len bytes to dir/run.yaml; returns the path (a static buffer: one file at a time).
static const char *write_config(const char *bytes, size_t len) {
    static char path[PATH_MAX];
    dy_error err;
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    if (dy_write_file(path, bytes, len, &err)) fail_msg("%s", err.msg);
    return path;
}

// Parses {"demo", "--config", path, args...} (args NULL-terminated; before_config puts them
// first instead).
static dy_args_outcome parse_with(const char *path, const char *const *args, bool before_config, dy_error *err) {
    char *argv[16] = {"demo"};
    int argc = 1;
    if (!before_config) argv[argc++] = "--config", argv[argc++] = (char *)path;
    for (int i = 0; args[i]; i++) argv[argc++] = (char *)args[i];
    if (before_config) argv[argc++] = "--config", argv[argc++] = (char *)path;
    return dy_args_parse(&SPEC, argc, argv, err);
}

static dy_args_outcome parse_text(const char *yaml, const char *const *args, dy_error *err) {
    return parse_with(write_config(yaml, strlen(yaml)), args, false, err);
}

static const char *const NO_ARGS[] = {NULL};

static void test_every_kind_and_both_spellings(void **state) {
    (void)state;
    dy_error err;
    const char *yaml = "name: \"a b\"\nmax_tokens: 64\nscale: 2.5e0\ndevice: cuda\nverbose: true\nno-tie: True\n";
    if (parse_text(yaml, NO_ARGS, &err) != DY_ARGS_PARSED) fail_msg("%s", err.msg);
    assert_string_equal(name, "a b");
    assert_int_equal(max_tokens, 64);
    assert_true(scale == 2.5);
    assert_string_equal(device, "cuda");
    assert_true(verbose && tie_given);
    assert_false(tie);  // --no-tie: true clears
    reset_defaults(NULL);
    if (parse_text("max-tokens: 7\nverbose: false\nno_tie: false\n", NO_ARGS, &err) != DY_ARGS_PARSED) fail_msg("%s", err.msg);
    assert_int_equal(max_tokens, 7);
    assert_false(verbose);
    assert_true(tie && tie_given);  // --no-tie: false is its opposite
}

// The file says 64; the command line's 32 wins before and after --config.
static void test_command_line_overrides(void **state) {
    (void)state;
    dy_error err;
    static const char yaml[] = "max_tokens: 64\nname: file\n";
    const char *path = write_config(yaml, strlen(yaml));
    const char *args[] = {"--max-tokens", "32", NULL};
    for (int before = 0; before < 2; before++) {
        reset_defaults(NULL);
        if (parse_with(path, args, before, &err) != DY_ARGS_PARSED) fail_msg("%s", err.msg);
        assert_int_equal(max_tokens, 32);
        assert_string_equal(name, "file");  // what the command line leaves alone stays the file's
        assert_string_equal(config_path, path);
    }
}

static void test_null_and_empty_keep_defaults(void **state) {
    (void)state;
    dy_error err;
    static const char *const files[] = {"", "# only a comment\n", "~\n", "---\n", "max_tokens: ~\nname:\nverbose: null\n"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        reset_defaults(NULL);
        if (parse_text(files[i], NO_ARGS, &err) != DY_ARGS_PARSED) fail_msg("[%s]: %s", files[i], err.msg);
        assert_int_equal(max_tokens, 16);
        assert_null(name);
        assert_false(verbose);
    }
}

// --help wins without reading the file; a bad command line after a good file is still a usage error.
static void test_help_and_usage_errors(void **state) {
    (void)state;
    dy_error err;
    const char *help[] = {"--help", NULL}, *bogus[] = {"--bogus", NULL};
    assert_int_equal(parse_with("/nonexistent/run.yaml", help, false, &err), DY_ARGS_HELP);
    assert_int_equal(parse_text("max_tokens: 5\n", bogus, &err), DY_ARGS_INVALID);
    assert_string_equal(err.msg, "demo: unknown option '--bogus' (see dysco demo --help)");
}

static void test_bad_files(void **state) {
    (void)state;
    const struct {
        const char *yaml;
        size_t len;  // 0: strlen
        const char *message;  // after "DIR/run.yaml: "
    } cases[] = {
        {"max_tokens: 5\nbogus: 1\n", 0, "bogus: unknown key (the keys are dysco demo's options without the leading --; see dysco demo --help)"},
        {"--max-tokens: 5\n", 0, "--max-tokens: unknown key (the keys are dysco demo's options without the leading --; see dysco demo --help)"},
        {"help: true\n", 0, "help: unknown key (the keys are dysco demo's options without the leading --; see dysco demo --help)"},
        {"max_tokens: [64]\n", 0, "max_tokens: expected an integer, not a list"},
        {"name: {a: 1}\n", 0, "name: expected a string, not a mapping"},
        {"verbose:\n  - true\n", 0, "verbose: expected true or false, not a list"},
        {"max_tokens: 6x4\n", 0, "max_tokens: expected an integer in [1, 1000], got '6x4'"},
        {"max_tokens: 1e3\n", 0, "max_tokens: expected an integer in [1, 1000], got '1e3'"},
        {"max_tokens: 1001\n", 0, "max_tokens: expected an integer in [1, 1000], got '1001'"},
        {"max_tokens: \"64\"\n", 0, "max_tokens: expected an integer, got a quoted string"},
        {"scale: .inf\n", 0, "scale: expected a number >= 0.5, got '.inf'"},
        {"scale: 0.1\n", 0, "scale: expected a number >= 0.5, got '0.1'"},
        {"verbose: maybe\n", 0, "verbose: expected true or false, got 'maybe'"},
        {"verbose: \"true\"\n", 0, "verbose: expected true or false, got a quoted string"},
        {"device: \"tpu\\nx\"\n", 0, "device: expected cpu or cuda, got 'tpu'"},  // one line
        {"max_tokens: 5\nmax_tokens: 6\n", 0, "line 2: key \"max_tokens\" appears twice in one mapping (first on line 1)"},
        {"max_tokens: 5\nmax-tokens: 6\n", 0, "max-tokens: line 2: --max-tokens again (first on line 1; '_' and '-' spell the same option)"},
        {"config: other.yaml\n", 0, "config: a run config cannot name another (give --config on the command line)"},
        {"max_tokens: 5\nname: [a\n", 0, "line 3: not valid YAML: did not find expected ',' or ']'"},
        {"- max_tokens\n", 0, "expected a mapping of dysco demo options (KEY: VALUE lines)"},
        {"64\n", 0, "expected a mapping of dysco demo options (KEY: VALUE lines)"},
        {"? [a]\n: 1\n", 0, "line 1: a key is not an option's name"},
        {"max_tokens: 5\n---\nname: x\n", 0, "line 2: a second YAML document (one mapping of settings expected)"},
        {"name: &n x\n", 0, "line 1: anchors (&name) and aliases (*name) are not supported"},
        {"name: \"a\\0b\"\n", 0, "line 1: a string holds a NUL character"},
        {"name: a\0b\n", 10, "not valid YAML: a NUL byte at byte 7"},
    };
    char want[PATH_MAX + 256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        reset_defaults(NULL);
        dy_error err = {{0}};
        const size_t len = cases[i].len ? cases[i].len : strlen(cases[i].yaml);
        const char *path = write_config(cases[i].yaml, len);
        snprintf(want, sizeof want, "%s: %s", path, cases[i].message);
        if (parse_with(path, NO_ARGS, false, &err) != DY_ARGS_BAD_FILE || strcmp(err.msg, want) != 0)
            fail_msg("[%s]:\n  expected [%s]\n  got      [%s]", cases[i].yaml, want, err.msg);
    }
    dy_error err;
    assert_int_equal(parse_with("/nonexistent/run.yaml", NO_ARGS, false, &err), DY_ARGS_BAD_FILE);
    assert_string_equal(err.msg, "/nonexistent/run.yaml: cannot open: No such file or directory");
}

// Nesting is bounded as in every settings file (runtime/util/yaml_reader.h): 100,000 '[' are
// refused at the first past the limit, not scanned at O(depth) a token.
static void test_nesting_is_bounded(void **state) {
    (void)state;
    enum { DEPTH = 100000 };
    char *yaml = xmalloc(2 * DEPTH + 16);
    strcpy(yaml, "name: ");
    memset(yaml + 6, '[', DEPTH);
    memset(yaml + 6 + DEPTH, ']', DEPTH);
    strcpy(yaml + 6 + 2 * DEPTH, "\n");
    dy_error err;
    const char *path = write_config(yaml, strlen(yaml));
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "%s: line 1: nested deeper than 32", path);
    assert_int_equal(parse_with(path, NO_ARGS, false, &err), DY_ARGS_BAD_FILE);
    assert_string_equal(err.msg, want);
    free(yaml);
}

int main(void) {
    dir = make_temp_dir("cli_args_config");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_kind_and_both_spellings, reset_defaults),
        cmocka_unit_test_setup(test_command_line_overrides, reset_defaults),
        cmocka_unit_test_setup(test_null_and_empty_keep_defaults, reset_defaults),
        cmocka_unit_test_setup(test_help_and_usage_errors, reset_defaults),
        cmocka_unit_test_setup(test_bad_files, reset_defaults),
        cmocka_unit_test_setup(test_nesting_is_bounded, reset_defaults),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    reset_defaults(NULL);  // the last file's strings
    rm_rf(dir);
    free(dir);
    return failed;
}

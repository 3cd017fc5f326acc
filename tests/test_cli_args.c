// The shared option parser (runtime/cli/cli_args.c): its rules on a table of every kind, then every
// verb of the dysco binary parsing through it: an unknown option, each value-taking option of the
// verb's --help without its value, a malformed number, --help itself, and defaults the usage shows
// that are the ones a run uses. argv[1] is the dysco binary.
#define _GNU_SOURCE  // open_memstream
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

#include "runtime/cli/cli.h"
#include "runtime/cli/cli_args.h"
#include "runtime/generate/generate.h"
#include "test_util.h"

static const char *dysco_bin;
static const char *const VERBS[] = {"inspect", "make-model", "tokenize", "generate", "score", "bench"};
enum { N_VERBS = sizeof VERBS / sizeof *VERBS };

// ---- the parser on a table of every kind --------------------------------------------------------

static const char *name, *positional, *device;
static int64_t count;
static double scale, offset;
static bool verbose, tie, tie_given, count_given;

static const char *const DEVICES[] = {"cpu", "cuda", NULL};
static const dy_option ROWS[] = {
    {"--name", "NAME", "a string", .string = &name},
    {.help = "numbers:"},
    {"--count", "N", "an integer", .integer = &count, .min = 1, .max = 10, .given = &count_given},
    {"--scale", "X", "a number", .number = &scale, .lower = 0.5},
    {"--offset", "X", "any number", .number = &offset, .lower = DY_OPT_ANY_FINITE, .default_text = "none"},
    {"--device", NULL, "a choice\nover two lines", .string = &device, .choices = DEVICES},
    {"--verbose", NULL, "a flag", .flag = &verbose},
    {"--tie", NULL, "on", .flag = &tie, .given = &tie_given},
    {"--no-tie", NULL, "off", .flag = &tie, .clears = true, .given = &tie_given},
};
static const dy_args_spec SPEC = {.verb = "demo", .usage = "usage: dysco demo [POS] [options]\n", .options = ROWS,
                                  .n_options = DY_COUNT_OF(ROWS), .positional = &positional};

static int reset_defaults(void **state) {
    (void)state;
    name = positional = NULL;
    device = "cpu";
    count = 3;
    scale = 1.5;
    offset = 0;
    verbose = tie = tie_given = count_given = false;
    return 0;
}

// Parses {"demo", args...} (NULL-terminated).
static dy_args_outcome parse(dy_error *err, const char *const *args) {
    char *argv[16] = {"demo"};
    int argc = 1;
    while (args[argc - 1]) argv[argc] = (char *)args[argc - 1], argc++;
    return dy_args_parse(&SPEC, argc, argv, err);
}

static void test_stores_every_kind(void **state) {
    (void)state;
    dy_error err;
    const char *args[] = {"pos", "--name", "n", "--count", "7", "--scale", "2.5", "--offset", "-3",
                          "--device", "cuda", "--verbose", "--tie", "--no-tie", NULL};
    assert_int_equal(parse(&err, args), DY_ARGS_PARSED);
    assert_string_equal(positional, "pos");
    assert_string_equal(name, "n");
    assert_int_equal(count, 7);
    assert_true(scale == 2.5 && offset == -3.0);
    assert_string_equal(device, "cuda");
    assert_true(verbose && count_given && tie_given);
    assert_false(tie);  // the last of --tie / --no-tie wins
}

static void test_absent_options_keep_defaults(void **state) {
    (void)state;
    dy_error err;
    const char *args[] = {"-", "--offset", "-2", NULL};  // "-" is an argument, "-2" a value
    assert_int_equal(parse(&err, args), DY_ARGS_PARSED);
    assert_string_equal(positional, "-");
    assert_true(offset == -2.0 && count == 3 && scale == 1.5 && !count_given && !tie_given && !verbose);
    assert_null(name);
}

static void test_help_stores_nothing(void **state) {
    (void)state;
    dy_error err;
    const char *after_value[] = {"--count", "5", "--help", NULL}, *short_form[] = {"--bogus", "-h", NULL};
    assert_int_equal(parse(&err, after_value), DY_ARGS_HELP);
    assert_int_equal(count, 3);
    assert_int_equal(parse(&err, short_form), DY_ARGS_HELP);
    const char *as_value[] = {"--name", "--help", NULL};  // the value of --name, not a request for help
    assert_int_equal(parse(&err, as_value), DY_ARGS_PARSED);
    assert_string_equal(name, "--help");
}

static void test_errors_name_the_argument(void **state) {
    (void)state;
    const struct {
        const char *args[4];
        const char *message;
    } cases[] = {
        {{"--bogus"}, "demo: unknown option '--bogus' (see dysco demo --help)"},
        {{"a", "b"}, "demo: unexpected argument 'b' (see dysco demo --help)"},
        {{"--count"}, "--count: missing value"},
        {{"--verbose", "--name"}, "--name: missing value"},
        {{"--count", "0"}, "--count: expected an integer in [1, 10], got '0'"},
        {{"--count", "11"}, "--count: expected an integer in [1, 10], got '11'"},
        {{"--count", "3x"}, "--count: expected an integer in [1, 10], got '3x'"},
        {{"--count", ""}, "--count: expected an integer in [1, 10], got ''"},
        {{"--count", "99999999999999999999"}, "--count: expected an integer in [1, 10], got '99999999999999999999'"},
        {{"--scale", "0.4"}, "--scale: expected a number >= 0.5, got '0.4'"},
        {{"--scale", "nan"}, "--scale: expected a number >= 0.5, got 'nan'"},
        {{"--scale", "inf"}, "--scale: expected a number >= 0.5, got 'inf'"},
        {{"--offset", "1e999"}, "--offset: expected a finite number, got '1e999'"},
        {{"--offset", "-inf"}, "--offset: expected a finite number, got '-inf'"},
        {{"--offset", "abc"}, "--offset: expected a finite number, got 'abc'"},
        {{"--device", "tpu"}, "--device: expected cpu or cuda, got 'tpu'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        dy_error err = {{0}};
        if (parse(&err, cases[i].args) != DY_ARGS_INVALID || strcmp(err.msg, cases[i].message) != 0)
            fail_msg("demo %s %s: expected [%s], got [%s]", cases[i].args[0], cases[i].args[1] ? cases[i].args[1] : "",
                     cases[i].message, err.msg);
    }
}

static char *usage_text(void) {
    char *text;
    size_t len;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    dy_args_print_usage(&SPEC, f);
    fclose(f);
    return text;
}

// The usage shows the destinations' values when it is printed, not text written beside the table.
static void test_usage_shows_current_defaults(void **state) {
    (void)state;
    char *text = usage_text();
    assert_true(strncmp(text, SPEC.usage, strlen(SPEC.usage)) == 0);
    assert_non_null(strstr(text, "\nnumbers:\n"));
    assert_non_null(strstr(text, "\n  --name NAME        a string\n"));              // a NULL string: no default
    assert_non_null(strstr(text, "\n  --count N          an integer\n"));            // given-tracked: no default
    assert_non_null(strstr(text, "\n  --scale X          a number (default 1.5)\n"));
    assert_non_null(strstr(text, "\n  --offset X         any number (default: none)\n"));
    assert_non_null(strstr(text, "\n  --device cpu|cuda  a choice\n"
                                 "                     over two lines (default cpu)\n"));
    assert_non_null(strstr(text, "\n  --no-tie           off\n"));
    free(text);
    scale = 4;
    device = "cuda";
    text = usage_text();
    assert_non_null(strstr(text, "a number (default 4)\n"));
    assert_non_null(strstr(text, "over two lines (default cuda)\n"));
    free(text);
}

// generate, score and bench read the method names through dy_method_parse after the parser checked them.
static void test_method_choices_parse(void **state) {
    (void)state;
    int n = 0;
    for (; dy_cli_methods[n]; n++) {
        dy_method m;
        assert_int_equal(dy_method_parse(dy_cli_methods[n], &m), 0);
    }
    assert_int_equal(n, 3);
    assert_string_equal(dy_cli_devices[0], DY_CLI_DEFAULT_DEVICE);
}

// ---- every verb of the binary ---------------------------------------------------------------------

// Exit status 2 and exactly the one line "dysco: MESSAGE" on stderr, nothing on stdout.
static void expect_usage_error(const char *args, const char *message) {
    cmd_result r = run_cmd("'%s' %s", dysco_bin, args);
    char expected[512];
    snprintf(expected, sizeof expected, "dysco: %s\n", message);
    if (r.status != DY_EXIT_USAGE || strcmp(r.err, expected) != 0 || r.out[0])
        fail_msg("dysco %s\n  expected exit 2 and stderr [%s]\n  got exit %d, stderr [%s], stdout [%s]", args, message,
                 r.status, r.err, r.out);
    assert_int_equal(count_lines(r.err), 1);
    cmd_result_free(&r);
}

static char *verb_help(const char *verb) {
    cmd_result r = run_cmd("'%s' %s --help", dysco_bin, verb);
    char head[64];
    snprintf(head, sizeof head, "usage: dysco %s ", verb);
    if (r.status != 0 || strncmp(r.out, head, strlen(head)) != 0 || r.err[0])
        fail_msg("dysco %s --help: exit %d, stdout [%.80s], stderr [%s]", verb, r.status, r.out, r.err);
    free(r.err);
    return r.out;
}

static void test_help_of_every_verb(void **state) {
    (void)state;
    for (int v = 0; v < N_VERBS; v++) {
        char *help = verb_help(VERBS[v]);
        cmd_result r = run_cmd("'%s' %s -h", dysco_bin, VERBS[v]);
        assert_int_equal(r.status, 0);
        assert_string_equal(r.out, help);
        cmd_result_free(&r);
        free(help);
    }
}

static void test_every_verb_rejects_an_unknown_option(void **state) {
    (void)state;
    for (int v = 0; v < N_VERBS; v++) {
        char args[64], message[128];
        snprintf(args, sizeof args, "%s --frobnicate", VERBS[v]);
        snprintf(message, sizeof message, "%s: unknown option '--frobnicate' (see dysco %s --help)", VERBS[v], VERBS[v]);
        expect_usage_error(args, message);
    }
}

// Every option the verb's --help lists: one with a value, last on the line, is missing it; a flag is
// accepted (the error is about what follows it). So --help lists exactly options the parser takes.
static void test_every_option_of_every_verb(void **state) {
    (void)state;
    for (int v = 0; v < N_VERBS; v++) {
        char *help = verb_help(VERBS[v]);
        int with_value = 0, flags = 0;
        for (const char *line = help; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            if (strncmp(line, "  --", 4) != 0) continue;
            char option[64], args[128], message[192];
            const size_t len = strcspn(line + 2, " \n");
            snprintf(option, sizeof option, "%.*s", (int)len, line + 2);
            const bool takes_value = line[2 + len] == ' ' && line[3 + len] != ' ';  // "--ctx N  help"
            if (takes_value) {
                snprintf(args, sizeof args, "%s %s", VERBS[v], option);
                snprintf(message, sizeof message, "%s: missing value", option);
                with_value++;
            } else {
                snprintf(args, sizeof args, "%s %s --frobnicate", VERBS[v], option);
                snprintf(message, sizeof message, "%s: unknown option '--frobnicate' (see dysco %s --help)", VERBS[v],
                         VERBS[v]);
                flags++;
            }
            expect_usage_error(args, message);
        }
        if (with_value < 3 || flags < 1)
            fail_msg("dysco %s --help: only %d options with a value and %d flags found", VERBS[v], with_value, flags);
        free(help);
    }
}

static void test_bad_values(void **state) {
    (void)state;
    const struct {
        const char *args, *message;
    } cases[] = {
        {"generate --max-new-tokens abc", "--max-new-tokens: expected an integer in [1, 16777216], got 'abc'"},
        {"score --top-k -1", "--top-k: expected an integer in [0, 2147483647], got '-1'"},
        {"bench --decode-steps 1", "--decode-steps: expected an integer in [2, 1048576], got '1'"},
        {"inspect --tp 2x", "--tp: expected an integer in [1, 1024], got '2x'"},
        {"tokenize --bench 0", "--bench: expected an integer in [1, 1000], got '0'"},
        {"make-model --init-std -0.1", "--init-std: expected a number >= 0, got '-0.1'"},
        {"make-model --rope-theta 0.5", "--rope-theta: expected a number >= 1, got '0.5'"},
        {"generate --dysco-strength 1e999", "--dysco-strength: expected a finite number, got '1e999'"},
        {"generate --dysco-decay -1", "--dysco-decay: expected a number >= 0, got '-1'"},
        {"bench --device tpu", "--device: expected cpu, cpu-bf16 or cuda, got 'tpu'"},
        {"score --method greedy", "--method: expected vanilla, dysco or attnsharp, got 'greedy'"},
        {"make-model --dtype fp16", "--dtype: expected bf16 or fp32, got 'fp16'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_usage_error(cases[i].args, cases[i].message);
}

// What `dysco VERB --help` shows as an option's default: "8192" from "(default 8192)"; malloc'd.
static char *help_default(const char *verb, const char *option) {
    char *help = verb_help(verb), start[64];
    snprintf(start, sizeof start, "\n  %s ", option);
    const char *line = strstr(help, start);
    if (!line) fail_msg("dysco %s --help: no %s", verb, option);
    const char *next = strstr(line + 1, "\n  -"), *d = strstr(line, "(default ");
    if (!d || (next && d > next)) fail_msg("dysco %s --help: %s shows no default", verb, option);
    d += strlen("(default ");
    char *value = strndup(d, strcspn(d, ")"));
    free(help);
    return value;
}

static void assert_json_number(const cJSON *o, const char *key, const char *expected) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != strtod(expected, NULL))
        fail_msg("%s: expected %s (the --help default)", key, expected);
}

static void assert_json_string(const cJSON *o, const char *key, const char *expected) {
    const cJSON *v = cJSON_GetObjectItem(o, key);
    if (!cJSON_IsString(v) || strcmp(v->valuestring, expected) != 0)
        fail_msg("%s: expected %s (the --help default)", key, expected);
}

// The defaults --help shows are what a run without the option uses.
static void test_help_defaults_are_what_runs(void **state) {
    (void)state;
    cmd_result r = run_cmd("'%s' inspect --preset tiny-qwen3 --json", dysco_bin);
    assert_int_equal(r.status, 0);
    cJSON *j = cJSON_Parse(r.out), *mem = cJSON_GetObjectItem(j, "memory_per_gpu");
    char *chunk = help_default("inspect", "--prefill-chunk"), *tp = help_default("inspect", "--tp");
    assert_json_number(mem, "prefill_chunk", chunk);
    assert_json_number(mem, "tp", tp);
    free(chunk);
    free(tp);
    cJSON_Delete(j);
    cmd_result_free(&r);

    // generate, score and bench agree on the device: cpu, so a result does not depend on the machine.
    char *device = help_default("bench", "--device"), *method = help_default("bench", "--method");
    assert_string_equal(device, "cpu");
    static const char *const generating[] = {"generate", "score"};
    for (int v = 0; v < 2; v++) {
        char *d = help_default(generating[v], "--device");
        assert_string_equal(d, device);
        free(d);
    }
    char *dir = make_temp_dir("cli-args");
    r = run_cmd("'%s' make-model '%s/m' --preset tiny-qwen3 --config-only && '%s' bench --model '%s/m' --random-weights "
                "--ctx 16 --decode-steps 2", dysco_bin, dir, dysco_bin, dir);
    if (r.status != 0) fail_msg("bench without --device: exit %d, %s", r.status, r.err);
    char *context = strchr(r.out, '\n');
    assert_non_null(context);
    *context++ = '\0';
    cJSON *machine = cJSON_Parse(r.out), *ctx = cJSON_Parse(context);
    assert_true(machine && ctx);
    assert_json_string(machine, "device", device);
    assert_json_string(ctx, "method", method);
    cJSON_Delete(machine);
    cJSON_Delete(ctx);
    cmd_result_free(&r);
    free(device);
    free(method);
    rm_rf(dir);
    free(dir);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO", &dysco_bin, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_stores_every_kind, reset_defaults),
        cmocka_unit_test_setup(test_absent_options_keep_defaults, reset_defaults),
        cmocka_unit_test_setup(test_help_stores_nothing, reset_defaults),
        cmocka_unit_test_setup(test_errors_name_the_argument, reset_defaults),
        cmocka_unit_test_setup(test_usage_shows_current_defaults, reset_defaults),
        cmocka_unit_test(test_method_choices_parse),
        cmocka_unit_test(test_help_of_every_verb),
        cmocka_unit_test(test_every_verb_rejects_an_unknown_option),
        cmocka_unit_test(test_every_option_of_every_verb),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_help_defaults_are_what_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// The list options' parsers (runtime/cli/cli_lists.c): bench's --ctx and generate's --stop-ids,
// the lists they accept and one message per kind of bad list, empty entries above all ("8192,"
// once ran one length where two were meant).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "runtime/cli/cli_lists.h"

static void expect_ctx(const char *list, int n, const int *want) {
    int ctx[DY_CLI_MAX_CONTEXTS], got;
    dy_error err;
    if (dy_cli_parse_ctx_list(list, ctx, &got, &err)) fail_msg("--ctx '%s': %s", list, err.msg);
    assert_int_equal(got, n);
    for (int i = 0; i < n; i++) assert_int_equal(ctx[i], want[i]);
}

static void expect_ctx_error(const char *list, const char *message) {
    int ctx[DY_CLI_MAX_CONTEXTS], n;
    dy_error err;
    if (dy_cli_parse_ctx_list(list, ctx, &n, &err) == 0) fail_msg("--ctx '%s' was accepted", list);
    assert_string_equal(err.msg, message);
}

static void test_ctx(void **state) {
    (void)state;
    expect_ctx("8192", 1, (const int[]){8192});
    expect_ctx("16,16777216", 2, (const int[]){16, 16777216});
    expect_ctx(" 8192 , 32768\t", 2, (const int[]){8192, 32768});

    static const char expected[] = "comma-separated lengths from 16 to 16777216";
    const struct {
        const char *list;
        int entry;
    } empty[] = {{"8192,", 2}, {",8192", 1}, {"8192,,4096", 2}, {"", 1}, {" ", 1}, {"16,32, ,64", 3}};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        char message[200];
        snprintf(message, sizeof message, "--ctx: entry %d of '%s' is empty (expected %s)", empty[i].entry, empty[i].list,
                 expected);
        expect_ctx_error(empty[i].list, message);
    }
    static const char *const wrong[] = {"15", "16777217", "+16", "-16", "8x", "8 192", "0x10", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        char message[200];
        snprintf(message, sizeof message, "--ctx: expected %s, got '%s'", expected, wrong[i]);
        expect_ctx_error(wrong[i], message);
    }
    char many[200] = "16";
    for (int i = 1; i <= DY_CLI_MAX_CONTEXTS; i++) strcat(many, ",16");
    char message[300];
    snprintf(message, sizeof message, "--ctx: more than %d lengths in '%s'", DY_CLI_MAX_CONTEXTS, many);
    expect_ctx_error(many, message);
}

static void expect_stop_ids(const char *list, int n, const int32_t *want) {
    dy_tokens ids = {0};
    dy_error err;
    if (dy_cli_parse_stop_ids(list, &ids, &err)) fail_msg("--stop-ids '%s': %s", list, err.msg);
    assert_int_equal(ids.n, n);
    for (int i = 0; i < n; i++) assert_int_equal(ids.ids[i], want[i]);
    dy_tokens_free(&ids);
}

static void expect_stop_ids_error(const char *list, const char *message) {
    dy_tokens ids = {0};
    dy_error err;
    const int rc = dy_cli_parse_stop_ids(list, &ids, &err);
    dy_tokens_free(&ids);
    if (rc == 0) fail_msg("--stop-ids '%s' was accepted", list);
    assert_string_equal(err.msg, message);
}

static void test_stop_ids(void **state) {
    (void)state;
    expect_stop_ids("1,2,3", 3, (const int32_t[]){1, 2, 3});
    expect_stop_ids("[151645, 151643]", 2, (const int32_t[]){151645, 151643});
    expect_stop_ids(" [ 7 ] ", 1, (const int32_t[]){7});
    expect_stop_ids("0,2147483647", 2, (const int32_t[]){0, INT32_MAX});

    static const char expected[] = "token ids below 2^31 such as 1,2,3 or [1, 2, 3]";
    const struct {
        const char *list;
        int entry;
    } empty[] = {{"1,", 2}, {",1", 1}, {"1,,2", 2}, {"", 1}, {"[]", 1}, {"[1,]", 2}, {"[ , 1]", 1}};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        char message[200];
        snprintf(message, sizeof message, "--stop-ids: entry %d of '%s' is empty (expected %s)", empty[i].entry,
                 empty[i].list, expected);
        expect_stop_ids_error(empty[i].list, message);
    }
    static const char *const wrong[] = {"1,x", "[1", "1]", "[", "1 2", "2147483648", "-1", "[[1]]", "(1, 2)"};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        char message[200];
        snprintf(message, sizeof message, "--stop-ids: expected %s, got '%s'", expected, wrong[i]);
        expect_stop_ids_error(wrong[i], message);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx),
        cmocka_unit_test(test_stop_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// The JSON rule every reader shares (runtime/util/json_util.h): the bytes of strings that cJSON
// takes silently, and the one token-id test. The rules the readers' own tests pin through their
// files (trailing bytes, duplicate keys, escaped NUL, lone surrogates) are not repeated here.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "runtime/util/json_util.h"

// Parses len bytes of text (which may hold NUL) and checks the outcome: NULL want_problem means
// it must parse.
static void expect_parse_bytes(const char *text, size_t len, const char *want_problem) {
    char problem[160] = "";
    cJSON *root = dy_json_parse(text, len, problem, sizeof problem);
    if (!want_problem && !root) fail_msg("%.*s: %s", (int)len, text, problem);
    if (want_problem && (root || strcmp(problem, want_problem) != 0))
        fail_msg("%.*s\n  expected: %s\n  got: %s", (int)len, text, want_problem, root ? "(parsed)" : problem);
    cJSON_Delete(root);
}
#define EXPECT_PARSE(literal, want_problem) expect_parse_bytes(literal, sizeof(literal) - 1, want_problem)

static void test_string_bytes(void **state) {
    (void)state;
    // A raw NUL inside the header length once read as the end of the name, like "\u0000".
    EXPECT_PARSE("{\"q.weight\0junk\": 1}", "not valid JSON: a NUL byte at byte 10");
    EXPECT_PARSE("{\"dtype\": \"BF16\x01x\"}", "not valid JSON: a raw control character (byte 0x01) in a string at byte 15");
    EXPECT_PARSE("{\"a\": \"tab\there\"}", "not valid JSON: a raw control character (byte 0x09) in a string at byte 10");
    EXPECT_PARSE("{\"x\xff\xfe\": 1}", "not valid JSON: invalid UTF-8 at byte 3");
    EXPECT_PARSE("{\"a\": \"\xed\xa0\x80\"}", "not valid JSON: invalid UTF-8 at byte 7");   // a surrogate's UTF-8
    EXPECT_PARSE("{\"a\": \"\xc3\"}", "not valid JSON: invalid UTF-8 at byte 7");           // cut short
    // Whitespace between values, escaped controls, escaped quotes and real UTF-8 stay valid.
    EXPECT_PARSE("{\n\t\"a\":\r\n \"\\t\\n\\\"\\\\\",\"\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80\": [\"\\u00e9\"]}", NULL);
    // The string that a quote inside an escape does not end: the byte after it is still checked.
    EXPECT_PARSE("{\"a\\\"\x01\": 1}", "not valid JSON: a raw control character (byte 0x01) in a string at byte 5");
}

// A duplicate key holding escaped controls is named with them escaped again (the error stays one
// line), and a long one cut to 60 bytes.
static void test_duplicate_key(void **state) {
    (void)state;
    EXPECT_PARSE("{\"a\\nb\\u0001\": 1, \"a\\nb\\u0001\": 2}", "not valid JSON: key \"a\\nb\\x01\" appears twice in one object");
    EXPECT_PARSE("{\"k\\t234567890123456789012345678901234567890123456789012345678901234567890\": 1, "
                 "\"k\\t234567890123456789012345678901234567890123456789012345678901234567890\": 2}",
                 "not valid JSON: key \"k\\t234567890123456789012345678901234567890123456789012345678\" appears twice in one object");
}

static void expect_token_id(const char *json, long limit, const char *want_why, long want_id) {
    cJSON *v = cJSON_Parse(json);
    assert_non_null(v);
    long id = -7;
    char why[128] = "";
    const bool ok = dy_json_token_id(v, limit, "vocab_size", &id, why, sizeof why);
    cJSON_Delete(v);
    if (!want_why && (!ok || id != want_id)) fail_msg("%s: expected id %ld, got %s (%ld)", json, want_id, ok ? "true" : why, id);
    if (want_why && (ok || strcmp(why, want_why) != 0)) fail_msg("%s\n  expected: %s\n  got: %s", json, want_why, ok ? "(an id)" : why);
}

static void test_token_id(void **state) {
    (void)state;
    expect_token_id("0", 10, NULL, 0);
    expect_token_id("9", 10, NULL, 9);
    expect_token_id("9.0", 10, NULL, 9);  // JSON has one number type: 9.0 is the whole number 9
    expect_token_id("10", 10, "10 is not below vocab_size 10", 0);
    expect_token_id("1e300", 10, "1e+300 is not below vocab_size 10", 0);  // once cast to int
    expect_token_id("9223372036854775808", 1L << 40, "9.2233720368547758e+18 is not below vocab_size 1099511627776", 0);
    expect_token_id("1.5", 10, "expected a token id (a whole number >= 0), got 1.5", 0);  // once read as 1
    expect_token_id("-1", 10, "expected a token id (a whole number >= 0), got -1", 0);
    expect_token_id("-0.25", 10, "expected a token id (a whole number >= 0), got -0.25", 0);
    expect_token_id("\"2\"", 10, "expected a token id (a whole number >= 0), got a string", 0);
    expect_token_id("true", 10, "expected a token id (a whole number >= 0), got true", 0);
    expect_token_id("null", 10, "expected a token id (a whole number >= 0), got null", 0);
    expect_token_id("[1]", 10, "expected a token id (a whole number >= 0), got a list", 0);
    expect_token_id("{}", 10, "expected a token id (a whole number >= 0), got an object", 0);
    char why[128];
    long id;
    assert_false(dy_json_token_id(NULL, 10, "vocab_size", &id, why, sizeof why));  // an absent key
    assert_string_equal(why, "expected a token id (a whole number >= 0), got no value");
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_string_bytes), cmocka_unit_test(test_duplicate_key),
                                       cmocka_unit_test(test_token_id)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

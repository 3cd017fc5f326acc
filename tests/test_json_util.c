// The JSON rule every reader shares (runtime/util/json_util.h): the bytes of strings that cJSON
// takes silently. The rules the readers' own tests pin through their
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
    EXPECT_PARSE("{\"q.weight\0junk\": 1}", "not valid JSON: a raw control character (byte 0x00) in a string at byte 10");
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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_string_bytes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}

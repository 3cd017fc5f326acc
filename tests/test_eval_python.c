// The pieces of Python that dysco eval re-implements, against Python itself (Debian's python3,
// run by the test): random.seed + random.shuffle (which examples --test-size picks),
// random.sample (HELMET's questions), json.dumps(indent=2) (the results file), str.format (the
// path_walking prompt), str.replace (LongBench v2's), str.find (the QA scorers' substring
// match), str(list) (InfiniteBench's reference output), and MD5 against RFC 1321's test suite
// (the DySCO results file name). argv: (none).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/eval/py_format.h"
#include "runtime/eval/py_json.h"
#include "runtime/eval/py_random.h"
#include "runtime/eval/py_repr.h"
#include "runtime/eval/py_text.h"
#include "runtime/util/json_util.h"
#include "runtime/util/md5.h"
#include "test_util.h"

static void test_md5_rfc1321_suite(void **state) {
    (void)state;
    // RFC 1321, appendix A.5.
    static const char *const suite[][2] = {
        {"", "d41d8cd98f00b204e9800998ecf8427e"},
        {"a", "0cc175b9c0f1b6a831c399e269772661"},
        {"abc", "900150983cd24fb0d6963f7d28e17f72"},
        {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
        {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    for (size_t i = 0; i < sizeof suite / sizeof *suite; i++) {
        char hex[33];
        dy_md5 h;
        dy_md5_init(&h);
        // In two pieces, so the partial-block path is taken too.
        const size_t n = strlen(suite[i][0]), half = n / 3;
        dy_md5_update(&h, suite[i][0], half);
        dy_md5_update(&h, suite[i][0] + half, n - half);
        dy_md5_hex(&h, hex);
        assert_string_equal(hex, suite[i][1]);
    }
}

// Python's output for a snippet (stdout, malloc'd).
static char *python(const char *code) {
    cmd_result r = run_python("python3", code);
    if (r.status != 0) fail_msg("python3 failed (%d): %s", r.status, r.err);
    free(r.err);
    return r.out;
}

static void test_shuffle_as_python(void **state) {
    (void)state;
    static const int64_t seeds[] = {42, 0, 1, -7, 23, 4294967295LL, 4294967296LL, 123456789012345LL};
    static const int sizes[] = {1, 2, 5, 20, 100, 1000, 3000};
    char code[8192] = "import random\n";
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
            snprintf(code + strlen(code), sizeof code - strlen(code),
                     "random.seed(%lld); x = list(range(%d)); random.shuffle(x); print(' '.join(map(str, x)))\n",
                     (long long)seeds[s], sizes[k]);
    char *expected = python(code), *line = expected;
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            int *x = xmalloc((size_t)sizes[k] * sizeof *x);
            for (int i = 0; i < sizes[k]; i++) x[i] = i;
            dy_py_random r;
            dy_py_random_seed(&r, seeds[s]);
            dy_py_random_shuffle(&r, x, sizes[k]);
            for (int i = 0; i < sizes[k]; i++) {
                char *end;
                const long v = strtol(line, &end, 10);
                if (end == line || v != x[i])
                    fail_msg("seed %lld, %d items: position %d is %d, Python has %.40s", (long long)seeds[s], sizes[k], i,
                             x[i], line);
                line = end;
            }
            free(x);
        }
    free(expected);
}

// Both of random.sample's ways: the shrinking pool (n at most the set size of k: 21 below k = 6,
// 21 + 4^ceil(log4(3k)) above) and redraws over the range; HELMET samples 100 of its ids.
static void test_sample_as_python(void **state) {
    (void)state;
    static const int cases[][2] = {{1, 1}, {5, 0}, {21, 5}, {22, 5}, {30, 6}, {85, 6}, {86, 6},
                                   {1000, 100}, {1045, 100}, {1046, 100}, {5000, 100}, {100, 100}};
    enum { N_CASES = sizeof cases / sizeof *cases };
    char code[4096] = "import random\n";
    for (int i = 0; i < N_CASES; i++)
        snprintf(code + strlen(code), sizeof code - strlen(code),
                 "random.seed(%d); print(' '.join(map(str, random.sample(range(%d), %d))))\n", 42 + i, cases[i][0],
                 cases[i][1]);
    char *expected = python(code), *line = expected;
    for (int i = 0; i < N_CASES; i++) {
        int *x = xmalloc((size_t)cases[i][1] * sizeof *x);
        dy_py_random r;
        dy_py_random_seed(&r, 42 + i);
        assert_int_equal(dy_py_random_sample(&r, cases[i][0], cases[i][1], x), 0);
        for (int j = 0; j < cases[i][1]; j++) {
            char *end;
            const long v = strtol(line, &end, 10);
            if (end == line || v != x[j])
                fail_msg("sample(range(%d), %d): item %d is %d, Python has %.40s", cases[i][0], cases[i][1], j, x[j], line);
            line = end;
        }
        free(x);
    }
    free(expected);
}

// str(list) of strings (InfiniteBench's reference_output) on the quoting and escaping cases of
// repr: both quotes, backslashes, control characters, non-printable and printable non-ASCII.
static void test_str_of_list_as_python(void **state) {
    (void)state;
    static const char *const items[] = {
        "plain", "it's", "say \"hi\"", "both ' and \"", "back\\slash", "tab\tnew\nline\rcr", "\x01\x1f\x7f",
        "\xc2\xa0nbsp \xc2\xad shy", "caf\xc3\xa9 \xe4\xb8\xad", "\xe2\x80\xa8 ls \xe2\x80\x8b zwsp", "\xf0\x9f\x98\x80",
        "\xee\x80\x80 private", "", "\xcc\x81 combining", "\xe3\x80\x80 ideographic space",
    };
    enum { N = sizeof items / sizeof *items };
    cJSON *list = cJSON_CreateArray();
    for (int i = 0; i < N; i++) cJSON_AddItemToArray(list, cJSON_CreateString(items[i]));
    char *json = cJSON_PrintUnformatted(list), code[4096];
    snprintf(code, sizeof code, "import json, sys\nsys.stdout.buffer.write(str(json.loads(r'''%s''')).encode())\n", json);
    char *expected = python(code), *ours = dy_py_str_of_list(list);
    assert_non_null(ours);
    assert_string_equal(ours, expected);
    free(ours);
    free(expected);
    free(json);
    cJSON_Delete(list);
}

static void test_getrandbits_as_python(void **state) {
    (void)state;
    char *expected = python("import random\nrandom.seed(2024)\nprint(' '.join(str(random.getrandbits(k)) for k in "
                            "[32, 1, 7, 31, 16, 32, 3] * 200))\n");
    const int ks[] = {32, 1, 7, 31, 16, 32, 3};
    dy_py_random r;
    dy_py_random_seed(&r, 2024);
    char *line = expected;
    for (int i = 0; i < 7 * 200; i++) {
        char *end;
        const unsigned long v = strtoul(line, &end, 10);
        assert_true(end != line);
        assert_int_equal(v, dy_py_random_bits(&r, ks[i % 7]));
        line = end;
    }
    free(expected);
}

static const char JSON_CASES[] =
    "{\"a\": [], \"b\": {}, \"c\": [1, [2, [3, {}]], {\"d\": null}], \"e\": \"\\u00e9\\u4e2d\\ud83d\\ude00 \\\" \\\\ "
    "\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f~\", \"f\": true, \"g\": false, \"h\": -12, \"i\": 0.1, \"j\": 1e-07, "
    "\"l\": 2.5e+20, \"m\": [\"x\"], \"\\u00fc\": -0.000123}";

static void test_json_dumps_as_python(void **state) {
    (void)state;
    char problem[160], code[4096];
    cJSON *v = dy_json_parse(JSON_CASES, strlen(JSON_CASES), problem, sizeof problem);
    assert_non_null(v);
    for (int indent = 0; indent <= 2; indent += 2) {
        snprintf(code, sizeof code, "import json, sys\nsys.stdout.write(json.dumps(json.loads(r'''%s'''), %s))\n",
                 JSON_CASES, indent ? "indent=2" : "");
        char *expected = python(code), *ours = dy_py_json_dumps(v, indent);
        assert_string_equal(ours, expected);
        free(expected);
        free(ours);
    }
    cJSON_Delete(v);
    // Raw floats keep Python's float form where a plain number would print as an int.
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "zero", dy_py_json_float(0));
    cJSON_AddItemToObject(o, "two", dy_py_json_float(2));
    cJSON_AddItemToObject(o, "third", dy_py_json_float(1.0 / 3));
    char *ours = dy_py_json_dumps(o, 0);
    assert_string_equal(ours, "{\"zero\": 0.0, \"two\": 2.0, \"third\": 0.3333333333333333}");
    free(ours);
    cJSON_Delete(o);
}

static void test_format_as_python(void **state) {
    (void)state;
    const char *tmpl = "[P] {{literal}} {a} and {b}{a}}}{{\n{c}";
    cJSON *fields = cJSON_CreateObject();
    cJSON_AddStringToObject(fields, "a", "x{b}y");  // a value is not formatted again
    cJSON_AddStringToObject(fields, "b", "\xc3\xa9");
    cJSON_AddStringToObject(fields, "c", "");
    char code[1024];
    snprintf(code, sizeof code,
             "import sys\nsys.stdout.buffer.write('''%s'''.format(a='x{b}y', b='\\u00e9', c='').encode())\n", tmpl);
    char *expected = python(code);
    dy_error err;
    char *ours = dy_py_format(tmpl, fields, SIZE_MAX, "t", &err);
    assert_non_null(ours);
    assert_string_equal(ours, expected);
    free(ours);
    free(expected);
    // Python raises for each of these; so does the port, naming the template.
    static const char *const bad[][2] = {
        {"a } b", "t: Single '}' encountered in format string"},
        {"a { b", "t: Single '{' encountered in format string"},
        {"{}", "t: a positional field {} (the template takes named fields only)"},
        {"{d}", "t: {d}: the example has no such field"},
        {"{a!r}", "t: {a!r}: conversions, format specs, attributes and indexes are not supported"},
        {"{a:>10}", "t: {a:>10}: conversions, format specs, attributes and indexes are not supported"},
        {"{a.upper}", "t: {a.upper}: conversions, format specs, attributes and indexes are not supported"},
        {"{a\nb}", "t: {a\\nb}: the example has no such field"},  // the error stays one line
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(dy_py_format(bad[i][0], fields, SIZE_MAX, "t", &err));
        assert_string_equal(err.msg, bad[i][1]);
    }
    cJSON_AddNumberToObject(fields, "n", 3);
    assert_null(dy_py_format("{n}", fields, SIZE_MAX, "t", &err));
    assert_string_equal(err.msg, "t: {n}: the example's value is not a string");
    // The bound on the result: "x{b}y" three times is 15 bytes.
    char *fits = dy_py_format("{a}{a}{a}", fields, 15, "t", &err);
    assert_string_equal(fits, "x{b}yx{b}yx{b}y");
    free(fits);
    assert_null(dy_py_format("{a}{a}{a}", fields, 14, "t", &err));
    assert_string_equal(err.msg, "t: the text would be longer than 14 bytes");
    cJSON_Delete(fields);
}

// str.replace over random strings of a, b and $ (hits that overlap, touch and end the text), as
// LongBench v2's prompt chains it; then the bound, checked before the result is built.
static void test_replace_as_python(void **state) {
    (void)state;
    char *expected = python("import random\nrandom.seed(11)\n"
                            "for _ in range(2000):\n"
                            "    s = ''.join(random.choice('ab$') for _ in range(random.randrange(14)))\n"
                            "    old = random.choice(['$', '$a', 'aa', '$a$', 'b$b'])\n"
                            "    new = random.choice(['', 'x', '$a$$', 'aaaa'])\n"
                            "    print('>' + s); print('>' + old); print('>' + new); print('>' + s.replace(old, new))\n");
    char *line = expected;
    for (int c = 0; c < 2000; c++) {
        char *part[4];
        for (int k = 0; k < 4; k++) {
            char *nl = strchr(line, '\n');
            if (line[0] != '>' || !nl) fail_msg("case %d: cannot read %.40s", c, line);
            *nl = '\0';
            part[k] = line + 1;
            line = nl + 1;
        }
        dy_error err;
        char *got = dy_py_replace(part[0], part[1], part[2], SIZE_MAX, "t", &err);
        if (!got || strcmp(got, part[3]) != 0)
            fail_msg("'%s'.replace('%s', '%s'): Python '%s', got '%s'", part[0], part[1], part[2], part[3], got ? got : err.msg);
        free(got);
    }
    free(expected);
    dy_error err;
    char *fits = dy_py_replace("a$Q$b$Q$", "$Q$", "1234", 10, "t", &err);
    assert_string_equal(fits, "a1234b1234");
    free(fits);
    assert_null(dy_py_replace("a$Q$b$Q$", "$Q$", "1234", 9, "t", &err));
    assert_string_equal(err.msg, "t: the text would be longer than 9 bytes");
}

// str.find over random strings of a and b (borders and partial matches everywhere), from every
// start; then the case a scan from each index took quadratic time on (a run of a, then b).
static void test_find_as_python(void **state) {
    (void)state;
    char *expected = python("import random\nrandom.seed(7)\n"
                            "for _ in range(3000):\n"
                            "    s = ''.join(random.choice('ab') for _ in range(random.randrange(16)))\n"
                            "    t = ''.join(random.choice('ab') for _ in range(random.randrange(5)))\n"
                            "    f = random.randrange(len(s) + 2)\n"
                            "    print(s or '-', t or '-', f, s.find(t, f))\n");
    char *line = expected;
    for (int c = 0; c < 3000; c++) {
        char s[32], t[32];
        long from, want;
        int used;
        if (sscanf(line, "%31s %31s %ld %ld%n", s, t, &from, &want, &used) != 4) fail_msg("case %d: cannot read %.40s", c, line);
        line += used;
        uint32_t cs[32], ct[32];
        const size_t ns = strcmp(s, "-") ? strlen(s) : 0, nt = strcmp(t, "-") ? strlen(t) : 0;
        for (size_t i = 0; i < ns; i++) cs[i] = (unsigned char)s[i];
        for (size_t i = 0; i < nt; i++) ct[i] = (unsigned char)t[i];
        const ptrdiff_t got = dy_ustr_find(cs, ns, (size_t)from, ct, nt);
        if (got != want) fail_msg("'%s'.find('%s', %ld): Python %ld, got %td", s, t, from, want, got);
    }
    free(expected);
    enum { N = 1 << 20 };
    uint32_t *hay = xmalloc(N * sizeof *hay);
    for (size_t i = 0; i < N; i++) hay[i] = 'a';
    hay[N - 1] = 'b';
    assert_int_equal(dy_ustr_find(hay, N - 1, 0, hay + N / 2, N / 2), -1);
    assert_int_equal(dy_ustr_find(hay, N, 0, hay + N / 2, N / 2), N / 2);
    free(hay);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_rfc1321_suite), cmocka_unit_test(test_shuffle_as_python),
        cmocka_unit_test(test_sample_as_python), cmocka_unit_test(test_str_of_list_as_python),
        cmocka_unit_test(test_getrandbits_as_python),
        cmocka_unit_test(test_json_dumps_as_python), cmocka_unit_test(test_format_as_python),
        cmocka_unit_test(test_replace_as_python), cmocka_unit_test(test_find_as_python),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

// HELMET's HotpotQA loaders (hotpot_nocot_*, hotpot_cot_*) and the pieces of Python and numpy
// they rest on: numpy's default_rng(seed).permutation (Hugging Face datasets' shuffle) against
// numpy itself, SHA-256 against FIPS 180-4's examples and hashlib, and the loaders' examples
// against tests/eval_hotpot_reference.py (the reference's loader code with json lines and numpy
// in the place of datasets) on tests/eval_synthetic_data.py's data (300 records: more than the
// JSON Lines reader's first 256 line slots), plus their one-line errors.
// argv: SYNTHETIC_DATA_SCRIPT REFERENCE_SCRIPT.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/eval/eval_data.h"
#include "runtime/eval/np_random.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"
#include "runtime/util/sha256.h"
#include "test_util.h"

static const char *synthetic_script, *reference_script;
static const char *python;  // an interpreter with numpy
static char *dir;           // data/ (synthetic)

// Output of a Python snippet run by the numpy interpreter (stdout, malloc'd).
static char *numpy_output(const char *code) {
    cmd_result r = run_python(python, code);
    if (r.status != 0) fail_msg("%s failed (%d): %s", python, r.status, r.err);
    free(r.err);
    return r.out;
}

static void hex(const unsigned char *d, int n, char *out) {
    for (int i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

static void test_sha256_fips_examples(void **state) {
    (void)state;
    static const char *const cases[][2] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
         "nopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        unsigned char d[32];
        char h[65];
        dy_sha256(cases[i][0], strlen(cases[i][0]), d);
        hex(d, 32, h);
        assert_string_equal(h, cases[i][1]);
    }
    // A million 'a' (FIPS 180-2 appendix B.3).
    char *a = xmalloc(1000000);
    memset(a, 'a', 1000000);
    unsigned char d[32];
    char h[65];
    dy_sha256(a, 1000000, d);
    hex(d, 32, h);
    assert_string_equal(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

// Every length 0..130 (all the padding cases: 55, 56, 63, 64 bytes...) against hashlib.
static void test_sha256_as_hashlib(void **state) {
    (void)state;
    char *expected = numpy_output("import hashlib\nfor n in range(131):\n"
                                "    print(hashlib.sha256(bytes((7 * i + n) % 256 for i in range(n))).hexdigest())\n");
    char *line = expected;
    for (int n = 0; n < 131; n++) {
        unsigned char msg[131], d[32];
        char h[65];
        for (int i = 0; i < n; i++) msg[i] = (unsigned char)((7 * i + n) % 256);
        dy_sha256(msg, (size_t)n, d);
        hex(d, 32, h);
        if (strncmp(line, h, 64) != 0) fail_msg("sha256 of %d bytes: %s, hashlib has %.64s", n, h, line);
        line = strchr(line, '\n') + 1;
    }
    free(expected);
}

static void test_permutation_as_numpy(void **state) {
    (void)state;
    // 2^31 - 1 is the largest seed the hotpot loader makes; 2^40 + 5 takes a second entropy word.
    static const uint64_t seeds[] = {0, 1, 42, 12345, 2147483647u, 1099511627781ull};
    static const int sizes[] = {1, 2, 3, 10, 100, 1000, 70000};
    char code[4096] = "import numpy as np\n";
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
            snprintf(code + strlen(code), sizeof code - strlen(code),
                     "print(' '.join(map(str, np.random.default_rng(%llu).permutation(%d))))\n",
                     (unsigned long long)seeds[s], sizes[k]);
    // The bit generator's raw outputs, which the permutation's draws are halves of.
    snprintf(code + strlen(code), sizeof code - strlen(code),
             "print(' '.join(map(str, np.random.PCG64(42).random_raw(8))))\n");
    char *expected = numpy_output(code), *line = expected;
    for (size_t s = 0; s < sizeof seeds / sizeof *seeds; s++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            int *x = xmalloc((size_t)sizes[k] * sizeof *x);
            dy_np_pcg64 g;
            dy_np_default_rng(&g, seeds[s]);
            dy_np_permutation(&g, x, sizes[k]);
            for (int i = 0; i < sizes[k]; i++) {
                char *end;
                const long v = strtol(line, &end, 10);
                if (end == line || v != x[i])
                    fail_msg("seed %llu, %d items: position %d is %d, numpy has %.40s", (unsigned long long)seeds[s],
                             sizes[k], i, x[i], line);
                line = end;
            }
            free(x);
        }
    dy_np_pcg64 g;
    dy_np_default_rng(&g, 42);
    for (int i = 0; i < 8; i++) {
        char *end;
        const unsigned long long v = strtoull(line, &end, 10);
        assert_true(end != line);
        assert_true(v == dy_np_next64(&g));
        line = end;
    }
    free(expected);
}

static cJSON *parse(const char *text) {
    char problem[160];
    cJSON *v = dy_json_parse(text, strlen(text), problem, sizeof problem);
    if (!v) fail_msg("reference output: %s", problem);
    return v;
}

// The loader's examples equal the restated reference's: prompt, reference output and item.
static void check_as_reference(const char *name) {
    cmd_result r = run_cmd("%s '%s' '%s/data' %s", python, reference_script, dir, name);
    if (r.status != 0) fail_msg("%s: %s", reference_script, r.err);
    cJSON *expected = parse(r.out);
    cmd_result_free(&r);
    dy_eval_data data;
    dy_error err;
    char data_dir[1024];
    snprintf(data_dir, sizeof data_dir, "%s/data", dir);
    if (dy_eval_data_load(name, DY_EVAL_HOTPOT, data_dir, NULL, &data, &err)) fail_msg("%s: %s", name, err.msg);
    assert_true(data.filter && data.shuffle);
    const int n = cJSON_GetArraySize(expected);
    assert_int_equal(cJSON_GetArraySize(data.examples), n);
    assert_true(n > 100);  // 100 sampled ids, and records repeating them
    const char *key;
    const int i = example_difference(data.examples, expected, &key);
    if (i >= 0) {
        char *ours = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data.examples, i), key));
        fail_msg("%s: example %d: %s differs from the reference's; ours begins %.300s", name, i, key, ours);
    }
    dy_eval_data_free(&data);
    cJSON_Delete(expected);
}

static void test_nocot_as_reference(void **state) {
    (void)state;
    check_as_reference("hotpot_nocot_8k");
    check_as_reference("hotpot_nonchat_nocot_8k");  // HELMET's loader drops "_nonchat_"
}

static void test_cot_as_reference(void **state) {
    (void)state;
    check_as_reference("hotpot_cot_8k");
}

// One data folder with the dev file of 8k replaced by text, or the demo file when demo.
static char *folder_with(const char *tag, const char *file, const char *text) {
    char *d = make_temp_dir(tag);
    cmd_result r = run_cmd("cp -r '%s/data/helmet' '%s/'", dir, d);
    assert_int_equal(r.status, 0);
    cmd_result_free(&r);
    char path[1024];
    dy_error err;
    snprintf(path, sizeof path, "%s/helmet/kilt/%s", d, file);
    if (!text) remove(path);
    else if (dy_write_file(path, text, strlen(text), &err)) fail_msg("%s", err.msg);
    return d;
}

static void expect_error(const char *name, const char *file, const char *text, const char *message) {
    char *d = folder_with("hotpot_bad", file, text);
    dy_eval_data data;
    dy_error err;
    assert_int_equal(dy_eval_data_load(name, DY_EVAL_HOTPOT, d, NULL, &data, &err), -1);
    char expected[2048];
    snprintf(expected, sizeof expected, message, d);
    if (strcmp(err.msg, expected) != 0) fail_msg("%s: got '%s', expected '%s'", name, err.msg, expected);
    rm_rf(d);
    free(d);
}

static void test_bad_files(void **state) {
    (void)state;
    static const char DEV[] = "hotpotqa-dev-multikilt_1000_k50_dep3.jsonl", DEMOS[] = "hotpotqa-train-multikilt_1000_k3_dep3.jsonl";
    static const char OK[] = "{\"id\": \"a\", \"question\": \"q\", \"answers\": [\"x\"], \"ctxs\": [{\"title\": \"t\", \"text\": \"x\"}]}\n";
    char two[1024];
    snprintf(two, sizeof two, "%s\n%s", OK, "{\"id\": \"a\", \"question\": \"q2\", \"answers\": [\"y\"], \"ctxs\": []}\n");
    expect_error("hotpot_cot_8k", DEV, NULL,
                 "%s/helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl: missing (the reference ships no HELMET data: "
                 "HELMET's scripts/download_data.sh (princeton-nlp/HELMET) fetches the kilt files into "
                 "data_eval/helmet/kilt/)");
    expect_error("hotpot_cot_8k", DEV, "{\"id\": \"a\"}\n\n[1, 2\n", "%s/helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl: line 3: "
                 "not valid JSON at byte 4");
    expect_error("hotpot_cot_8k", DEV, "{\"id\": \"a\"}\n7\n", "%s/helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl: line 2: "
                 "expected a JSON object");
    expect_error("hotpot_cot_8k", DEV, "{\"id\": \"a\"}\n{\"question\": \"q\"}\n",
                 "%s/helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl: line 2: id: missing");
    expect_error("hotpot_cot_8k", DEV, "{\"id\": \"a\", \"question\": \"q\", \"answers\": [], \"ctxs\": []}\n",
                 "%s/helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl: line 1: answers: expected a non-empty list of strings");
    expect_error("hotpot_cot_8k", DEV, "{\"id\": \"a\", \"question\": \"q\", \"answers\": [\"x\"], \"ctxs\": [{\"title\": 1}]}\n",
                 "%s/helmet/kilt/hotpotqa-dev-multikilt_1000_k50_dep3.jsonl: line 1: ctxs[0]: expected an object with string "
                 "title and text");
    expect_error("hotpot_nocot_8k", DEMOS, two,
                 "%s/helmet/kilt/hotpotqa-train-multikilt_1000_k3_dep3.jsonl: 1 distinct id values, 2 demos needed");
    // The demos are keyed as the data is.
    expect_error("hotpot_nocot_8k", DEMOS, "{\"question\": \"q\", \"answers\": [\"x\"], \"ctxs\": []}\n",
                 "%s/helmet/kilt/hotpotqa-train-multikilt_1000_k3_dep3.jsonl: line 1: id: missing");
}

int main(int argc, char **argv) {
    test_args(argc, argv, "SYNTHETIC_DATA_SCRIPT REFERENCE_SCRIPT", &synthetic_script, &reference_script, NULL);
    if (!(python = python_with_numpy())) {
        // launch/setup.sh installs python3-matplotlib, which brings numpy: without it this is a
        // broken machine, not a reason to skip.
        fprintf(stderr, "test_eval_hotpot: no python3 with numpy (Debian: python3-numpy)\n");
        return 1;
    }
    dir = make_temp_dir("eval_hotpot");
    cmd_result r = run_cmd("python3 '%s' --out '%s/data' --datasets hotpot_nocot_8k,hotpot_cot_8k --examples 300 --tokens 300",
                           synthetic_script, dir);
    if (r.status != 0) {
        fprintf(stderr, "%s: %s\n", synthetic_script, r.err);
        return 1;
    }
    cmd_result_free(&r);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_fips_examples), cmocka_unit_test(test_sha256_as_hashlib),
        cmocka_unit_test(test_permutation_as_numpy), cmocka_unit_test(test_nocot_as_reference),
        cmocka_unit_test(test_cot_as_reference),     cmocka_unit_test(test_bad_files),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(dir);
    free(dir);
    return failed;
}

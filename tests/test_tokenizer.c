// The tokenizer's mechanics on small synthetic tokenizer.json files (no downloads needed):
// merge order and ties, ignore_merges, added tokens (leftmost, longest), NFC, the \s spelling,
// the post-processor template, lossy UTF-8 decoding, and every load error.
// Parity with Hugging Face on the real Qwen3 and Llama-3.1 files is test_tokenizer_parity.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/tokenizer/tokenizer.h"
#include "test_util.h"

enum { ID_AB = 256, ID_ABC, ID_BC, ID_AA, ID_XYZ, ID_SPACE_A, ID_SPACE_C2, ID_BOS = 300, ID_TAG, ID_TAG_LONG, ID_THINK };

// A byte-level BPE tokenizer.json: ids 0..255 are the bytes, then a few merged tokens.
static cJSON *base_json(void) {
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    for (int b = 0; b < 256; b++) {
        char c[3];
        gpt2_byte_char(b, c);
        cJSON_AddNumberToObject(vocab, c, b);
    }
    cJSON_AddNumberToObject(vocab, "ab", ID_AB);
    cJSON_AddNumberToObject(vocab, "abc", ID_ABC);
    cJSON_AddNumberToObject(vocab, "bc", ID_BC);
    cJSON_AddNumberToObject(vocab, "aa", ID_AA);
    cJSON_AddNumberToObject(vocab, "xyz", ID_XYZ);
    cJSON_AddNumberToObject(vocab, "\xc4\xa0" "a", ID_SPACE_A);           // "Ġa"
    cJSON_AddNumberToObject(vocab, "\xc4\xa0" "\xc3\x82", ID_SPACE_C2);  // "ĠÂ": space + first byte of U+0085
    cJSON *merges = cJSON_AddArrayToObject(model, "merges");
    cJSON_AddItemToArray(merges, cJSON_CreateString("a b"));  // rank 0, old "left right" spelling
    cJSON *pair = cJSON_CreateArray();                        // rank 1, newer [left, right] spelling
    cJSON_AddItemToArray(pair, cJSON_CreateString("ab"));
    cJSON_AddItemToArray(pair, cJSON_CreateString("c"));
    cJSON_AddItemToArray(merges, pair);
    cJSON_AddItemToArray(merges, cJSON_CreateString("b c"));
    cJSON_AddItemToArray(merges, cJSON_CreateString("a a"));
    cJSON_AddItemToArray(merges, cJSON_CreateString("\xc4\xa0 a"));
    cJSON_AddItemToArray(merges, cJSON_CreateString("\xc4\xa0 \xc3\x82"));
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    const struct {
        int id;
        const char *content;
        bool special;
    } a[] = {{ID_BOS, "<s>", true}, {ID_TAG, "<|t|>", true}, {ID_TAG_LONG, "<|t|>x", true}, {ID_THINK, "<think>", false}};
    for (int i = 0; i < 4; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", a[i].id);
        cJSON_AddStringToObject(t, "content", a[i].content);
        cJSON_AddBoolToObject(t, "special", a[i].special);
        cJSON_AddBoolToObject(t, "normalized", false);
        cJSON_AddItemToArray(added, t);
    }
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "Sequence");
    cJSON *seq = cJSON_AddArrayToObject(pre, "pretokenizers");
    cJSON *split = cJSON_CreateObject();
    cJSON_AddStringToObject(split, "type", "Split");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(split, "pattern"), "Regex", " ?\\p{L}+|\\p{N}|\\s+(?!\\S)|\\s+|[^\\s\\p{L}\\p{N}]+");
    cJSON_AddStringToObject(split, "behavior", "Isolated");
    cJSON_AddBoolToObject(split, "invert", false);
    cJSON_AddItemToArray(seq, split);
    cJSON *bl = cJSON_CreateObject();
    cJSON_AddStringToObject(bl, "type", "ByteLevel");
    cJSON_AddBoolToObject(bl, "add_prefix_space", false);
    cJSON_AddBoolToObject(bl, "use_regex", false);
    cJSON_AddItemToArray(seq, bl);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "decoder"), "type", "ByteLevel");
    cJSON_AddNullToObject(root, "normalizer");
    cJSON_AddNullToObject(root, "post_processor");
    return root;
}

static dy_tokenizer *load(cJSON *root) {
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    dy_tokenizer *tok;
    dy_error err;
    int rc = dy_tokenizer_parse(json, strlen(json), "t/tokenizer.json", &tok, &err);
    free(json);
    if (rc) fail_msg("%s", err.msg);
    return tok;
}

static void expect_ids(dy_tokenizer *tok, const char *text, bool special, const int32_t *want, int n) {
    dy_tokens t = {0};
    dy_error err;
    if (dy_tokenizer_encode(tok, text, strlen(text), special, &t, &err)) fail_msg("%s: %s", text, err.msg);
    bool same = t.n == n;
    for (int i = 0; same && i < n; i++) same = t.ids[i] == want[i];
    if (!same) {
        char got[512] = "";
        for (int i = 0; i < t.n && strlen(got) < 480; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%d ", t.ids[i]);
        fail_msg("'%s': got [%s], expected %d ids", text, got, n);
    }
    dy_tokens_free(&t);
}
#define EXPECT(tok, text, special, ...)                                                   \
    do {                                                                                  \
        const int32_t want_[] = {__VA_ARGS__};                                            \
        expect_ids(tok, text, special, want_, (int)(sizeof want_ / sizeof want_[0]));     \
    } while (0)

static void expect_decode(dy_tokenizer *tok, const int32_t *ids, int n, bool skip, const char *want) {
    dy_error err;
    char *got = dy_tokenizer_decode(tok, ids, n, skip, &err);
    if (!got) fail_msg("%s", err.msg);
    if (strcmp(got, want) != 0) fail_msg("decoded '%s', expected '%s'", got, want);
    free(got);
}

static void test_merges_rank_order_and_ties(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    EXPECT(tok, "abc", false, ID_ABC);         // a+b (rank 0) before b+c (rank 2), then ab+c
    EXPECT(tok, "bc", false, ID_BC);
    EXPECT(tok, "aaa", false, ID_AA, 'a');     // equal ranks merge leftmost first
    EXPECT(tok, "aaaa", false, ID_AA, ID_AA);
    EXPECT(tok, "xyz", false, 'x', 'y', 'z');  // in the vocabulary, but no merges lead there
    EXPECT(tok, "abc abc", false, ID_ABC, ' ', ID_ABC);  // in " abc" a+b (rank 0) beats Ġ+a (rank 4)
    EXPECT(tok, " ax", false, ID_SPACE_A, 'x');
    EXPECT(tok, "abcabc", false, ID_ABC, ID_ABC);                 // served from the word cache the second time
    // A long word goes through the heap, not quadratic rescans.
    char *long_word = malloc(20001);
    memset(long_word, 'a', 20000);
    long_word[20000] = 0;
    dy_tokens t = {0};
    dy_error err;
    assert_int_equal(dy_tokenizer_encode(tok, long_word, 20000, false, &t, &err), 0);
    assert_int_equal(t.n, 10000);
    for (int i = 0; i < t.n; i++) assert_int_equal(t.ids[i], ID_AA);
    dy_tokens_free(&t);
    free(long_word);
    dy_tokenizer_free(tok);
}

static void test_ignore_merges(void **state) {
    (void)state;
    cJSON *root = base_json();
    cJSON_AddBoolToObject(cJSON_GetObjectItem(root, "model"), "ignore_merges", true);
    dy_tokenizer *tok = load(root);
    EXPECT(tok, "xyz", false, ID_XYZ);  // Llama-3: a word already in the vocabulary is one token
    EXPECT(tok, "xyzz", false, 'x', 'y', 'z', 'z');
    dy_tokenizer_free(tok);
}

static void test_added_tokens_leftmost_longest(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    EXPECT(tok, "ab<|t|>xab", false, ID_AB, ID_TAG_LONG, ID_AB);  // longest at the leftmost position
    EXPECT(tok, "<|t|>", false, ID_TAG);
    EXPECT(tok, "<|t|", false, '<', '|', 't', '|');
    EXPECT(tok, "<<s>>", false, '<', ID_BOS, '>');
    EXPECT(tok, "<think>ab", false, ID_THINK, ID_AB);
    assert_int_equal(dy_tokenizer_token_id(tok, "<think>"), ID_THINK);
    assert_int_equal(dy_tokenizer_token_id(tok, "abc"), ID_ABC);
    assert_int_equal(dy_tokenizer_token_id(tok, "nope"), -1);
    assert_int_equal(dy_tokenizer_n_ids(tok), ID_THINK + 1);
    dy_tokenizer_free(tok);
}

static void test_whitespace_and_nfc(void **state) {
    (void)state;
    cJSON *root = base_json();
    cJSON_DeleteItemFromObject(root, "normalizer");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "normalizer"), "type", "NFC");
    dy_tokenizer *tok = load(root);
    // U+0085 (NEL) is White_Space for the tokenizers library's regex engine, so in " NEL NEL b"
    // \s+(?!\S) takes " NEL" as one piece (where Ġ + first NEL byte merge); with PCRE2's own \s
    // the NELs would be punctuation and the space a piece alone.
    EXPECT(tok, "a \xc2\x85\xc2\x85" "b", false, 'a', ID_SPACE_C2, 0x85, 0xC2, 0x85, 'b');
    // Decomposed A + ring (U+0041 U+030A) is composed to U+00C5 (bytes C3 85) first.
    EXPECT(tok, "A\xcc\x8a", false, 0xC3, 0x85);
    EXPECT(tok, "\xc3\x85", false, 0xC3, 0x85);
    dy_tokenizer_free(tok);
}

static void test_post_processor_template(void **state) {
    (void)state;
    cJSON *root = base_json();
    cJSON_DeleteItemFromObject(root, "post_processor");
    cJSON *pp = cJSON_Parse("{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\"},{\"type\":\"TemplateProcessing\","
                            "\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
                            "{\"SpecialToken\":{\"id\":\"<|t|>\",\"type_id\":0}}],"
                            "\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[300]},\"<|t|>\":{\"id\":\"<|t|>\",\"ids\":[301]}}}]}");
    cJSON_AddItemToObject(root, "post_processor", pp);
    dy_tokenizer *tok = load(root);
    EXPECT(tok, "ab", true, ID_BOS, ID_AB, ID_TAG);
    EXPECT(tok, "ab", false, ID_AB);
    dy_tokenizer_free(tok);
}

static void test_decode(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    const int32_t hello[] = {ID_BOS, ID_ABC, ' ', ID_THINK, '.', ID_TAG};
    expect_decode(tok, hello, 6, false, "<s>abc <think>.<|t|>");
    expect_decode(tok, hello, 6, true, "abc <think>.");  // <think> is added but not special
    const int32_t ni[] = {0xE4, 0xBD, 0xA0}, half[] = {0xE4, 0xBD}, lone[] = {0xFF, 'a'}, overlong[] = {0xC0, 0x80};
    expect_decode(tok, ni, 3, false, "\xe4\xbd\xa0");
    expect_decode(tok, half, 2, false, "\xef\xbf\xbd");  // one U+FFFD for a truncated sequence
    expect_decode(tok, lone, 2, false, "\xef\xbf\xbd" "a");
    expect_decode(tok, overlong, 2, false, "\xef\xbf\xbd\xef\xbf\xbd");  // C0 is never valid: each byte
    const int32_t surrogate[] = {0xED, 0xA0, 0x80};
    expect_decode(tok, surrogate, 3, false, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    const int32_t unknown[] = {ID_AB, 299, -1, 100000, 'c'};  // ids without a token decode to nothing
    expect_decode(tok, unknown, 5, false, "abc");
    assert_false(dy_tokenizer_has_id(tok, 299));
    assert_true(dy_tokenizer_has_id(tok, ID_THINK));
    dy_tokenizer_free(tok);
}

static void test_encode_rejects_invalid_utf8(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    dy_tokens t = {0};
    dy_error err;
    assert_int_equal(dy_tokenizer_encode(tok, "ab\xff", 3, false, &t, &err), -1);
    assert_string_equal(err.msg, "text: invalid UTF-8 at byte 2");
    dy_tokens_free(&t);
    dy_tokenizer_free(tok);
}

// ---- load errors ------------------------------------------------------------------------------

static void expect_load_error(cJSON *root, const char *expected) {
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    dy_tokenizer *tok = NULL;
    dy_error err = {{0}};
    int rc = dy_tokenizer_parse(json, strlen(json), "t/tokenizer.json", &tok, &err);
    free(json);
    if (rc == 0 || !strstr(err.msg, expected)) fail_msg("expected error containing '%s', got '%s'", expected, rc ? err.msg : "(loaded)");
    assert_null(tok);
    assert_non_null(strstr(err.msg, "t/tokenizer.json: "));
}

static cJSON *without(const char *key) {
    cJSON *r = base_json();
    cJSON_DeleteItemFromObject(r, key);
    return r;
}

static cJSON *with(const char *key, const char *json) {
    cJSON *r = without(key);
    cJSON_AddItemToObject(r, key, cJSON_Parse(json));
    return r;
}

static cJSON *with_model_field(const char *key, cJSON *value) {
    cJSON *r = base_json(), *m = cJSON_GetObjectItem(r, "model");
    cJSON_DeleteItemFromObject(m, key);
    cJSON_AddItemToObject(m, key, value);
    return r;
}

static void test_load_errors(void **state) {
    (void)state;
    dy_tokenizer *tok;
    dy_error err;
    assert_int_equal(dy_tokenizer_parse("{\"model\": ", 10, "t/tokenizer.json", &tok, &err), -1);
    assert_string_equal(err.msg, "t/tokenizer.json: not valid JSON at byte 9");
    // The text's length is given: a raw NUL byte inside it is refused, not read as its end.
    assert_int_equal(dy_tokenizer_parse("{\"model\": null}\0{", 17, "t/tokenizer.json", &tok, &err), -1);
    assert_string_equal(err.msg, "t/tokenizer.json: not valid JSON: a NUL byte at byte 15");
    assert_int_equal(dy_tokenizer_parse("[1]", 3, "t/tokenizer.json", &tok, &err), -1);
    assert_string_equal(err.msg, "t/tokenizer.json: not a JSON object");
    assert_int_equal(dy_tokenizer_load("/nonexistent-dysco", &tok, &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent-dysco/tokenizer.json: cannot open"));

    expect_load_error(without("model"), "model: missing");
    expect_load_error(with("model", "{\"type\": \"WordPiece\", \"vocab\": {}}"), "model.type: \"WordPiece\" is not supported (BPE)");
    expect_load_error(with_model_field("merges", cJSON_CreateString("a b")), "model.merges: missing or not a list");
    expect_load_error(with_model_field("merges", cJSON_Parse("[\"a b\", \"ab\"]")), "model.merges: entry 1 is not \"left right\" or [left, right]");
    expect_load_error(with_model_field("merges", cJSON_Parse("[[\"a\", \"b\", \"c\"]]")), "model.merges: entry 0 is not");
    expect_load_error(with_model_field("merges", cJSON_Parse("[\"q z\"]")), "model.merges: entry 0 (q + z) uses a token not in model.vocab");
    expect_load_error(with_model_field("vocab", cJSON_Parse("{\"a\": 0}")), "model.vocab: no token for byte 0x00");
    expect_load_error(with_model_field("vocab", cJSON_Parse("{\"a\": \"zero\"}")),
                      "model.vocab: token a: expected a token id (a whole number >= 0), got a string");
    // A key repeated in an object of 264 (the vocabulary): the second "ĠÂ" is named.
    cJSON *twice = base_json();
    cJSON_AddNumberToObject(cJSON_GetObjectItem(cJSON_GetObjectItem(twice, "model"), "vocab"), "\xc4\xa0" "\xc3\x82", 400);
    expect_load_error(twice, "not valid JSON: key \"\xc4\xa0\xc3\x82\" appears twice in one object");
    expect_load_error(with_model_field("byte_fallback", cJSON_CreateTrue()), "model.byte_fallback: not supported with a pre-tokenizer");
    expect_load_error(with_model_field("continuing_subword_prefix", cJSON_CreateString("##")), "model.continuing_subword_prefix: not supported");
    expect_load_error(with("pre_tokenizer", "{\"type\": \"Metaspace\"}"), "pre_tokenizer: type \"Metaspace\" is not supported");
    // Without a pre-tokenizer the file is read as SentencePiece-style BPE (test_tokenizer_char.c),
    // whose decoders do not include ByteLevel.
    expect_load_error(without("pre_tokenizer"), "decoder: type \"ByteLevel\" is not supported without a pre-tokenizer");
    expect_load_error(with("pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}"),
                      "pre_tokenizer: Split regex does not compile");
    expect_load_error(with("pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"String\": \" \"}, \"behavior\": \"Isolated\"}"),
                      "Split: only a \"Regex\" pattern is supported");
    expect_load_error(with("pre_tokenizer", "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"a\"}, \"behavior\": \"Removed\"}"),
                      "Split: only behavior \"Isolated\" without invert is supported");
    expect_load_error(with("pre_tokenizer", "{\"type\": \"ByteLevel\", \"add_prefix_space\": true}"), "ByteLevel add_prefix_space is not supported");
    expect_load_error(with("normalizer", "{\"type\": \"NFKC\"}"), "normalizer: type \"NFKC\" is not supported (NFC or none)");
    expect_load_error(with("post_processor", "{\"type\": \"BertProcessing\"}"), "post_processor: type \"BertProcessing\" is not supported");
    // Template ids were cast unchecked, and the encoder emitted them as they came (-1, 1.5 -> 1).
    const char *template = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
                           "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[%s]}}}";
    char pp[512];
    snprintf(pp, sizeof pp, template, "1.5");
    expect_load_error(with("post_processor", pp), "post_processor: special token <s>: ids: expected a token id (a whole number >= 0), got 1.5");
    snprintf(pp, sizeof pp, template, "304");
    expect_load_error(with("post_processor", pp), "post_processor: special token <s>: ids: 304 is not below the tokenizer's id count 304");
    expect_load_error(with("decoder", "{\"type\": \"Metaspace\"}"), "decoder: type \"Metaspace\" is not supported (ByteLevel)");
    expect_load_error(with("added_tokens", "{}"), "added_tokens: not a list");
    expect_load_error(with("added_tokens", "[{\"content\": \"<x>\"}]"),
                      "added_tokens: <x>: id: expected a token id (a whole number >= 0), got no value");
    expect_load_error(with("added_tokens", "[{\"id\": 400}]"), "added_tokens: entry 0: content: expected a string");
    // Once a 30 s allocation: the id tables are sized by the largest id.
    expect_load_error(with("added_tokens", "[{\"id\": 1000000000, \"content\": \"<x>\"}]"),
                      "added_tokens: <x>: id: 1000000000 is not below 2 x 264 vocabulary and added entries + 1024 = 1552");
    expect_load_error(with("added_tokens", "[{\"id\": 1.5, \"content\": \"<x>\"}]"),
                      "added_tokens: <x>: id: expected a token id (a whole number >= 0), got 1.5");
    expect_load_error(with("added_tokens", "[{\"id\": 400, \"content\": \"<x>\", \"lstrip\": true}]"), "added_tokens: <x>: lstrip is not supported");
    expect_load_error(with("added_tokens", "[{\"id\": 400, \"content\": \"<x>\", \"normalized\": true}]"), "normalized added tokens are not supported");
}

static cJSON *with_split(const char *regex) {
    cJSON *r = base_json(), *split = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "pre_tokenizer"), "pretokenizers"), 0);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(split, "pattern"), "Regex", cJSON_CreateString(regex));
    return r;
}

static void test_split_regex_bounds(void **state) {
    (void)state;
    expect_load_error(with_split(""), "t/tokenizer.json: pre_tokenizer: Split: the Regex is empty");
    // Nested repeats backtrack exponentially: once a silent mis-split (the failed match taken as
    // "no match"), now an error naming the file and the pattern.
    dy_tokenizer *tok = load(with_split("(a+)+$"));
    dy_tokens t = {0};
    dy_error err;
    const char *text = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
    assert_int_equal(dy_tokenizer_encode(tok, text, strlen(text), false, &t, &err), -1);
    assert_string_equal(err.msg, "t/tokenizer.json: pre_tokenizer: regex \"(a+)+$\": matching stopped: match limit exceeded");
    dy_tokenizer_free(tok);
    // In Qwen3's \s*[\r\n]+ a run of spaces costs a match a step per space (\s* backs off over
    // each before the alternative fails): the bound grows with the text, so such a run is not
    // refused (300,000 steps are past the bound's constant part).
    enum { RUN = 300000 };
    tok = load(with_split("\\s*[\\r\\n]+|\\s+|\\S+"));
    char *run = malloc(RUN + 2);
    memset(run, ' ', RUN);
    run[RUN] = 'x';
    run[RUN + 1] = 0;
    if (dy_tokenizer_encode(tok, run, RUN + 1, false, &t, &err)) fail_msg("%s", err.msg);
    assert_int_equal(t.n, RUN + 1);
    assert_int_equal(t.ids[0], ' ');
    assert_int_equal(t.ids[RUN - 1], ' ');
    assert_int_equal(t.ids[RUN], 'x');
    dy_tokens_free(&t);
    free(run);
    dy_tokenizer_free(tok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merges_rank_order_and_ties), cmocka_unit_test(test_ignore_merges),
        cmocka_unit_test(test_added_tokens_leftmost_longest), cmocka_unit_test(test_whitespace_and_nfc),
        cmocka_unit_test(test_post_processor_template), cmocka_unit_test(test_decode),
        cmocka_unit_test(test_encode_rejects_invalid_utf8), cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_split_regex_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

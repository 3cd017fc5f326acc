// The SentencePiece-style path (a tokenizer.json without a pre-tokenizer, Llama-2's format) on a
// small synthetic file: the Prepend / Replace normalizers and their alignments, byte fallback,
// fuse_unk, added tokens between words, offsets (HF's offset_mapping rules), the decoder chain,
// and the load errors of this path. Parity on real files is test_tokenizer_parity_llama2.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/tokenizer/normalizer.h"
#include "runtime/tokenizer/tokenizer.h"
#include "test_util.h"

#define SP "\xe2\x96\x81"  // "▁", U+2581
enum { UNK, BOS, EOS, BYTE0 = 3, ID_SP = 259, ID_A, ID_B, ID_SP_A, ID_AB, ID_SP_AB, ID_C, ID_E_ACUTE, ID_SP_SP };
#define BYTE(b) (BYTE0 + (b))

static cJSON *base_json(void) {
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddBoolToObject(model, "byte_fallback", true);
    cJSON_AddBoolToObject(model, "fuse_unk", true);
    cJSON_AddStringToObject(model, "unk_token", "<unk>");
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab");
    const char *named[] = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < 3; i++) cJSON_AddNumberToObject(vocab, named[i], i);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        cJSON_AddNumberToObject(vocab, name, BYTE(b));
    }
    const char *pieces[] = {SP, "a", "b", SP "a", "ab", SP "ab", "c", "\xc3\xa9", SP SP};
    for (int i = 0; i < 9; i++) cJSON_AddNumberToObject(vocab, pieces[i], ID_SP + i);
    cJSON_AddItemToObject(model, "merges", cJSON_Parse("[\"" SP " a\", \"a b\", \"" SP "a b\", \"" SP " " SP "\"]"));
    cJSON *added = cJSON_AddArrayToObject(root, "added_tokens");
    for (int i = 0; i < 3; i++) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddNumberToObject(t, "id", i);
        cJSON_AddStringToObject(t, "content", named[i]);
        cJSON_AddBoolToObject(t, "special", true);
        cJSON_AddBoolToObject(t, "normalized", false);
        cJSON_AddItemToArray(added, t);
    }
    cJSON_AddItemToObject(root, "normalizer", cJSON_Parse("{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"Prepend\", "
                                                          "\"prepend\": \"" SP "\"}, {\"type\": \"Replace\", \"pattern\": "
                                                          "{\"String\": \" \"}, \"content\": \"" SP "\"}]}"));
    cJSON_AddNullToObject(root, "pre_tokenizer");
    cJSON_AddItemToObject(root, "post_processor",
                          cJSON_Parse("{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", "
                                      "\"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}], \"special_tokens\": "
                                      "{\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\": [\"<s>\"]}}}"));
    cJSON_AddItemToObject(root, "decoder", cJSON_Parse("{\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": "
                                                       "{\"String\": \"" SP "\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, "
                                                       "{\"type\": \"Fuse\"}, {\"type\": \"Strip\", \"content\": \" \", \"start\": 1, "
                                                       "\"stop\": 0}]}"));
    return root;
}

static dy_tokenizer *load(cJSON *root) {
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    dy_tokenizer *tok;
    dy_error err;
    if (dy_tokenizer_parse(json, strlen(json), "t/tokenizer.json", &tok, &err)) fail_msg("%s", err.msg);
    free(json);
    return tok;
}

static cJSON *with_model_field(const char *key, cJSON *value) {
    cJSON *r = base_json(), *m = cJSON_GetObjectItem(r, "model");
    cJSON_DeleteItemFromObject(m, key);
    cJSON_AddItemToObject(m, key, value);
    return r;
}

static cJSON *with(const char *key, const char *json) {
    cJSON *r = base_json();
    cJSON_DeleteItemFromObject(r, key);
    cJSON_AddItemToObject(r, key, cJSON_Parse(json));
    return r;
}

// Encodes text with offsets and checks ids and (start, end) pairs: want holds n ids, then 2n offsets.
static void expect(dy_tokenizer *tok, const char *text, bool special, int n, const int64_t *want) {
    dy_tokens t = {0};
    dy_token_offsets o = {0};
    dy_error err;
    if (dy_tokenizer_encode_offsets(tok, text, strlen(text), special, &t, &o, &err)) fail_msg("%s", err.msg);
    bool same = t.n == n && o.n == n;
    for (int i = 0; same && i < n; i++)
        same = t.ids[i] == want[i] && o.at[i].start == want[n + 2 * i] && o.at[i].end == want[n + 2 * i + 1];
    if (!same) {
        char got[512];
        int k = 0;
        for (int i = 0; i < t.n && k < 400; i++)
            k += snprintf(got + k, sizeof got - (size_t)k, " %d(%lld,%lld)", t.ids[i], i < o.n ? (long long)o.at[i].start : -1,
                          i < o.n ? (long long)o.at[i].end : -1);
        fail_msg("[%s]: got%s", text, got);
    }
    // Plain encoding gives the same ids.
    dy_tokens plain = {0};
    if (dy_tokenizer_encode(tok, text, strlen(text), special, &plain, &err)) fail_msg("%s", err.msg);
    assert_int_equal(plain.n, t.n);
    assert_memory_equal(plain.ids, t.ids, (size_t)t.n * sizeof *t.ids);
    dy_tokens_free(&plain);
    dy_tokens_free(&t);
    dy_token_offsets_free(&o);
}

static void test_normalizer_alignments(void **state) {
    (void)state;
    dy_norm_step steps[] = {{DY_NORM_PREPEND, NULL, SP}, {DY_NORM_REPLACE, " ", SP}};
    dy_normalized out = {0}, tmp = {0};
    assert_int_equal(dy_normalize(steps, 2, "a b", 3, &out, &tmp), 0);
    assert_int_equal(out.n_bytes, 8);
    assert_memory_equal(out.bytes, SP "a" SP "b", 8);
    const uint32_t origin[] = {0, 0, 1, 2};  // the prepended "▁" is aligned with the first character
    assert_int_equal(out.n_chars, 4);
    assert_memory_equal(out.origin, origin, sizeof origin);
    // HF's Prepend leaves an empty string empty.
    assert_int_equal(dy_normalize(steps, 2, "", 0, &out, &tmp), 0);
    assert_int_equal(out.n_chars, 0);
    // A replacement of several characters keeps the replaced one's origin for each; "" removes it.
    dy_norm_step wide = {DY_NORM_REPLACE, "\xc3\xa9", "xy"}, gone = {DY_NORM_REPLACE, "b", ""};
    assert_int_equal(dy_normalize(&wide, 1, "a\xc3\xa9z", 4, &out, &tmp), 0);
    const uint32_t wide_origin[] = {0, 1, 1, 3};
    assert_memory_equal(out.bytes, "axyz", 4);
    assert_memory_equal(out.origin, wide_origin, sizeof wide_origin);
    assert_int_equal(dy_normalize(&gone, 1, "abc", 3, &out, &tmp), 0);
    const uint32_t gone_origin[] = {0, 2};
    assert_int_equal(out.n_chars, 2);
    assert_memory_equal(out.origin, gone_origin, sizeof gone_origin);
    dy_normalized_free(&out);
    dy_normalized_free(&tmp);
}

static void test_prepend_replace_and_offsets(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    expect(tok, "", false, 0, NULL);
    expect(tok, "", true, 1, (const int64_t[]){BOS, 0, 0});  // no "▁" for an empty text
    // HF's "Hello world" -> [(0,0), (0,5), (5,11)]: the leading "▁" is folded into the first
    // token's span, and a "▁word" token's span starts at the space it replaced.
    expect(tok, "ab ab", true, 3, (const int64_t[]){BOS, ID_SP_AB, ID_SP_AB, 0, 0, 0, 2, 2, 5});
    // " a": "▁" + "▁a"; the prepended "▁" takes the first character's (the space's) span.
    expect(tok, " a", false, 2, (const int64_t[]){ID_SP, ID_SP_A, 0, 1, 0, 2});
    // Runs of spaces: "▁▁▁a" merges "▁a" first (rank 0), then the leftmost "▁▁" (rank 3): the
    // prepended "▁" and the first space's share that space's span.
    expect(tok, "  a", false, 2, (const int64_t[]){ID_SP_SP, ID_SP_A, 0, 1, 1, 3});
    // Code point offsets, not bytes: "é" is two bytes and one Python index.
    expect(tok, "\xc3\xa9 \xc3\xa9", false, 4, (const int64_t[]){ID_SP, ID_E_ACUTE, ID_SP, ID_E_ACUTE, 0, 1, 0, 1, 1, 2, 2, 3});
    // A text of one long word stays one word: 50,000 "ab" pairs merge to "▁ab" + "ab" x 49,999.
    enum { PAIRS = 50000 };
    char *word = malloc(2 * PAIRS + 1);
    for (int i = 0; i < PAIRS; i++) memcpy(word + 2 * i, "ab", 2);
    word[2 * PAIRS] = '\0';
    dy_tokens t = {0};
    dy_token_offsets o = {0};
    dy_error err;
    assert_int_equal(dy_tokenizer_encode_offsets(tok, word, 2 * PAIRS, false, &t, &o, &err), 0);
    assert_int_equal(t.n, PAIRS);
    assert_int_equal(t.ids[0], ID_SP_AB);
    assert_int_equal(t.ids[PAIRS - 1], ID_AB);
    assert_true(o.at[PAIRS - 1].start == 2 * PAIRS - 2 && o.at[PAIRS - 1].end == 2 * PAIRS);
    dy_tokens_free(&t);
    dy_token_offsets_free(&o);
    free(word);
    dy_tokenizer_free(tok);
}

static void test_byte_fallback_and_unk(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    // "ü" (C3 BC) has no token: its bytes' <0xXX> tokens, each with the character's span.
    expect(tok, "a\xc3\xbc", false, 3, (const int64_t[]){ID_SP_A, BYTE(0xC3), BYTE(0xBC), 0, 1, 1, 2, 1, 2});
    // A 4-byte character (U+1F680) is 4 tokens of one code point's span.
    expect(tok, "c\xf0\x9f\x9a\x80", false, 6,
           (const int64_t[]){ID_SP, ID_C, BYTE(0xF0), BYTE(0x9F), BYTE(0x9A), BYTE(0x80), 0, 1, 0, 1, 1, 2, 1, 2, 1, 2, 1, 2});
    dy_tokenizer_free(tok);
    // Without byte_fallback: unknown characters are <unk>, consecutive ones fused into one (fuse_unk).
    tok = load(with_model_field("byte_fallback", cJSON_CreateFalse()));
    expect(tok, "dd c", false, 4, (const int64_t[]){ID_SP, UNK, ID_SP, ID_C, 0, 1, 0, 2, 2, 3, 3, 4});
    dy_tokenizer_free(tok);
    cJSON *no_fuse = with_model_field("byte_fallback", cJSON_CreateFalse());
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(no_fuse, "model"), "fuse_unk", cJSON_CreateFalse());
    tok = load(no_fuse);
    expect(tok, "dd", false, 3, (const int64_t[]){ID_SP, UNK, UNK, 0, 1, 0, 1, 1, 2});
    dy_tokenizer_free(tok);
    // Neither: an error naming the file, not a silent drop.
    cJSON *neither = with_model_field("byte_fallback", cJSON_CreateFalse());
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(neither, "model"), "unk_token");
    tok = load(neither);
    dy_tokens t = {0};
    dy_error err;
    assert_int_equal(dy_tokenizer_encode(tok, "ad", 2, false, &t, &err), -1);
    assert_string_equal(err.msg, "t/tokenizer.json: model: a character of the text (byte 1) is not in model.vocab, and there is no unk_token");
    dy_tokens_free(&t);
    dy_tokenizer_free(tok);
}

static void test_added_tokens_split_out(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    // Each piece between added tokens is normalized on its own: "b" gets its own "▁".
    expect(tok, "a<s>b", true, 5, (const int64_t[]){BOS, ID_SP_A, BOS, ID_SP, ID_B, 0, 0, 0, 1, 1, 4, 4, 5, 4, 5});
    expect(tok, "<s>", false, 1, (const int64_t[]){BOS, 0, 3});
    expect(tok, "</s> a", false, 3, (const int64_t[]){EOS, ID_SP, ID_SP_A, 0, 4, 4, 5, 4, 6});
    dy_tokenizer_free(tok);
}

static void expect_decode(const dy_tokenizer *tok, const int32_t *ids, int n, bool skip, const char *want) {
    dy_error err;
    char *got = dy_tokenizer_decode(tok, ids, n, skip, &err);
    if (!got) fail_msg("%s", err.msg);
    if (strcmp(got, want) != 0) fail_msg("decode: got [%s], want [%s]", got, want);
    free(got);
}

static void test_decoder_chain(void **state) {
    (void)state;
    dy_tokenizer *tok = load(base_json());
    const int32_t sentence[] = {BOS, ID_SP_AB, ID_SP, ID_A};
    expect_decode(tok, sentence, 4, false, "<s> ab a");  // Strip cuts the fused text's first space only
    expect_decode(tok, sentence, 4, true, "ab a");
    const int32_t u[] = {ID_A, BYTE(0xC3), BYTE(0xBC)}, half[] = {BYTE(0xC3)}, bad[] = {BYTE(0xC3), BYTE(0x41)};
    expect_decode(tok, u, 3, false, "a\xc3\xbc");
    expect_decode(tok, half, 1, false, "\xef\xbf\xbd");
    // A run of byte tokens that is not UTF-8 as a whole: one U+FFFD per byte (HF's ByteFallback),
    // even for the valid "A".
    expect_decode(tok, bad, 2, false, "\xef\xbf\xbd\xef\xbf\xbd");
    const int32_t spaces[] = {ID_SP_SP, ID_SP, ID_A};
    expect_decode(tok, spaces, 3, false, "  a");
    expect_decode(tok, NULL, 0, false, "");
    dy_tokenizer_free(tok);
}

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
    assert_null(strchr(err.msg, '\n'));
}

static void test_load_errors(void **state) {
    (void)state;
    expect_load_error(with("normalizer", "{\"type\": \"NFC\"}"), "normalizer: type \"NFC\" is not supported without a pre-tokenizer (Prepend, Replace)");
    expect_load_error(with("normalizer", "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \" +\"}, \"content\": \"x\"}"),
                      "normalizer: Replace: only a one-character \"String\" pattern is supported");
    expect_load_error(with("normalizer", "{\"type\": \"Replace\", \"pattern\": {\"String\": \"ab\"}, \"content\": \"x\"}"),
                      "normalizer: Replace: only a one-character \"String\" pattern is supported");
    expect_load_error(with("normalizer", "{\"type\": \"Prepend\"}"), "normalizer: Prepend: \"prepend\" is not a string");
    expect_load_error(with("decoder", "{\"type\": \"ByteLevel\"}"),
                      "decoder: type \"ByteLevel\" is not supported without a pre-tokenizer (Replace, ByteFallback, Fuse, Strip)");
    expect_load_error(with("decoder", "{\"type\": \"Strip\", \"content\": \"ab\", \"start\": 1, \"stop\": 0}"),
                      "decoder: Strip: \"content\" must be one character");
    expect_load_error(with("decoder", "{\"type\": \"Strip\", \"content\": \" \", \"start\": -1, \"stop\": 0}"),
                      "decoder: Strip: \"start\" and \"stop\" must be counts");
    expect_load_error(with_model_field("unk_token", cJSON_CreateString("<nope>")), "model.unk_token: \"<nope>\" is not in model.vocab");
    expect_load_error(with_model_field("ignore_merges", cJSON_CreateTrue()), "model.ignore_merges: not supported without a pre-tokenizer");
    cJSON *no_ff = base_json();
    cJSON_DeleteItemFromObject(cJSON_GetObjectItem(cJSON_GetObjectItem(no_ff, "model"), "vocab"), "<0xFF>");
    expect_load_error(no_ff, "model.byte_fallback: model.vocab has no token <0xFF> (every byte needs one)");
    // Offsets are for this path only: a byte-level tokenizer says so.
    cJSON *byte_level = base_json();
    cJSON_DeleteItemFromObject(byte_level, "pre_tokenizer");
    cJSON_AddItemToObject(byte_level, "pre_tokenizer", cJSON_Parse("{\"type\": \"ByteLevel\"}"));
    expect_load_error(byte_level, "model.byte_fallback: not supported with a pre-tokenizer");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalizer_alignments), cmocka_unit_test(test_prepend_replace_and_offsets),
        cmocka_unit_test(test_byte_fallback_and_unk), cmocka_unit_test(test_added_tokens_split_out),
        cmocka_unit_test(test_decoder_chain),         cmocka_unit_test(test_load_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

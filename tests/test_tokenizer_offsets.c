// dy_tokenizer_encode_offsets on the real byte-level files (Qwen3, Llama-3.1), checked against
// the rules of Hugging Face's source rather than its output (that is test_tokenizer_parity's
// offsets_hf group, from a fixture made on the GPU host):
//  - every string: the same ids as dy_tokenizer_encode; the post-processor's tokens at (0, 0);
//    offsets within the text and non-decreasing; and, walking the tokens' own bytes (read from
//    tokenizer.json here, not through the tokenizer), each token's bytes are the text's bytes at
//    that place and its offsets are the code points of the characters holding its first and last
//    byte (whole characters: a token that cuts a character in two spans all of it). The strings
//    are NFC already, so Qwen3's normalizer leaves the bytes as they are.
//  - text that NFC changes (Qwen3): offsets derived by hand from HF's transform_range and the
//    unicode-normalization-alignments tags (a composed character is aligned with its first
//    component; a reordered mark takes the place of the mark it lands on).
//  - the first point's checks on every string of the ids fixtures
//    (tests/fixtures/tokenizer_{qwen3,llama3}.json), Qwen3's strings that NFC changes with its
//    order and bounds checks only; and that HF's NFC alignment of the strings NFC leaves alone is
//    the identity (the encoder does not compute it there).
//  - dy_nfc_aligned's origins on the unicode-normalization-alignments crate's own test strings.
//  - a ByteLevel post-processor with trim_offsets: offsets refused with one error line.
// argv: TOKENIZER_DIR FIXTURE_DIR, the folder holding qwen3/ and llama3_1/, and tests/fixtures.
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

#include "runtime/tokenizer/nfc_align.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *tokenizer_dir, *fixture_dir;

// Each id's bytes: a model token's byte-level characters mapped back through GPT-2's table, an
// added token's content as written.
typedef struct {
    char **bytes;
    size_t *len;
    int n;
} raw_vocab;

typedef struct {
    const char *name;
    dy_tokenizer *tok;
    raw_vocab vocab;
} fixture;

static int byte_of_char(int cp) {
    static int table[324];
    static bool ready;
    if (!ready) {
        for (int i = 0; i < 324; i++) table[i] = -1;
        for (int b = 0; b < 256; b++) {
            char c[3];
            gpt2_byte_char(b, c);
            const int v = (unsigned char)c[0] < 0x80 ? c[0] : ((c[0] & 0x1F) << 6) | (c[1] & 0x3F);
            table[v] = b;
        }
        ready = true;
    }
    return cp >= 0 && cp < 324 ? table[cp] : -1;
}

static void set_raw(raw_vocab *v, int id, const char *bytes, size_t len) {
    assert_true(id >= 0 && id < v->n);
    free(v->bytes[id]);
    v->bytes[id] = xmalloc(len + 1);
    memcpy(v->bytes[id], bytes, len);
    v->len[id] = len;
}

static void put_model_token(raw_vocab *v, const char *form, int id) {
    char buf[1024];
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)form; *c;) {
        const int cp = *c < 0x80 ? *c : ((c[0] & 0x1F) << 6) | (c[1] & 0x3F);
        const int b = byte_of_char(cp);
        assert_true(b >= 0 && n < sizeof buf);
        buf[n++] = (char)b;
        c += *c < 0x80 ? 1 : 2;
    }
    set_raw(v, id, buf, n);
}

static raw_vocab load_raw_vocab(const char *dir) {
    char path[PATH_MAX + 32];
    dy_error err;
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    char *json = dy_read_file(path, NULL, &err);
    if (!json) fail_msg("%s (run launch/fetch-tokenizers.sh)", err.msg);
    cJSON *root = cJSON_Parse(json);
    free(json);
    assert_non_null(root);
    const cJSON *vocab = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "model"), "vocab"), *added = cJSON_GetObjectItem(root, "added_tokens"), *e;
    raw_vocab v = {0};
    cJSON_ArrayForEach(e, vocab) if (e->valueint >= v.n) v.n = e->valueint + 1;
    cJSON_ArrayForEach(e, added) if (cJSON_GetObjectItem(e, "id")->valueint >= v.n) v.n = cJSON_GetObjectItem(e, "id")->valueint + 1;
    v.bytes = calloc((size_t)v.n, sizeof *v.bytes);
    v.len = calloc((size_t)v.n, sizeof *v.len);
    assert_true(v.bytes && v.len);
    cJSON_ArrayForEach(e, vocab) put_model_token(&v, e->string, e->valueint);
    cJSON_ArrayForEach(e, added) {
        const char *content = cJSON_GetObjectItem(e, "content")->valuestring;
        set_raw(&v, cJSON_GetObjectItem(e, "id")->valueint, content, strlen(content));
    }
    cJSON_Delete(root);
    return v;
}

static void raw_vocab_free(raw_vocab *v) {
    for (int i = 0; i < v->n; i++) free(v->bytes[i]);
    free(v->bytes);
    free(v->len);
}

static fixture *open_fixture(const char *name) {
    fixture *f = xmalloc(sizeof *f);
    char dir[PATH_MAX];
    dy_error err;
    snprintf(dir, sizeof dir, "%s/%s", tokenizer_dir, name);
    f->name = name;
    if (dy_tokenizer_load(dir, &f->tok, &err)) fail_msg("%s (run launch/fetch-tokenizers.sh)", err.msg);
    f->vocab = load_raw_vocab(dir);
    return f;
}

static void close_fixture(fixture *f) {
    dy_tokenizer_free(f->tok);
    raw_vocab_free(&f->vocab);
    free(f);
}

// Code point index of the character holding byte b of text (b < its length), or the count at the end.
static int64_t char_index(const char *text, size_t b) {
    int64_t n = -1;
    for (size_t i = 0; i <= b && text[i]; i++) n += ((unsigned char)text[i] & 0xC0) != 0x80;
    return text[b] ? n : n + 1;
}

static void encode_both(fixture *f, const char *text, bool special, dy_tokens *ids, dy_token_offsets *offsets) {
    dy_tokens plain = {0};
    dy_error err;
    if (dy_tokenizer_encode_offsets(f->tok, text, strlen(text), special, ids, offsets, &err))
        fail_msg("%s: [%.80s]: %s", f->name, text, err.msg);
    assert_int_equal(dy_tokenizer_encode(f->tok, text, strlen(text), special, &plain, &err), 0);
    assert_int_equal(offsets->n, ids->n);
    assert_int_equal(plain.n, ids->n);
    assert_memory_equal(plain.ids, ids->ids, (size_t)ids->n * sizeof *ids->ids);
    dy_tokens_free(&plain);
}

// Offsets within the text (code points) and non-decreasing.
static void check_bounds(fixture *f, const char *text, bool special) {
    dy_tokens ids = {0};
    dy_token_offsets o = {0};
    encode_both(f, text, special, &ids, &o);
    const int64_t n_chars = char_index(text, strlen(text));
    for (int i = 0; i < o.n; i++)
        if (o.at[i].start > o.at[i].end || o.at[i].end > n_chars || (i && (o.at[i].start < o.at[i - 1].start || o.at[i].end < o.at[i - 1].end)))
            fail_msg("%s: [%.80s]: offset %d (%lld, %lld) out of order or past %lld code points", f->name, text, i,
                     (long long)o.at[i].start, (long long)o.at[i].end, (long long)n_chars);
    dy_tokens_free(&ids);
    dy_token_offsets_free(&o);
}

// Whether the tokens after the first n_template are the text's bytes, in order.
static bool tokens_are_text(const fixture *f, const dy_tokens *ids, int n_template, const char *text) {
    size_t p = 0, len = strlen(text);
    for (int i = n_template; i < ids->n; i++) {
        const int id = ids->ids[i];
        assert_true(id >= 0 && id < f->vocab.n && f->vocab.bytes[id]);
        const size_t n = f->vocab.len[id];
        if (n > len - p || memcmp(text + p, f->vocab.bytes[id], n) != 0) return false;
        p += n;
    }
    return p == len;
}

// The checks of the header's first point on one string. Text the normalizer changes (allowed
// only where nfc_may_change) gets check_bounds' checks instead.
static void check_text(fixture *f, const char *text, bool special, bool nfc_may_change) {
    dy_tokens ids = {0}, plain = {0};
    dy_token_offsets o = {0};
    dy_error err;
    encode_both(f, text, special, &ids, &o);
    assert_int_equal(dy_tokenizer_encode(f->tok, text, strlen(text), false, &plain, &err), 0);
    const int n_template = ids.n - plain.n;  // the post-processor's tokens come first in these files
    const size_t len = strlen(text);
    if (!tokens_are_text(f, &ids, n_template, text)) {
        if (!nfc_may_change) fail_msg("%s: [%.80s]: the tokens' bytes are not the text's", f->name, text);
        check_bounds(f, text, special);
        dy_tokens_free(&ids);
        dy_tokens_free(&plain);
        dy_token_offsets_free(&o);
        return;
    }
    const int64_t n_chars = char_index(text, len);
    size_t p = 0;
    int64_t prev_start = 0, prev_end = 0;
    for (int i = 0; i < ids.n; i++) {
        const dy_token_offset at = o.at[i];
        if (!(at.start >= prev_start && at.end >= prev_end && at.start <= at.end && at.end <= n_chars))
            fail_msg("%s: [%.80s]: offset %d (%lld, %lld) after (%lld, %lld) of %lld code points", f->name, text, i,
                     (long long)at.start, (long long)at.end, (long long)prev_start, (long long)prev_end, (long long)n_chars);
        prev_start = at.start;
        prev_end = at.end;
        if (i < n_template) {
            assert_true(at.start == 0 && at.end == 0);
            continue;
        }
        const int id = ids.ids[i];
        assert_true(id >= 0 && id < f->vocab.n && f->vocab.bytes[id]);
        const size_t n = f->vocab.len[id];
        if (n == 0 || n > len - p || memcmp(text + p, f->vocab.bytes[id], n) != 0)
            fail_msg("%s: [%.80s]: token %d (id %d) is not the text's bytes at byte %zu", f->name, text, i, id, p);
        const int64_t start = char_index(text, p), end = char_index(text, p + n - 1) + 1;
        if (at.start != start || at.end != end)
            fail_msg("%s: [%.80s]: token %d (id %d, bytes %zu..%zu): offsets (%lld, %lld), its characters (%lld, %lld)", f->name,
                     text, i, id, p, p + n, (long long)at.start, (long long)at.end, (long long)start, (long long)end);
        p += n;
    }
    assert_int_equal(p, len);
    dy_tokens_free(&ids);
    dy_tokens_free(&plain);
    dy_token_offsets_free(&o);
}

static const char *const STRINGS[] = {
    "Hello world!",
    "",
    " ",
    "a",
    "  leading and trailing spaces   ",
    "line one\nline two\r\nline three\n\n\nend",
    "\n\n\n",
    "tabs\tand\x0b" "vertical\x0c" "feeds",
    "don't I'LL we've 'tis rock'n'roll",
    "1234567890 3.14159 -42 1e10 0x1F",
    "def f(x):\n    return x ** 2  # square\n",
    "{\"key\": [1, 2, {\"nested\": null}]}",
    "你好，世界！今天天气很好。",
    "こんにちは、カタカナ、ひらがな。",
    "안녕하세요 대한민국",
    "Привет, мир! Ёжик",
    "مرحبا بالعالم مُحَمَّد",
    "שלום עולם",
    "नमस्ते दुनिया हिन्दी क्षत्रिय",
    "สวัสดีครับ ภาษาไทย",
    "Γειά σου Κόσμε",
    "café naïve résumé Zoë Björn Łukasz Nguyễn",
    "😀😂🙂 🚀🌍🔥 ✨👍",
    "👨\u200d👩\u200d👧\u200d👦 family, 👩🏽\u200d💻 coder, 🇺🇸🇯🇵 flags, 1\ufe0f\u20e3 keycap",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland",
    "x\u0301 q\u0323\u0307 z\u0335\u0336 a\u20dd",  // combining marks NFC leaves alone
    "𠀀𪚥 𐌰𐌱𐌲 \U0001f9d1\u200d\U0001f52c",
    "\u00a0\u2028\u2029\u3000\u200b\ufeff\xc2\x85 odd spaces",
    "ｶﾀｶﾅ ＡＢＣ １２３ （括弧）",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n4<|im_end|>",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n你好 😀<|im_end|>\n",
    "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\ncafé<|eot_id|>",
    "<|eot_id|>>  <<|eot_id|> <|EOT_ID|> <|im_start| <|im_end|><|im_end|>",
    "text<|endoftext|>more text<|endoftext|>",
    "[1] Title One\nThe first passage talks about rivers.\n\n[2] Title Two\nThe second one, about mountains.\n\n"
    "[3] 标题三\n第三段。\n\nQuestion: which passage mentions rivers?\nAnswer:",
};

// Strings NFC changes (combining marks out of canonical order, decomposed letters, singletons):
// checked as STRINGS on Llama-3, which has no normalizer; on Qwen3 the offsets must still be
// within the text and non-decreasing (HF's alignments follow the original characters in order).
static const char *const NOT_NFC[] = {
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034dA\u036b\u0357\u0334\u0362\u0335\u031c\u0330\u0354L\u0368\u0367\u0369\u0358\u0320G\u0311\u0357\u030e\u0305\u035b\u0341\u0334\u033b\u0348\u034d\u0354\u0339O\u0342\u030c\u030c\u0358\u0328\u0335\u0339\u033b\u031d\u0333",
    "e\u0301 A\u030a \u212b \u2126 \u0958 \u0915\u093c q\u0307\u0323 \u1e9b\u0323 \u03b1\u0313\u0300\u0345 \u304b\u3099 \u1100\u1161\u11a8",
    "<|im_start|>user\nCafe\u0301 na\u0131\u0308ve \u1112\u1161\u11ab<|im_end|>",
};

static void check_strings(const char *name) {
    fixture *f = open_fixture(name);
    for (size_t i = 0; i < sizeof STRINGS / sizeof *STRINGS; i++)
        for (int special = 0; special < 2; special++) check_text(f, STRINGS[i], special, false);
    for (size_t i = 0; i < sizeof NOT_NFC / sizeof *NOT_NFC; i++) {
        if (strcmp(name, "qwen3") == 0) check_bounds(f, NOT_NFC[i], true);
        else check_text(f, NOT_NFC[i], true, false);
    }
    close_fixture(f);
}

// The encoder skips the alignment where NFC leaves a piece as it is, taking each character as its
// own origin: HF's tags must then be all 0 (what dy_nfc_aligned gives must be the identity).
static void check_unchanged_is_identity(const char *text) {
    dy_normalized out = {0};
    size_t where, len = strlen(text);
    if (len == 0) return;
    assert_int_equal(dy_nfc_aligned(text, len, &out, &where), 0);
    if (out.n_bytes == len && memcmp(out.bytes, text, len) == 0) {
        size_t c = 0;
        for (size_t i = 0; i < len; i++)
            if (((unsigned char)text[i] & 0xC0) != 0x80 && out.origin[c++] != i)
                fail_msg("[%.80s]: NFC leaves it as it is, but HF's alignment of byte %zu is byte %u", text, i, out.origin[c - 1]);
    }
    dy_normalized_free(&out);
}

// Every string of the ids fixture test_tokenizer_parity checks (5,000+: prose, code, whitespace,
// many scripts, emoji, combining marks, NFC-sensitive text, odd code points, special-token text):
// the same checks, NFC-changed strings (Qwen3) with check_bounds'.
static void check_corpus(const char *name, const char *fixture_name) {
    char path[PATH_MAX];
    dy_error err;
    snprintf(path, sizeof path, "%s/%s", fixture_dir, fixture_name);
    char *json = dy_read_file(path, NULL, &err);
    if (!json) fail_msg("%s (fixtures are committed under tests/fixtures)", err.msg);
    cJSON *root = cJSON_Parse(json);
    free(json);
    assert_non_null(root);
    fixture *f = open_fixture(name);
    const bool has_nfc = strcmp(name, "qwen3") == 0;
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "strings")) {
        const char *text = cJSON_GetObjectItem(e, "text")->valuestring;
        check_text(f, text, n < 300, has_nfc);  // add_special_tokens on the first ones (Llama-3: its BOS)
        if (has_nfc) check_unchanged_is_identity(text);
        n++;
    }
    printf("%s: %d strings\n", fixture_name, n);
    assert_true(n >= 5000);
    close_fixture(f);
    cJSON_Delete(root);
}

static void test_corpus_qwen3(void **state) { (void)state; check_corpus("qwen3", "tokenizer_qwen3.json"); }
static void test_corpus_llama3(void **state) { (void)state; check_corpus("llama3_1", "tokenizer_llama3.json"); }

static void test_strings_qwen3(void **state) { (void)state; check_strings("qwen3"); }
static void test_strings_llama3(void **state) { (void)state; check_strings("llama3_1"); }

// Long documents: paragraphs in "[k] Title\nText" shape joined by "\n\n", mixing scripts, with
// words repeated (the word cache answers them, and their offsets must still move on).
static char *long_document(int paragraphs) {
    static const char *const words[] = {"river", "mountain", "café", "你好", "😀", "naïve", "データ", "мир", "1984", "don't"};
    size_t cap = (size_t)paragraphs * 400 + 1, n = 0;
    char *doc = xmalloc(cap);
    uint64_t seed = 7;
    for (int p = 0; p < paragraphs; p++) {
        n += (size_t)snprintf(doc + n, cap - n, "%s[%d] Title %s\n", p ? "\n\n" : "", p + 1, words[p % 10]);
        for (int w = 0; w < 30; w++)
            n += (size_t)snprintf(doc + n, cap - n, "%s%s", w ? " " : "", words[(int)uniform_f32(&seed, 0, 10) % 10]);
        n += (size_t)snprintf(doc + n, cap - n, ".");
    }
    return doc;
}

static void check_long(const char *name) {
    fixture *f = open_fixture(name);
    char *doc = long_document(500);
    check_text(f, doc, true, false);
    free(doc);
    close_fixture(f);
}

static void test_long_qwen3(void **state) { (void)state; check_long("qwen3"); }
static void test_long_llama3(void **state) { (void)state; check_long("llama3_1"); }

// Text NFC changes, Qwen3 (Llama-3 has no normalizer): ids as dy_tokenizer_encode gives them, and
// offsets as HF's alignment rules give them, worked out by hand:
static void expect_nfc(fixture *f, const char *text, int n, const int64_t *want) {
    dy_tokens ids = {0};
    dy_token_offsets o = {0};
    encode_both(f, text, false, &ids, &o);
    if (o.n != n) fail_msg("[%s]: %d tokens, expected %d", text, o.n, n);
    for (int i = 0; i < n; i++)
        if (o.at[i].start != want[2 * i] || o.at[i].end != want[2 * i + 1])
            fail_msg("[%s]: token %d: (%lld, %lld), expected (%lld, %lld)", text, i, (long long)o.at[i].start,
                     (long long)o.at[i].end, (long long)want[2 * i], (long long)want[2 * i + 1]);
    dy_tokens_free(&ids);
    dy_token_offsets_free(&o);
}

#define EXPECT_NFC(f, text, ...)                                                            \
    do {                                                                                    \
        const int64_t want_[] = {__VA_ARGS__};                                              \
        expect_nfc(f, text, (int)(sizeof want_ / sizeof *want_ / 2), want_);                \
    } while (0)

static void test_nfc_qwen3(void **state) {
    (void)state;
    fixture *f = open_fixture("qwen3");
    // "e" + U+0301 composes to "é" (change -1): aligned with "e" alone, so "fé" ends at 4 and the
    // mark's code point 4 belongs to no token; " ok" starts at 5.
    EXPECT_NFC(f, "cafe\u0301 ok", 0, 2, 2, 4, 5, 8);
    // U+212B decomposes to A + U+030A, which compose to U+00C5 (change 0): the sign's own span.
    EXPECT_NFC(f, "\u212b", 0, 1);
    EXPECT_NFC(f, "A\u030a x", 0, 1, 2, 4);
    // q U+0307 U+0323 is reordered to q U+0323 U+0307 (no composition): positional alignment
    // gives U+0323 (bytes CC A3, one token each) the place of U+0307 (1) and U+0307 that of U+0323 (2).
    EXPECT_NFC(f, "q\u0307\u0323", 0, 1, 1, 2, 1, 2, 2, 3, 2, 3);
    // e U+0301 U+0323: reordered to e U+0323 U+0301, e + U+0323 composes to U+1EB9 (change -1, so it
    // consumes "e" and the next original character, U+0301); U+0301 then takes U+0323's place (2).
    EXPECT_NFC(f, "e\u0301\u0323", 0, 1, 2, 3);
    // U+0958 is excluded from composition: U+0915 (change 0) and U+093C (change +1, inserted) both
    // align with U+0958.
    EXPECT_NFC(f, "\u0958", 0, 1, 0, 1, 0, 1);
    // Conjoining jamo compose to one syllable, aligned with the leading consonant.
    EXPECT_NFC(f, "\u1100\u1161\u11a8 \u1100\u1161", 0, 1, 3, 5);
    close_fixture(f);
}

// dy_nfc_aligned itself: the origin (byte offset in the input) of each NFC character, worked out
// from the crate's iterators and transform_range by hand; cases from the crate's own tests.
static void expect_origins(const char *in, const char *nfc, int n, const uint32_t *want) {
    dy_normalized out = {0};
    size_t where;
    assert_int_equal(dy_nfc_aligned(in, strlen(in), &out, &where), 0);
    assert_int_equal(out.n_bytes, strlen(nfc));
    assert_memory_equal(out.bytes, nfc, out.n_bytes);
    assert_int_equal(out.n_chars, n);
    for (int i = 0; i < n; i++)
        if (out.origin[i] != want[i]) fail_msg("[%s]: character %d: origin %u, expected %u", in, i, out.origin[i], want[i]);
    dy_normalized_free(&out);
}

#define EXPECT_ORIGINS(in, nfc, ...)                                                    \
    do {                                                                                \
        const uint32_t want_[] = {__VA_ARGS__};                                         \
        expect_origins(in, nfc, (int)(sizeof want_ / sizeof *want_), want_);            \
    } while (0)

static void test_nfc_alignments(void **state) {
    (void)state;
    EXPECT_ORIGINS("abc", "abc", 0, 1, 2);
    // e U+0301 -> U+00E9 (change -1): aligned with "e", which swallows the mark.
    EXPECT_ORIGINS("e\u0301le\u0301gant", "\u00e9l\u00e9gant", 0, 3, 4, 7, 8, 9, 10);
    // Sorted to a U+05AE U+0300 U+0305 U+0315 b; a + U+0300 -> U+00E0 (-1) swallows the next
    // original character (U+0300), and each later mark takes the next original place.
    EXPECT_ORIGINS("a\u0300\u0305\u0315\u05aeb", "\u00e0\u05ae\u0305\u0315b", 0, 3, 5, 7, 9);
    // U+1E0B -> d U+0307 (0, +1); sorted d U+0323 U+0307; d + U+0323 -> U+1E0D (-1) swallows
    // U+1E0B and U+0323; U+0307 (+1, inserted) takes the last one consumed: U+0323 at byte 3.
    EXPECT_ORIGINS("\u1e0b\u0323", "\u1e0d\u0307", 0, 3);
    // A precomposed syllable decomposes and recomposes (0 + 1 - 1, twice): its own place.
    EXPECT_ORIGINS("\ud4db", "\ud4db", 0);
    // U+0958 is excluded from composition: U+0915 (0) and the inserted U+093C (+1) both align with it.
    EXPECT_ORIGINS("x\u0958", "x\u0915\u093c", 0, 1, 1);
    // Singletons: U+2126 -> U+03A9, U+212B -> A U+030A -> U+00C5.
    EXPECT_ORIGINS("\u2126\u212b", "\u03a9\u00c5", 0, 3);
    // A mark first, with nothing to compose with, stays (U+0301 a is already NFC).
    EXPECT_ORIGINS("\u0301a", "\u0301a", 0, 2);
}

// A ByteLevel post-processor with trim_offsets (HF would trim the offsets): ids as before, offsets
// refused in one line rather than given untrimmed.
static void test_trim_offsets_refused(void **state) {
    (void)state;
    char path[PATH_MAX + 32];
    dy_error err;
    snprintf(path, sizeof path, "%s/qwen3/tokenizer.json", tokenizer_dir);
    char *json = dy_read_file(path, NULL, &err);
    if (!json) fail_msg("%s (run launch/fetch-tokenizers.sh)", err.msg);
    cJSON *root = cJSON_Parse(json);
    free(json);
    assert_non_null(root);
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "post_processor"), "trim_offsets", cJSON_CreateTrue());
    char *edited = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    dy_tokenizer *tok;
    assert_int_equal(dy_tokenizer_parse(edited, strlen(edited), "trim.json", &tok, &err), 0);
    free(edited);
    dy_tokens ids = {0};
    dy_token_offsets o = {0};
    assert_int_equal(dy_tokenizer_encode(tok, "Hello world", 11, true, &ids, &err), 0);
    assert_int_equal(dy_tokenizer_encode_offsets(tok, "Hello world", 11, true, &ids, &o, &err), -1);
    assert_string_equal(err.msg, "trim.json: post_processor: ByteLevel trim_offsets is true: offsets are not supported with it");
    dy_tokens_free(&ids);
    dy_token_offsets_free(&o);
    dy_tokenizer_free(tok);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "TOKENIZER_DIR FIXTURE_DIR", &tokenizer_dir, &fixture_dir, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_qwen3), cmocka_unit_test(test_strings_llama3), cmocka_unit_test(test_long_qwen3),
        cmocka_unit_test(test_long_llama3),   cmocka_unit_test(test_nfc_qwen3),    cmocka_unit_test(test_corpus_qwen3),
        cmocka_unit_test(test_corpus_llama3), cmocka_unit_test(test_nfc_alignments), cmocka_unit_test(test_trim_offsets_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

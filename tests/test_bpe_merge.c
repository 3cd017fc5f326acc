// The BPE merge loop (runtime/tokenizer/bpe.c and its merge queue) against a plain O(n^2)
// restatement of the rule of the `tokenizers` library, written here: merge the adjacent pair of
// lowest rank, the leftmost among equal ranks, until no adjacent pair has a merge. Thousands of
// random words over alphabets of two to four letters, so that one word holds the same pair many
// times (ties of equal rank everywhere), from one letter to 2,000 letters, on
//  - synthetic merge tables in training order, shuffled (a merge may then come before the merges
//    that make its parts: a merge can create pairs that rank below itself), and shuffled with
//    ignore_merges, the whole input being one word;
//  - the real Qwen3 and Llama-3.1 tables (TOKENIZER_DIR as launch/fetch-tokenizers.sh fills it),
//    on runs of letters, which their pre-tokenizers keep as one word;
//  - the real table of lenml_llama2 (Llama-2's format, no pre-tokenizer), whose words start from
//    characters after "▁" is prepended and spaces become "▁": the whole text is one word, spaces
//    included.
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

#include "runtime/tokenizer/tokenizer.h"
#include "runtime/util/file_util.h"
#include "runtime/util/hash_map.h"
#include "test_util.h"

static const char *tokenizer_dir;

// ---- The reference ----------------------------------------------------------------------------

typedef struct {
    dy_str_map vocab;  // byte-level token -> id
    dy_str_map ranks;  // "left right" -> rank (byte-level tokens hold no space); a repeated pair keeps its last rank
    bool ignore_merges;
    bool char_level;  // no pre-tokenizer: symbols are the characters of "▁" + the text, spaces as "▁"
} reference;

static void reference_init(reference *ref, const cJSON *model) {
    const cJSON *v, *m;
    if (dy_str_map_init(&ref->vocab, 1024) || dy_str_map_init(&ref->ranks, 1024)) setup_die("out of memory");
    cJSON_ArrayForEach(v, cJSON_GetObjectItem(model, "vocab")) {
        if (dy_str_map_put(&ref->vocab, v->string, strlen(v->string), v->valueint)) setup_die("out of memory");
    }
    int32_t rank = 0;
    cJSON_ArrayForEach(m, cJSON_GetObjectItem(model, "merges")) {
        char key[1024];
        if (cJSON_IsString(m)) snprintf(key, sizeof key, "%s", m->valuestring);
        else snprintf(key, sizeof key, "%s %s", m->child->valuestring, m->child->next->valuestring);
        if (dy_str_map_put(&ref->ranks, key, strlen(key), rank++)) setup_die("out of memory");
    }
    ref->ignore_merges = cJSON_IsTrue(cJSON_GetObjectItem(model, "ignore_merges"));
    ref->char_level = false;
}

static void reference_free(reference *ref) {
    dy_str_map_free(&ref->vocab);
    dy_str_map_free(&ref->ranks);
}

static int32_t pair_rank(const reference *ref, const char *left, const char *right) {
    const size_t nl = strlen(left), nr = strlen(right);
    if (nl + nr + 1 > 2048) return -1;  // longer than any merge of these tables
    char key[2048];
    memcpy(key, left, nl);
    key[nl] = ' ';
    memcpy(key + nl + 1, right, nr);
    return dy_str_map_get(&ref->ranks, key, nl + 1 + nr);
}

static int32_t vocab_id(const reference *ref, const char *token) {
    const int32_t id = dy_str_map_get(&ref->vocab, token, strlen(token));
    if (id < 0) fail_msg("reference: '%s' is not in the vocabulary", token);
    return id;
}

// The symbols of a char-level word: "▁", then each character, a space as "▁" (Llama-2's
// Prepend and Replace normalizers). The characters used here all have a token: no byte fallback.
static size_t char_symbols(const char *word, size_t len, char **sym) {
    size_t n = 0;
    sym[n++] = strdup("\xe2\x96\x81");
    for (size_t i = 0; i < len;) {
        const unsigned char lead = (unsigned char)word[i];
        const size_t k = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        sym[n] = word[i] == ' ' ? strdup("\xe2\x96\x81") : strndup(word + i, k);
        n++;
        i += k;
    }
    return n;
}

// The ids of one pre-tokenized word (bytes), merged by scanning every adjacent pair each time.
static void reference_word(const reference *ref, const char *word, size_t len, dy_tokens *out) {
    char **sym = xmalloc((len + 1) * sizeof *sym), *whole = xmalloc(2 * len + 1);
    int32_t *rank = xmalloc((len + 1) * sizeof *rank);  // rank[i]: the pair (sym[i], sym[i + 1]), -1 when none
    size_t n = len, whole_len = 0;
    if (ref->char_level) n = len ? char_symbols(word, len, sym) : 0;
    for (size_t i = 0; i < len && !ref->char_level; i++) {
        sym[i] = xmalloc(3);
        gpt2_byte_char((unsigned char)word[i], sym[i]);
        memcpy(whole + whole_len, sym[i], strlen(sym[i]));
        whole_len += strlen(sym[i]);
    }
    whole[whole_len] = '\0';
    if (ref->ignore_merges && dy_str_map_get(&ref->vocab, whole, strlen(whole)) >= 0) {
        dy_tokens_push(out, vocab_id(ref, whole));
        for (size_t i = 0; i < len; i++) free(sym[i]);
        n = 0;
    }
    for (size_t i = 0; i + 1 < n; i++) rank[i] = pair_rank(ref, sym[i], sym[i + 1]);
    for (;;) {
        size_t best = SIZE_MAX;
        for (size_t i = 0; i + 1 < n; i++)  // strictly lower: the leftmost of equal ranks wins
            if (rank[i] >= 0 && (best == SIZE_MAX || rank[i] < rank[best])) best = i;
        if (best == SIZE_MAX) break;
        char *merged = xmalloc(strlen(sym[best]) + strlen(sym[best + 1]) + 1);
        strcat(strcpy(merged, sym[best]), sym[best + 1]);
        free(sym[best]);
        free(sym[best + 1]);
        sym[best] = merged;
        memmove(sym + best + 1, sym + best + 2, (n - best - 2) * sizeof *sym);  // symbols best + 2 .. n - 1
        if (best + 3 < n) memmove(rank + best + 1, rank + best + 2, (n - best - 3) * sizeof *rank);  // pairs .. n - 2
        n--;
        if (best > 0) rank[best - 1] = pair_rank(ref, sym[best - 1], sym[best]);
        if (best + 1 < n) rank[best] = pair_rank(ref, sym[best], sym[best + 1]);
    }
    for (size_t i = 0; i < n; i++) dy_tokens_push(out, vocab_id(ref, sym[i]));
    for (size_t i = 0; i < n; i++) free(sym[i]);
    free(sym);
    free(whole);
    free(rank);
}

// ---- Random words -----------------------------------------------------------------------------

static size_t below(uint64_t *rng, size_t n) {
    size_t k = (size_t)uniform_f32(rng, 0, (float)n);
    return k < n ? k : n - 1;
}

// Mostly short words, a quarter of 33-200 letters, one in twenty of 201-600; the letters drawn
// with uneven weights (the first letter as often as all the others) so that runs form.
static size_t random_word(uint64_t *rng, const char *const *letters, int n_letters, char *out, size_t cap) {
    const float u = uniform_f32(rng, 0, 1);
    const size_t n = u < 0.7f ? 1 + below(rng, 32) : u < 0.95f ? 33 + below(rng, 168) : 201 + below(rng, 400);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l = letters[uniform_f32(rng, 0, 1) < 0.5f ? 0 : 1 + below(rng, (size_t)n_letters - 1)];
        if (len + strlen(l) + 1 > cap) break;
        memcpy(out + len, l, strlen(l));
        len += strlen(l);
    }
    out[len] = '\0';
    return len;
}

static void long_word(uint64_t *rng, const char *const *letters, int n_letters, size_t n, char *out, size_t cap) {
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *l = letters[below(rng, (size_t)n_letters)];
        if (len + strlen(l) + 1 > cap) break;
        memcpy(out + len, l, strlen(l));
        len += strlen(l);
    }
    out[len] = '\0';
}

static void expect_same(dy_tokenizer *tok, const reference *ref, const char *word, const char *what) {
    dy_tokens got = {0}, want = {0};
    dy_error err;
    if (dy_tokenizer_encode(tok, word, strlen(word), false, &got, &err)) fail_msg("%s: %s", what, err.msg);
    reference_word(ref, word, strlen(word), &want);
    bool same = got.n == want.n;
    for (int i = 0; same && i < got.n; i++) same = got.ids[i] == want.ids[i];
    if (!same) {
        int at = 0;
        while (at < got.n && at < want.n && got.ids[at] == want.ids[at]) at++;
        fail_msg("%s: word of %zu bytes '%.80s%s': %d ids, reference %d; first difference at id %d: %d, reference %d",
                 what, strlen(word), word, strlen(word) > 80 ? "..." : "", got.n, want.n, at,
                 at < got.n ? got.ids[at] : -1, at < want.n ? want.ids[at] : -1);
    }
    dy_tokens_free(&got);
    dy_tokens_free(&want);
}

enum { WORD_CAP = 16384, LONG_WORD = 2000 };

// n_words random words and two long ones over each alphabet.
static void compare(dy_tokenizer *tok, const reference *ref, const char *const *const *alphabets, const int *sizes,
                    int n_alphabets, int n_words, uint64_t seed, const char *what) {
    char *word = xmalloc(WORD_CAP);
    uint64_t rng = seed;
    for (int a = 0; a < n_alphabets; a++) {
        for (int i = 0; i < n_words; i++) {
            random_word(&rng, alphabets[a], sizes[a], word, WORD_CAP);
            expect_same(tok, ref, word, what);
        }
        for (int i = 0; i < 2; i++) {
            long_word(&rng, alphabets[a], sizes[a], LONG_WORD, word, WORD_CAP);
            expect_same(tok, ref, word, what);
        }
    }
    free(word);
}

// ---- Synthetic merge tables ------------------------------------------------------------------

enum { SYNTH_MERGES = 400, SYNTH_MAX_LEN = 8 };

// A byte-level tokenizer.json whose merges join random pairs of the tokens made so far over
// {a, b, c} (so most tokens can be made by several merges), in that order or shuffled.
static cJSON *synthetic_tokenizer(uint64_t seed, bool shuffle, bool ignore_merges) {
    uint64_t rng = seed;
    static char tokens[SYNTH_MERGES + 3][SYNTH_MAX_LEN + 1];
    static int merge_left[SYNTH_MERGES], merge_right[SYNTH_MERGES];
    int n_tokens = 3, n_merges = 0;
    strcpy(tokens[0], "a");
    strcpy(tokens[1], "b");
    strcpy(tokens[2], "c");
    while (n_merges < SYNTH_MERGES) {
        const int l = (int)below(&rng, (size_t)n_tokens), r = (int)below(&rng, (size_t)n_tokens);
        if (strlen(tokens[l]) + strlen(tokens[r]) > SYNTH_MAX_LEN) continue;
        bool known = false;
        for (int m = 0; m < n_merges && !known; m++) known = merge_left[m] == l && merge_right[m] == r;
        if (known) continue;
        merge_left[n_merges] = l;
        merge_right[n_merges++] = r;
        char joined[2 * SYNTH_MAX_LEN + 1];
        snprintf(joined, sizeof joined, "%s%s", tokens[l], tokens[r]);
        bool have = false;
        for (int t = 0; t < n_tokens && !have; t++) have = strcmp(tokens[t], joined) == 0;
        if (!have) strcpy(tokens[n_tokens++], joined);
    }
    int order[SYNTH_MERGES];
    for (int m = 0; m < SYNTH_MERGES; m++) order[m] = m;
    for (int m = SYNTH_MERGES - 1; shuffle && m > 0; m--) {
        const int k = (int)below(&rng, (size_t)m + 1), t = order[m];
        order[m] = order[k];
        order[k] = t;
    }
    cJSON *root = cJSON_CreateObject(), *model = cJSON_AddObjectToObject(root, "model");
    cJSON_AddStringToObject(model, "type", "BPE");
    cJSON_AddBoolToObject(model, "ignore_merges", ignore_merges);
    cJSON *vocab = cJSON_AddObjectToObject(model, "vocab"), *merges = cJSON_AddArrayToObject(model, "merges");
    for (int b = 0; b < 256; b++) {
        char c[3];
        gpt2_byte_char(b, c);
        cJSON_AddNumberToObject(vocab, c, b);
    }
    for (int t = 3; t < n_tokens; t++) cJSON_AddNumberToObject(vocab, tokens[t], 256 + t);
    for (int m = 0; m < SYNTH_MERGES; m++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(tokens[merge_left[order[m]]]));
        cJSON_AddItemToArray(pair, cJSON_CreateString(tokens[merge_right[order[m]]]));
        cJSON_AddItemToArray(merges, pair);
    }
    cJSON *pre = cJSON_AddObjectToObject(root, "pre_tokenizer");
    cJSON_AddStringToObject(pre, "type", "ByteLevel");
    cJSON_AddBoolToObject(pre, "add_prefix_space", false);
    cJSON_AddBoolToObject(pre, "use_regex", false);  // no split: the whole input is one word
    cJSON_AddStringToObject(cJSON_AddObjectToObject(root, "decoder"), "type", "ByteLevel");
    return root;
}

static void check_synthetic(bool shuffle, bool ignore_merges, uint64_t seed, const char *what) {
    static const char *const abc[] = {"a", "b", "c"}, *const ab[] = {"a", "b"}, *const ca[] = {"c", "a"};
    static const char *const *const alphabets[] = {abc, ab, ca};
    static const int sizes[] = {3, 2, 2};
    cJSON *root = synthetic_tokenizer(seed, shuffle, ignore_merges);
    char *json = cJSON_PrintUnformatted(root);
    dy_tokenizer *tok;
    dy_error err;
    if (dy_tokenizer_parse(json, strlen(json), what, &tok, &err)) fail_msg("%s", err.msg);
    reference ref;
    reference_init(&ref, cJSON_GetObjectItem(root, "model"));
    compare(tok, &ref, alphabets, sizes, 3, 700, seed, what);
    reference_free(&ref);
    dy_tokenizer_free(tok);
    free(json);
    cJSON_Delete(root);
}

static void test_synthetic_training_order(void **state) {
    (void)state;
    check_synthetic(false, false, 1, "synthetic merges in training order");
}

static void test_synthetic_shuffled(void **state) {
    (void)state;
    check_synthetic(true, false, 2, "synthetic merges shuffled");
    check_synthetic(true, false, 3, "synthetic merges shuffled (another table)");
}

static void test_synthetic_ignore_merges(void **state) {
    (void)state;
    check_synthetic(true, true, 4, "synthetic merges shuffled, ignore_merges");
}

// ---- The real tables --------------------------------------------------------------------------

// char_level: the text is one word, so spaces join the letters (one alphabet more).
static void check_real(const char *name, uint64_t seed, bool char_level) {
    static const char *const ab[] = {"a", "b"}, *const abc[] = {"a", "b", "c"}, *const erst[] = {"e", "r", "s", "t"},
                             *const low[] = {"l", "o", "w"}, *const cjk[] = {"的", "一", "是"}, *const mixed[] = {"e", "é", "n"},
                             *const spaced[] = {" ", "t", "he", "a"};
    static const char *const *const alphabets[] = {ab, abc, erst, low, cjk, mixed, spaced};
    static const int sizes[] = {2, 3, 4, 3, 3, 3, 4};
    char dir[PATH_MAX], path[PATH_MAX];
    dy_error err;
    if (dy_path_join(dir, sizeof dir, tokenizer_dir, name, &err) || dy_path_join(path, sizeof path, dir, "tokenizer.json", &err))
        fail_msg("%s", err.msg);
    dy_tokenizer *tok;
    if (dy_tokenizer_load(dir, &tok, &err)) fail_msg("%s (run launch/fetch-tokenizers.sh)", err.msg);
    char *json = dy_read_file(path, NULL, &err);
    cJSON *root = json ? cJSON_Parse(json) : NULL;
    if (!root) fail_msg("%s: cannot read", path);
    reference ref;
    reference_init(&ref, cJSON_GetObjectItem(root, "model"));
    ref.char_level = char_level;
    compare(tok, &ref, alphabets, sizes, char_level ? 7 : 6, 400, seed, name);
    reference_free(&ref);
    cJSON_Delete(root);
    free(json);
    dy_tokenizer_free(tok);
}

static void test_qwen3(void **state) {
    (void)state;
    check_real("qwen3", 5, false);
}

static void test_llama3(void **state) {
    (void)state;
    check_real("llama3_1", 6, false);
}

static void test_lenml_llama2(void **state) {
    (void)state;
    check_real("lenml_llama2", 7, true);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "TOKENIZER_DIR", &tokenizer_dir, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthetic_training_order), cmocka_unit_test(test_synthetic_shuffled),
        cmocka_unit_test(test_synthetic_ignore_merges), cmocka_unit_test(test_qwen3), cmocka_unit_test(test_llama3),
        cmocka_unit_test(test_lenml_llama2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

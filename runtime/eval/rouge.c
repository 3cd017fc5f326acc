#include "rouge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "porter_stemmer.h"
#include "py_text.h"
#include "runtime/util/hash_map.h"

// A text's tokens as ids shared by target and prediction, and where each non-empty line's
// tokens end (the sentences of rougeLsum: the text split on "\n", empty lines dropped).
typedef struct {
    int32_t *ids;
    size_t n, cap;
    size_t *line_end;
    size_t n_lines, lines_cap;
} tokens;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q) return -1;
    *p = q;
    *cap = cap2;
    return 0;
}

static void tokens_free(tokens *t) {
    free(t->ids);
    free(t->line_end);
    *t = (tokens){0};
}

static bool ascii_alnum(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One token of a line (lowercase ASCII), stemmed when longer than 3, interned into vocab.
static int add_token(char *word, size_t len, dy_str_map *vocab, tokens *t) {
    if (len > 3) len = dy_porter_stem(word, len);
    if (len == 0) return 0;  // rouge_score drops empty tokens
    int32_t id = dy_str_map_get(vocab, word, len);
    if (id < 0 && dy_str_map_put(vocab, word, len, id = (int32_t)vocab->n)) return -1;
    if (grow((void **)&t->ids, &t->cap, t->n + 1, sizeof *t->ids)) return -1;
    t->ids[t->n++] = id;
    return 0;
}

static int tokenize_line(const uint32_t *s, size_t n, dy_str_map *vocab, char **word, size_t *word_cap, tokens *t) {
    dy_ustr lower = {0};
    int rc = dy_py_lower(s, n, &lower);
    for (size_t i = 0; rc == 0 && i < lower.n;) {
        if (!ascii_alnum(lower.cp[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < lower.n && ascii_alnum(lower.cp[j])) j++;
        rc = grow((void **)word, word_cap, j - i, 1);
        for (size_t k = i; rc == 0 && k < j; k++) (*word)[k - i] = (char)lower.cp[k];
        if (rc == 0) rc = add_token(*word, j - i, vocab, t);
        i = j;
    }
    dy_ustr_free(&lower);
    return rc;
}

static int tokenize(const uint32_t *s, size_t n, dy_str_map *vocab, tokens *t) {
    char *word = NULL;
    size_t word_cap = 0;
    int rc = 0;
    for (size_t start = 0; rc == 0 && start <= n;) {
        size_t end = start;
        while (end < n && s[end] != '\n') end++;
        if (end > start) {
            rc = tokenize_line(s + start, end - start, vocab, &word, &word_cap, t) ||
                 grow((void **)&t->line_end, &t->lines_cap, t->n_lines + 1, sizeof *t->line_end);
            if (rc == 0) t->line_end[t->n_lines++] = t->n;
        }
        start = end + 1;
    }
    free(word);
    return rc;
}

static double fmeasure(double precision, double recall) {
    return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

static dy_rouge score_of(double precision, double recall) {
    return (dy_rouge){dy_metric_float(fmeasure(precision, recall)), dy_metric_float(recall)};
}

static const dy_rouge ZERO_SCORE = {{DY_METRIC_INT, 0}, {DY_METRIC_INT, 0}};

// The LCS length of a and b (two rows of the table).
static int lcs_length(const int32_t *a, size_t na, const int32_t *b, size_t nb, size_t *out) {
    size_t *prev = calloc(nb + 1, sizeof *prev), *cur = calloc(nb + 1, sizeof *cur);
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return -1;
    }
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++)
            cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : (prev[j] > cur[j - 1] ? prev[j] : cur[j - 1]);
        size_t *swap = prev;
        prev = cur;
        cur = swap;
    }
    *out = prev[nb];
    free(prev);
    free(cur);
    return 0;
}

// lcs_ind: marks in in_lcs the positions of ref on the LCS that _backtrack_norec reads out of
// the full table (from the end; on a tie it moves up in ref rather than left in can).
static int mark_lcs(const int32_t *ref, size_t nr, const int32_t *can, size_t nc, bool *in_lcs) {
    const size_t w = nc + 1;
    size_t *t = calloc((nr + 1) * w, sizeof *t);
    if (!t) return -1;
    for (size_t i = 1; i <= nr; i++)
        for (size_t j = 1; j <= nc; j++)
            t[i * w + j] = ref[i - 1] == can[j - 1] ? t[(i - 1) * w + j - 1] + 1
                                                    : (t[(i - 1) * w + j] > t[i * w + j - 1] ? t[(i - 1) * w + j] : t[i * w + j - 1]);
    for (size_t i = nr, j = nc; i > 0 && j > 0;) {
        if (ref[i - 1] == can[j - 1]) {
            in_lcs[i - 1] = true;
            i--;
            j--;
        } else if (t[i * w + j - 1] > t[(i - 1) * w + j]) {
            j--;
        } else {
            i--;
        }
    }
    free(t);
    return 0;
}

// _summary_level_lcs over the lines of target (ref) and prediction (can).
static int summary_level_lcs(const tokens *ref, const tokens *can, size_t vocab, dy_rouge *out) {
    if (ref->n_lines == 0 || can->n_lines == 0 || ref->n == 0 || can->n == 0) {
        *out = ZERO_SCORE;
        return 0;
    }
    size_t *count_r = calloc(vocab, sizeof *count_r), *count_c = calloc(vocab, sizeof *count_c);
    bool *in_lcs = malloc(ref->n * sizeof *in_lcs);
    int rc = count_r && count_c && in_lcs ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < ref->n; i++) count_r[ref->ids[i]]++;
    for (size_t i = 0; rc == 0 && i < can->n; i++) count_c[can->ids[i]]++;
    size_t hits = 0;
    for (size_t r = 0, r0 = 0; rc == 0 && r < ref->n_lines; r0 = ref->line_end[r++]) {
        const size_t nr = ref->line_end[r] - r0;
        memset(in_lcs, 0, ref->n * sizeof *in_lcs);
        for (size_t c = 0, c0 = 0; rc == 0 && c < can->n_lines; c0 = can->line_end[c++])
            rc = mark_lcs(ref->ids + r0, nr, can->ids + c0, can->line_end[c] - c0, in_lcs);
        for (size_t i = 0; rc == 0 && i < nr; i++) {
            const int32_t tok = ref->ids[r0 + i];
            if (in_lcs[i] && count_c[tok] > 0 && count_r[tok] > 0) {
                hits++;
                count_c[tok]--;
                count_r[tok]--;
            }
        }
    }
    if (rc == 0) *out = score_of((double)hits / (double)can->n, (double)hits / (double)ref->n);
    free(count_r);
    free(count_c);
    free(in_lcs);
    return rc;
}

int dy_rouge_score(const uint32_t *target, size_t n_target, const uint32_t *prediction, size_t n_prediction,
                   dy_rouge *rouge_l, dy_rouge *rouge_lsum, dy_error *err) {
    dy_str_map vocab;
    tokens ref = {0}, can = {0};
    if (dy_str_map_init(&vocab, 64)) return dy_fail(err, "rouge: out of memory");
    int rc = tokenize(target, n_target, &vocab, &ref) || tokenize(prediction, n_prediction, &vocab, &can);
    size_t lcs = 0;
    if (rc == 0 && ref.n && can.n) rc = lcs_length(ref.ids, ref.n, can.ids, can.n, &lcs);
    if (rc == 0) {
        *rouge_l = ref.n && can.n ? score_of((double)lcs / (double)can.n, (double)lcs / (double)ref.n) : ZERO_SCORE;
        rc = summary_level_lcs(&ref, &can, vocab.n, rouge_lsum);
    }
    tokens_free(&ref);
    tokens_free(&can);
    dy_str_map_free(&vocab);
    return rc ? dy_fail(err, "rouge: out of memory") : 0;
}

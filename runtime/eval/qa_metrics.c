#include "qa_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_example.h"
#include "rouge.h"
#include "runtime/util/hash_map.h"

void dy_qa_golds_free(dy_qa_golds *g) {
    for (int i = 0; i < g->n; i++) dy_ustr_free(&g->answer[i]);
    free(g->answer);
    *g = (dy_qa_golds){0};
}

static int add_gold(dy_qa_golds *g, const cJSON *v, const char *what, dy_error *err) {
    dy_ustr *p = realloc(g->answer, (size_t)(g->n + 1) * sizeof *p);
    if (!p) return dy_fail(err, "%s: out of memory", what);
    g->answer = p;
    g->answer[g->n] = (dy_ustr){0};
    return dy_example_string(v, what, &g->answer[g->n++], err);
}

int dy_qa_golds_read(const cJSON *example, dy_qa_golds *g, dy_error *err) {
    const cJSON *answer = dy_example_field(example, true, "answer", err);
    if (!answer) return -1;
    int rc = 0;
    if (cJSON_IsString(answer)) {
        rc = add_gold(g, answer, "example.item.answer", err);
    } else if (!cJSON_IsArray(answer) || cJSON_GetArraySize(answer) == 0) {
        rc = dy_fail(err, "example.item.answer: expected a string or a non-empty list of answers");
    } else {
        const bool nested = cJSON_IsArray(answer->child);  // a list of lists when the first is a list
        int i = 0;
        for (const cJSON *a = answer->child; rc == 0 && a; a = a->next, i++) {
            char what[64];
            snprintf(what, sizeof what, "example.item.answer[%d]", i);
            if (!nested) {
                rc = add_gold(g, a, what, err);
            } else if (!cJSON_IsArray(a)) {
                rc = dy_fail(err, "%s: expected a list of strings like answer[0]", what);
            } else {
                int k = 0;
                for (const cJSON *s = a->child; rc == 0 && s; s = s->next, k++) {
                    char inner[80];
                    snprintf(inner, sizeof inner, "%s[%d]", what, k);
                    rc = add_gold(g, s, inner, err);
                }
            }
        }
        if (rc == 0 && g->n == 0) rc = dy_fail(err, "example.item.answer: the lists hold no answer");
    }
    if (rc) dy_qa_golds_free(g);
    return rc;
}

static bool is_article(const uint32_t *w, size_t n) {
    static const char *const articles[] = {"a", "an", "the"};
    for (size_t a = 0; a < 3; a++)
        if (strlen(articles[a]) == n && dy_ustr_find_ascii(w, n, 0, articles[a], false) == 0) return true;
    return false;
}

int dy_qa_normalize(const uint32_t *s, size_t n, dy_ustr *out) {
    dy_ustr lower = {0}, kept = {0};
    int rc = dy_py_lower(s, n, &lower);
    // string.punctuation: the ASCII punctuation characters.
    for (size_t i = 0; rc == 0 && i < lower.n; i++) {
        const uint32_t c = lower.cp[i];
        if (!(c < 128 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", (int)c) && c != 0)) rc = dy_ustr_push(&kept, c);
    }
    // re.sub(r'\b(a|an|the)\b', ' ', ...) replaces the words (maximal runs of \w) that are
    // articles; then ' '.join(text.split()).
    bool pending_space = false;
    for (size_t i = 0; rc == 0 && i < kept.n;) {
        size_t j = i;
        if (dy_py_isword(kept.cp[i]))
            while (j < kept.n && dy_py_isword(kept.cp[j])) j++;
        else
            j = i + 1;
        const bool article = dy_py_isword(kept.cp[i]) && is_article(kept.cp + i, j - i);
        if (article || dy_py_isspace(kept.cp[i])) {
            pending_space = out->n > 0;
        } else {
            if (pending_space) rc = dy_ustr_push(out, ' ');
            pending_space = false;
            if (rc == 0) rc = dy_ustr_append(out, kept.cp + i, j - i);
        }
        i = j;
    }
    dy_ustr_free(&lower);
    dy_ustr_free(&kept);
    return rc;
}

// Where the token of a normalised text (tokens are separated by single spaces) at i ends.
static size_t token_end(const dy_ustr *s, size_t i) {
    while (i < s->n && s->cp[i] != ' ') i++;
    return i;
}

// sum((Counter(prediction) & Counter(gold)).values()) and the two token counts: gold's tokens
// counted in a map, then each prediction token takes one of its kind while any is left. (Sorting
// both token lists took most of a long output's time.)
static int common_tokens(const dy_ustr *pred, const dy_ustr *gold, size_t *common, size_t *np, size_t *ng) {
    dy_str_map left;  // a token's code points as bytes -> how many of it gold has not given yet
    int rc = dy_str_map_init(&left, (uint32_t)(gold->n / 2 + 1));
    *common = *np = *ng = 0;
    for (size_t i = 0, e; rc == 0 && i < gold->n; i = e + 1, ++*ng) {
        e = token_end(gold, i);
        const char *key = (const char *)(gold->cp + i);
        const size_t len = (e - i) * sizeof *gold->cp;
        const int32_t had = dy_str_map_get(&left, key, len);
        rc = dy_str_map_put(&left, key, len, had < 0 ? 1 : had + 1);
    }
    for (size_t i = 0, e; rc == 0 && i < pred->n; i = e + 1, ++*np) {
        e = token_end(pred, i);
        const char *key = (const char *)(pred->cp + i);
        const size_t len = (e - i) * sizeof *pred->cp;
        const int32_t had = dy_str_map_get(&left, key, len);
        if (had > 0) {
            ++*common;
            rc = dy_str_map_put(&left, key, len, had - 1);
        }
    }
    dy_str_map_free(&left);
    return rc;
}

static bool is_yes_no(const dy_ustr *s) {
    static const char *const words[] = {"yes", "no", "noanswer"};
    for (size_t w = 0; w < 3; w++)
        if (strlen(words[w]) == s->n && dy_ustr_find_ascii(s->cp, s->n, 0, words[w], false) == 0) return true;
    return false;
}

// f1_score(prediction, ground_truth)[0] on normalised texts: int 0 or a float.
static int f1(const dy_ustr *pred, const dy_ustr *gold, dy_metric *out) {
    const bool same = dy_ustr_equal(pred->cp, pred->n, gold->cp, gold->n);
    if ((is_yes_no(pred) || is_yes_no(gold)) && !same) {
        *out = dy_metric_int(0);
        return 0;
    }
    size_t common, np, ng;
    if (common_tokens(pred, gold, &common, &np, &ng)) return -1;
    if (common == 0) {
        *out = dy_metric_int(0);
        return 0;
    }
    const double precision = 1.0 * (double)common / (double)np, recall = 1.0 * (double)common / (double)ng;
    *out = dy_metric_float((2 * precision * recall) / (precision + recall));
    return 0;
}

int dy_qa_calculate_metrics(const uint32_t *prediction, size_t n, const dy_qa_golds *g, bool rouge, dy_metrics *m,
                            dy_error *err) {
    dy_ustr pred = {0};
    int rc = dy_qa_normalize(prediction, n, &pred);
    dy_metric em = {0}, f = {0}, sub = {0};
    dy_rouge best_l = {0}, best_lsum = {0};
    for (int i = 0; rc == 0 && i < g->n; i++) {
        dy_ustr gold = {0};
        dy_metric f_i;
        rc = dy_qa_normalize(g->answer[i].cp, g->answer[i].n, &gold) || f1(&pred, &gold, &f_i);
        const ptrdiff_t at = rc == 0 ? dy_ustr_find(pred.cp, pred.n, 0, gold.cp, gold.n) : -1;
        if (at < -1) rc = -1;  // out of memory
        if (rc == 0) {
            const dy_metric em_i = dy_metric_bool(dy_ustr_equal(pred.cp, pred.n, gold.cp, gold.n));
            const dy_metric sub_i = dy_metric_bool(at >= 0);
            // max() over the answers keeps the first of equal values.
            em = i ? dy_metric_max(em, em_i) : em_i;
            f = i ? dy_metric_max(f, f_i) : f_i;
            sub = i ? dy_metric_max(sub, sub_i) : sub_i;
        }
        dy_ustr_free(&gold);
        if (rc == 0 && rouge) {
            dy_rouge l, lsum;
            if (dy_rouge_score(g->answer[i].cp, g->answer[i].n, prediction, n, &l, &lsum, err)) {
                dy_ustr_free(&pred);
                return -1;
            }
            best_l = i ? (dy_rouge){dy_metric_max(best_l.fmeasure, l.fmeasure), dy_metric_max(best_l.recall, l.recall)} : l;
            best_lsum = i ? (dy_rouge){dy_metric_max(best_lsum.fmeasure, lsum.fmeasure),
                                             dy_metric_max(best_lsum.recall, lsum.recall)}
                          : lsum;
        }
    }
    dy_ustr_free(&pred);
    if (rc) return dy_fail(err, "output: out of memory");
    *m = (dy_metrics){0};
    dy_metrics_set(m, "exact_match", em);
    dy_metrics_set(m, "f1", f);
    dy_metrics_set(m, "substring_exact_match", sub);
    if (rouge) {
        dy_metrics_set(m, "rougeL_f1", best_l.fmeasure);
        dy_metrics_set(m, "rougeL_recall", best_l.recall);
        dy_metrics_set(m, "rougeLsum_f1", best_lsum.fmeasure);
        dy_metrics_set(m, "rougeLsum_recall", best_lsum.recall);
    }
    return 0;
}

int dy_qa_parse_output(const uint32_t *s, size_t n, dy_ustr *out) {
    const ptrdiff_t at = dy_ustr_find_ascii(s, n, 0, "answer:", true);
    const size_t start = at >= 0 ? (size_t)at + 7 : 0;
    size_t end = start;
    while (end < n && s[end] != '\n') end++;
    size_t a, b;
    dy_py_strip(s + start, end - start, &a, &b);
    a += start;
    b += start;
    if (dy_ustr_find_ascii(s + a, b - a, 0, "answer:", true) == 0) a += 7;
    size_t a2, b2;
    dy_py_strip(s + a, b - a, &a2, &b2);
    return dy_ustr_append(out, s + a + a2, b2 - a2);
}

void dy_qa_max_metrics(dy_metrics *m, const dy_metrics *other) {
    for (int i = 0; i < m->n; i++) {
        const dy_metric *o = dy_metrics_get(other, m->name[i]);
        if (o) m->value[i] = dy_metric_max(m->value[i], *o);
    }
}

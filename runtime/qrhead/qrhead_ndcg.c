#include "qrhead_ndcg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"

static int push(dy_qrels *q, int *cap, const char *query, const char *doc, int rel) {
    if (q->n == *cap) {
        const int next = *cap ? 2 * *cap : 64;
        dy_qrel *at = realloc(q->at, (size_t)next * sizeof *at);
        if (!at) return -1;
        q->at = at;
        *cap = next;
    }
    dy_qrel *r = &q->at[q->n];
    if (!(r->query = strdup(query)) || !(r->doc = strdup(doc))) {
        free(r->query);
        return -1;
    }
    r->rel = rel;
    q->n++;
    return 0;
}

int dy_qrels_load(const char *path, dy_qrels *q, dy_error *err) {
    *q = (dy_qrels){0};
    char *text = dy_read_text_file(path, err);
    if (!text) return -1;
    int cap = 0, rc = 0, line_no = 0;
    for (char *line = text, *next; rc == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        line_no++;
        char *f[5], *save = NULL;
        int n = 0;
        for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
            if (n == 5) break;
            f[n++] = t;
        }
        if (n == 0) continue;
        if (line_no == 1 && n == 3 && strcmp(f[0], "query-id") == 0) continue;  // BEIR's header
        if (n != 3 && n != 4) {
            rc = dy_fail(err, "%s: line %d: expected QUERY ITER DOC REL or QUERY DOC REL, got %d fields", path, line_no, n);
            break;
        }
        char *end;
        const long rel = strtol(f[n - 1], &end, 10);
        if (*end || end == f[n - 1] || rel < -1000000 || rel > 1000000) {
            rc = dy_fail(err, "%s: line %d: relevance '%.40s' is not a whole number", path, line_no, f[n - 1]);
            break;
        }
        if (rel > 0 && push(q, &cap, f[0], f[n - 2], (int)rel)) rc = dy_fail(err, "%s: out of memory", path);
    }
    free(text);
    if (rc == 0 && q->n == 0) rc = dy_fail(err, "%s: no judgment of relevance above 0", path);
    if (rc) dy_qrels_free(q);
    return rc;
}

void dy_qrels_free(dy_qrels *q) {
    for (int i = 0; i < q->n; i++) {
        free(q->at[i].query);
        free(q->at[i].doc);
    }
    free(q->at);
    *q = (dy_qrels){0};
}

typedef struct {
    const char *doc;
    double score;
    int rel;
} ranked;

static int by_score_then_doc_desc(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return strcmp(y->doc, x->doc);
}

static int by_int_desc(const void *a, const void *b) { return *(const int *)b - *(const int *)a; }

bool dy_ndcg_prepare(const dy_qrels *q, const char *query, const char *const *docs, int n, int *rel, double *ideal) {
    int judged = 0;
    for (int i = 0; i < q->n; i++) judged += strcmp(q->at[i].query, query) == 0;
    if (judged == 0) return false;
    int rels[judged], k = 0;
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->at[i].query, query) == 0) rels[k++] = q->at[i].rel;
    qsort(rels, (size_t)judged, sizeof *rels, by_int_desc);
    *ideal = 0;
    for (int i = 0; i < judged && i < 10; i++) *ideal += rels[i] / log2(i + 2.0);
    for (int d = 0; d < n; d++) {
        rel[d] = strcmp(docs[d], query) == 0 ? -1 : 0;  // BEIR's ignore_identical_ids
        for (int i = 0; i < q->n && rel[d] == 0; i++)
            if (strcmp(q->at[i].query, query) == 0 && strcmp(q->at[i].doc, docs[d]) == 0) rel[d] = q->at[i].rel;
    }
    return true;
}

double dy_ndcg10(const char *const *docs, const int *rel, const double *scores, int n, double ideal) {
    ranked run[n > 0 ? n : 1];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (rel[i] >= 0) run[m++] = (ranked){docs[i], scores[i], rel[i]};
    qsort(run, (size_t)m, sizeof *run, by_score_then_doc_desc);
    double dcg = 0;
    for (int i = 0; i < m && i < 10; i++) dcg += run[i].rel / log2(i + 2.0);
    return dcg / ideal;
}

double dy_ndcg_mean_rounded(double sum, int n_queries) {
    if (n_queries == 0) return 0;
    char text[64];
    snprintf(text, sizeof text, "%.5f", sum / n_queries);  // correctly rounded, as Python's round(x, 5)
    return strtod(text, NULL);
}

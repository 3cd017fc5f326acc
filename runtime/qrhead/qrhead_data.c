#include "qrhead_data.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/eval/py_text.h"
#include "runtime/util/json_util.h"

// Where an error is: "FILE: example 3 (idx q7): " or "FILE: " for a docs file.
typedef struct {
    const char *path;
    int example;      // -1: a docs file
    const char *idx;  // the example's idx once read
} where;

static int fail_at(const where *w, dy_error *err, const char *field, const char *problem) {
    if (w->example < 0) return dy_fail(err, "%s: %s: %s", w->path, field, problem);
    if (w->idx) return dy_fail(err, "%s: example %d (idx %s): %s: %s", w->path, w->example, w->idx, field, problem);
    return dy_fail(err, "%s: example %d: %s: %s", w->path, w->example, field, problem);
}

// An id: a string, or a whole number written as its decimal text.
static char *read_id(const cJSON *v, const where *w, const char *field, dy_error *err) {
    char text[32];
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9007199254740992.0) {
        snprintf(text, sizeof text, "%.0f", v->valuedouble);
        return strdup(text);
    }
    fail_at(w, err, field, v ? "expected a string or a whole number" : "missing");
    return NULL;
}

static char *read_string(const cJSON *obj, const char *key, const where *w, const char *field, dy_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(v)) {
        fail_at(w, err, field, v ? "expected a string" : "missing");
        return NULL;
    }
    return strdup(v->valuestring);
}

static bool blank(const char *s) {
    size_t a, b;
    dy_py_strip_utf8(s, strlen(s), &a, &b);
    return a == b;
}

static int read_doc(const cJSON *v, const where *w, int k, dy_qr_doc *d, dy_error *err) {
    char field[64];
    snprintf(field, sizeof field, "paragraphs[%d]", k);
    if (w->example < 0) snprintf(field, sizeof field, "[%d]", k);
    if (!cJSON_IsObject(v)) return fail_at(w, err, field, "expected an object {idx, title, paragraph_text}");
    char sub[96];
    snprintf(sub, sizeof sub, "%s.idx", field);
    if (!(d->idx = read_id(cJSON_GetObjectItemCaseSensitive(v, "idx"), w, sub, err))) return -1;
    snprintf(sub, sizeof sub, "%s.paragraph_text", field);
    if (!(d->text = read_string(v, "paragraph_text", w, sub, err))) return -1;
    if (blank(d->text)) return fail_at(w, err, sub, "empty paragraph");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(v, "title");
    snprintf(sub, sizeof sub, "%s.title", field);
    if (title && !cJSON_IsNull(title) && !(d->title = read_string(v, "title", w, sub, err))) return -1;
    return 0;
}

static int read_docs(const cJSON *list, const where *w, const char *field, dy_qr_doc **docs, int *n, dy_error *err) {
    if (!cJSON_IsArray(list)) return fail_at(w, err, field, list ? "expected a list of paragraphs" : "missing");
    const int count = cJSON_GetArraySize(list);
    if (count == 0) return fail_at(w, err, field, "no paragraphs");
    if (!(*docs = calloc((size_t)count, sizeof **docs))) return dy_fail(err, "%s: out of memory", w->path);
    *n = count;
    int k = 0;
    for (const cJSON *v = list->child; v; v = v->next, k++) {
        if (read_doc(v, w, k, &(*docs)[k], err)) return -1;
        for (int j = 0; j < k; j++)  // the reference keys its results by idx: a repeat would hide a document
            if (strcmp((*docs)[j].idx, (*docs)[k].idx) == 0) {
                char sub[64], problem[96];
                snprintf(sub, sizeof sub, w->example < 0 ? "[%d].idx" : "paragraphs[%d].idx", k);
                snprintf(problem, sizeof problem, "idx %.40s repeats paragraph %d's", (*docs)[k].idx, j);
                return fail_at(w, err, sub, problem);
            }
    }
    return 0;
}

static int read_gold(const cJSON *obj, const where *w, dy_qr_example *e, dy_error *err) {
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(obj, "gt_docs");
    if (!cJSON_IsArray(list)) return fail_at(w, err, "gt_docs", list ? "expected a list of paragraph ids" : "missing");
    const int count = cJSON_GetArraySize(list);
    if (count && !(e->gold = calloc((size_t)count, sizeof *e->gold))) return dy_fail(err, "%s: out of memory", w->path);
    for (const cJSON *v = list->child; v; v = v->next) {
        char field[32];
        snprintf(field, sizeof field, "gt_docs[%d]", e->n_gold);
        if (!(e->gold[e->n_gold] = read_id(v, w, field, err))) return -1;
        bool found = false;
        for (int k = 0; k < e->n_docs && !found; k++) found = strcmp(e->docs[k].idx, e->gold[e->n_gold]) == 0;
        e->n_gold++;
        if (!found) return fail_at(w, err, field, "names no paragraph of the example");
    }
    return 0;
}

int dy_qr_data_load(const char *path, bool need_gold, dy_qr_data *out, dy_error *err) {
    *out = (dy_qr_data){0};
    cJSON *root = dy_json_read_file(path, err);
    if (!root) return -1;
    int rc = 0;
    if (!cJSON_IsArray(root) || cJSON_GetArraySize(root) == 0)
        rc = dy_fail(err, "%s: expected a non-empty JSON list of examples {idx, question, paragraphs%s}", path,
                     need_gold ? ", gt_docs" : "");
    else if (!(out->ex = calloc((size_t)cJSON_GetArraySize(root), sizeof *out->ex)))
        rc = dy_fail(err, "%s: out of memory", path);
    for (const cJSON *v = rc ? NULL : root->child; v && rc == 0; v = v->next) {
        where w = {path, out->n, NULL};
        dy_qr_example *e = &out->ex[out->n++];
        if (!cJSON_IsObject(v)) rc = fail_at(&w, err, "example", "expected an object");
        else if (!(e->idx = read_id(cJSON_GetObjectItemCaseSensitive(v, "idx"), &w, "idx", err))) rc = -1;
        else if ((w.idx = e->idx), !(e->question = read_string(v, "question", &w, "question", err))) rc = -1;
        else if (blank(e->question)) rc = fail_at(&w, err, "question", "empty");
        else if (read_docs(cJSON_GetObjectItemCaseSensitive(v, "paragraphs"), &w, "paragraphs", &e->docs, &e->n_docs,
                           err))
            rc = -1;
        else if (need_gold && read_gold(v, &w, e, err)) rc = -1;
        for (int j = 0; rc == 0 && j < out->n - 1; j++)
            if (strcmp(out->ex[j].idx, e->idx) == 0) {
                char problem[96];
                snprintf(problem, sizeof problem, "repeats example %d's (results are keyed by it)", j);
                rc = fail_at(&w, err, "idx", problem);
            }
    }
    cJSON_Delete(root);
    if (rc) dy_qr_data_free(out);
    return rc;
}

void dy_qr_docs_free(dy_qr_doc *docs, int n) {
    for (int k = 0; docs && k < n; k++) {
        free(docs[k].idx);
        free(docs[k].title);
        free(docs[k].text);
    }
    free(docs);
}

void dy_qr_data_free(dy_qr_data *d) {
    for (int i = 0; d->ex && i < d->n; i++) {
        dy_qr_example *e = &d->ex[i];
        free(e->idx);
        free(e->question);
        dy_qr_docs_free(e->docs, e->n_docs);
        for (int g = 0; g < e->n_gold; g++) free(e->gold[g]);
        free(e->gold);
    }
    free(d->ex);
    *d = (dy_qr_data){0};
}

int dy_qr_docs_load(const char *path, dy_qr_doc **docs, int *n, dy_error *err) {
    *docs = NULL;
    *n = 0;
    cJSON *root = dy_json_read_file(path, err);
    if (!root) return -1;
    const where w = {path, -1, NULL};
    int rc = cJSON_IsArray(root) ? read_docs(root, &w, "paragraphs", docs, n, err)
                                 : dy_fail(err, "%s: expected a JSON list of {idx, title, paragraph_text}", path);
    cJSON_Delete(root);
    if (rc) {
        dy_qr_docs_free(*docs, *n);
        *docs = NULL;
        *n = 0;
    }
    return rc;
}

void dy_qr_prepare_text(dy_qr_doc *d, int truncate_words) {
    size_t a, b;
    dy_py_strip_utf8(d->text, strlen(d->text), &a, &b);
    memmove(d->text, d->text + a, b - a);
    d->text[b - a] = '\0';
    if (truncate_words <= 0) return;
    // split(' ') keeps empty words between repeated spaces, so the cut is at the n-th space.
    int spaces = 0;
    for (char *p = d->text; *p; p++)
        if (*p == ' ' && ++spaces == truncate_words) {
            *p = '\0';
            break;
        }
}

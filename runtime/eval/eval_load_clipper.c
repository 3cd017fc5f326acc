// CLIPPER as the reference loads it (eval_datasets/clipper/clipper_data.py): the records
// {data: sample, label} of clipper/test-400.json (test-400_sp1.json, test-400_sp2.json), the
// sample's paragraphs ordered by int(idx) (a stable sort; of two paragraphs with one idx the last
// one's text, as its dict keeps it) and joined by blank lines, the instruction with the context
// and the statement in its two "{}", reference_output TRUE or FALSE, and {**sample, "label"} as
// the item.
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_loaders.h"
#include "runtime/util/file_util.h"
#include "runtime/util/hash_map.h"
#include "runtime/util/text_buffer.h"

static const char SOURCE[] =
    "the reference ships no CLIPPER data: its loader reads the CLIPPER test set subsampled to 400 (TRUE, FALSE) "
    "records {data, label} in data_eval/clipper";

static const char BEFORE_CONTEXT[] =
    "You are provided with a context and a statement. Your task is to carefully read the context and then determine "
    "whether the statement is true or false.  \n\nAnswer TRUE if the statement is true in its entirety based on the "
    "context provided.\nAnswer FALSE if any part of the statement is false based on the context provided.\n\n<context>";
static const char BEFORE_STATEMENT[] = "</context>\n\n\n<statement>";
static const char AFTER_STATEMENT[] =
    "</statement>\n\n<question>Based on the context provided, is the above statement TRUE or FALSE?</question>\n\n"
    "First provide an explanation of your decision-making process, and then provide your final answer. Use the "
    "following format:\n\n<explanation>YOUR EXPLANATION</explanation>\n<answer>YOUR ANSWER</answer>";

typedef struct {
    char key[32];      // str(doc["idx"])
    long long order;   // int() of it
    int position;      // in the paragraph list (the stable sort's tie-break)
} paragraph;

static int by_order(const void *a, const void *b) {
    const paragraph *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return x->position - y->position;
}

// str(idx) of a paragraph: a string of digits (int() of it the order) or a whole number. Python's
// int() has no range; an idx beyond long long's is refused rather than misordered.
static int paragraph_key(const cJSON *idx, paragraph *p, const char *where, dy_error *err) {
    static const char expected[] = "%s.idx: expected a whole number or a string of one";
    char *end;
    if (cJSON_IsNumber(idx)) {
        const double v = idx->valuedouble;
        // The range test first: converting a double beyond long long's range is undefined.
        if (!(fabs(v) < 0x1p63)) return dy_fail(err, "%s.idx: %g is out of range", where, v);
        if (v != (double)(long long)v) return dy_fail(err, expected, where);
        snprintf(p->key, sizeof p->key, "%lld", (long long)v);
    } else if (cJSON_IsString(idx) && strlen(idx->valuestring) < sizeof p->key) {
        snprintf(p->key, sizeof p->key, "%s", idx->valuestring);
    } else {
        return dy_fail(err, expected, where);
    }
    errno = 0;
    p->order = strtoll(p->key, &end, 10);
    char quoted[4 * sizeof p->key];  // a string idx may hold a newline
    if (end == p->key || *end)
        return dy_fail(err, "%s.idx: '%s' is not a whole number", where, dy_error_text(p->key, quoted, sizeof quoted));
    if (errno == ERANGE)
        return dy_fail(err, "%s.idx: '%s' is out of range", where, dy_error_text(p->key, quoted, sizeof quoted));
    return 0;
}

// The context: the paragraphs' texts in idx order, "\n\n\n" between them.
static int context(const cJSON *paragraphs, const char *where, dy_text_buffer *out, dy_error *err) {
    const int n = cJSON_GetArraySize(paragraphs);
    paragraph *p = calloc((size_t)n + 1, sizeof *p);
    const cJSON **text = calloc((size_t)n + 1, sizeof *text);
    dy_str_map last;  // key -> the position of its last paragraph (id2text keeps that one's text)
    const bool have_map = dy_str_map_init(&last, (uint32_t)n + 1) == 0;  // freeing is safe either way
    int rc = p && text && have_map ? 0 : dy_fail(err, "%s: out of memory", where);
    const cJSON *doc = paragraphs->child;
    for (int i = 0; rc == 0 && i < n; i++, doc = doc->next) {
        char at[PATH_MAX + 64];
        snprintf(at, sizeof at, "%s.paragraphs[%d]", where, i);
        text[i] = cJSON_GetObjectItemCaseSensitive(doc, "paragraph_text");
        if (!cJSON_IsString(text[i])) rc = dy_fail(err, "%s.paragraph_text: expected a string", at);
        else rc = paragraph_key(cJSON_GetObjectItemCaseSensitive(doc, "idx"), &p[i], at, err);
        p[i].position = i;
        if (rc == 0 && dy_str_map_put(&last, p[i].key, strlen(p[i].key), i)) rc = dy_fail(err, "%s: out of memory", where);
    }
    if (rc == 0) qsort(p, (size_t)n, sizeof *p, by_order);
    for (int k = 0; rc == 0 && k < n; k++) {
        if (k) dy_text_puts(out, "\n\n\n");
        dy_text_puts(out, text[dy_str_map_get(&last, p[k].key, strlen(p[k].key))]->valuestring);
        if (out->n > DY_EVAL_MAX_PROMPT) rc = dy_fail(err, "%s: the prompt would be longer than %zu bytes", where, DY_EVAL_MAX_PROMPT);
    }
    dy_str_map_free(&last);
    free(p);
    free(text);
    return rc;
}

static cJSON *example(const cJSON *record, const char *path, int i, const void *unused, dy_error *err) {
    (void)unused;
    char where[PATH_MAX + 32];
    snprintf(where, sizeof where, "%s: [%d].data", path, i);
    const cJSON *sample = cJSON_GetObjectItemCaseSensitive(record, "data"), *label = cJSON_GetObjectItemCaseSensitive(record, "label");
    const cJSON *question = cJSON_GetObjectItemCaseSensitive(sample, "question");
    const cJSON *paragraphs = cJSON_GetObjectItemCaseSensitive(sample, "paragraphs");
    if (!cJSON_IsObject(sample)) return dy_fail(err, "%s: expected an object", where), NULL;
    if (!cJSON_IsBool(label)) return dy_fail(err, "%s: [%d].label: expected true or false", path, i), NULL;
    if (!cJSON_IsString(question)) return dy_fail(err, "%s.question: expected a string", where), NULL;
    if (!cJSON_IsArray(paragraphs)) return dy_fail(err, "%s.paragraphs: expected a list", where), NULL;
    dy_text_buffer prompt = {0};
    dy_text_puts(&prompt, BEFORE_CONTEXT);
    if (context(paragraphs, where, &prompt, err)) {
        free(dy_text_take(&prompt));
        return NULL;
    }
    dy_text_puts(&prompt, BEFORE_STATEMENT);
    dy_text_puts(&prompt, question->valuestring);
    dy_text_puts(&prompt, AFTER_STATEMENT);
    char *text = dy_text_take(&prompt);
    if (!text) return dy_fail(err, "%s: out of memory", path), NULL;
    cJSON *item = cJSON_Duplicate(sample, true), *e = cJSON_CreateObject();
    if (cJSON_GetObjectItemCaseSensitive(item, "label")) cJSON_ReplaceItemInObjectCaseSensitive(item, "label", cJSON_CreateBool(cJSON_IsTrue(label)));
    else cJSON_AddBoolToObject(item, "label", cJSON_IsTrue(label));
    cJSON_AddStringToObject(e, "input_prompt", text);
    cJSON_AddStringToObject(e, "reference_output", cJSON_IsTrue(label) ? "TRUE" : "FALSE");
    cJSON_AddItemToObject(e, "item", item);
    free(text);
    return e;
}

cJSON *dy_eval_load_clipper(const char *name, const char *data_dir, dy_error *err) {
    char file[160], path[PATH_MAX];
    snprintf(file, sizeof file, "clipper/test-400%s.json", name + strlen("clipper"));  // "", "_sp1", "_sp2"
    if (dy_path_join(path, sizeof path, data_dir, file, err)) return NULL;
    return dy_eval_map_records(dy_eval_read_list(path, SOURCE, err), path, example, NULL, err);
}

// HELMET's HotpotQA as the reference loads it (eval_datasets/helmet/helmet_data.py, load_hotpot
// and load_hotpot_cot): the records of helmet/kilt/hotpotqa-dev-multikilt_1000_k{K}_dep3.jsonl
// whose key (id, else question) is among the 100 that random.seed(42); random.sample(sorted(set
// of keys), 100) picks, in file order; passages "Document (Title: {title}): {text}" joined by
// blank lines. hotpot_nocot adds two demos per question from
// kilt/hotpotqa-train-multikilt_1000_k3_dep3.jsonl: the demo set shuffled as Hugging Face
// datasets shuffles (numpy's default_rng seeded with sha256(key) mod 2^31), the first two
// distinct keys of that order. The item is the record with the demos (nocot) and answer (its
// answers) added; reference_output is the answers joined by spaces.
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_loaders.h"
#include "np_random.h"
#include "py_random.h"
#include "runtime/util/file_util.h"
#include "runtime/util/sha256.h"
#include "runtime/util/text_buffer.h"

static const char SOURCE[] =
    "the reference ships no HELMET data: HELMET's scripts/download_data.sh (princeton-nlp/HELMET) fetches the kilt "
    "files into data_eval/helmet/kilt/";

static const char NOCOT_PROMPT[] = "Use the given documents to write a concise and short answer to the question. Write "
                                   "your answer in the following format:\nAnswer: [answer]\n\n";
static const char COT_PROMPT[] = "You will be given a list of documents and a question, please answer the question based "
                                 "on the documents.\n\nDOCUMENTS:\n";
enum { SHOTS = 2, MAX_TEST_SAMPLES = 100, SEED = 42 };

typedef struct {
    const char *path;
    const char *key;  // "id" when a record has one, else "question" (the reference's column test)
    cJSON *records;
    int n;
    const cJSON **at;  // records by index
    int *line;         // the line of each record
} jsonl_set;

static void set_free(jsonl_set *s) {
    cJSON_Delete(s->records);
    free(s->at);
    free(s->line);
}

static const char *field(const jsonl_set *s, int i, const char *name, dy_error *err);

// The records, indexed, and their key column: the data's is "id" if any record has one
// (datasets' column_names is the union of the records' keys), else "question"; the demos are
// keyed as the data is (key non-NULL). Every record must hold its key as a string.
static int set_read(jsonl_set *s, const char *path, const char *key, dy_error *err) {
    *s = (jsonl_set){.path = path, .key = key ? key : "question"};
    if (!(s->records = dy_eval_read_jsonl(path, SOURCE, &s->line, err))) return -1;
    s->n = cJSON_GetArraySize(s->records);
    if (!(s->at = malloc((size_t)(s->n ? s->n : 1) * sizeof *s->at))) return dy_fail(err, "%s: out of memory", path);
    int i = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, s->records) {
        if (!cJSON_IsObject(r)) return dy_fail(err, "%s: line %d: expected a JSON object", path, s->line[i]);
        if (!key && cJSON_GetObjectItemCaseSensitive(r, "id")) s->key = "id";
        s->at[i++] = r;
    }
    for (i = 0; i < s->n; i++)
        if (!field(s, i, s->key, err)) return -1;
    return 0;
}

static const char *key_of(const jsonl_set *s, int i) {
    return cJSON_GetObjectItemCaseSensitive(s->at[i], s->key)->valuestring;
}

static int by_string(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

// The 100 keys random.sample picks from sorted(set(keys)), sorted again for lookup (the filter
// keeps file order, so the sample's own order does not matter). UTF-8 byte order is code point
// order, so strcmp sorts as Python sorts str.
static const char **sample_keys(const jsonl_set *s, int *n_out, dy_error *err) {
    const char **keys = malloc((size_t)(s->n ? s->n : 1) * sizeof *keys), **picked = NULL;
    int *chosen = NULL, n = 0;
    if (!keys) return dy_fail(err, "%s: out of memory", s->path), NULL;
    for (int i = 0; i < s->n; i++) keys[i] = key_of(s, i);
    qsort(keys, (size_t)s->n, sizeof *keys, by_string);
    for (int i = 0; i < s->n; i++)
        if (n == 0 || strcmp(keys[n - 1], keys[i]) != 0) keys[n++] = keys[i];
    const int k = n < MAX_TEST_SAMPLES ? n : MAX_TEST_SAMPLES;
    dy_py_random r;
    dy_py_random_seed(&r, SEED);
    chosen = malloc((size_t)(k ? k : 1) * sizeof *chosen);
    picked = malloc((size_t)(k ? k : 1) * sizeof *picked);
    if (!chosen || !picked || dy_py_random_sample(&r, n, k, chosen)) {
        dy_fail(err, "%s: out of memory", s->path);
        free(picked);
        picked = NULL;
    } else {
        for (int i = 0; i < k; i++) picked[i] = keys[chosen[i]];
        qsort(picked, (size_t)k, sizeof *picked, by_string);
        *n_out = k;
    }
    free(chosen);
    free(keys);
    return picked;
}

// Record i's field as a string, else an error naming the line and field.
static const char *field(const jsonl_set *s, int i, const char *name, dy_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->at[i], name);
    if (cJSON_IsString(v)) return v->valuestring;
    dy_fail(err, "%s: line %d: %s: %s", s->path, s->line[i], name, v ? "expected a string" : "missing");
    return NULL;
}

// "\n\n".join("Document (Title: {title}): {text}" for each of ctxs).
static int put_passages(dy_text_buffer *t, const jsonl_set *s, int i, dy_error *err) {
    const int line = s->line[i];
    const cJSON *ctxs = cJSON_GetObjectItemCaseSensitive(s->at[i], "ctxs"), *c;
    if (!cJSON_IsArray(ctxs)) return dy_fail(err, "%s: line %d: ctxs: %s", s->path, line, ctxs ? "expected a list" : "missing");
    int k = 0;
    cJSON_ArrayForEach(c, ctxs) {
        const char *title = cJSON_IsObject(c) ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "title")) : NULL;
        const char *text = cJSON_IsObject(c) ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "text")) : NULL;
        if (!title || !text)
            return dy_fail(err, "%s: line %d: ctxs[%d]: expected an object with string title and text", s->path, line, k);
        if (k++) dy_text_puts(t, "\n\n");
        dy_text_puts(t, "Document (Title: ");
        dy_text_puts(t, title);
        dy_text_puts(t, "): ");
        dy_text_puts(t, text);
    }
    return 0;
}

// The record's answers: a non-empty list of strings (the demos take the first, the item all).
static const cJSON *answers(const jsonl_set *s, int i, dy_error *err) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(s->at[i], "answers"), *v;
    bool ok = cJSON_IsArray(a) && cJSON_GetArraySize(a) > 0;
    if (ok) cJSON_ArrayForEach(v, a) ok = ok && cJSON_IsString(v);
    if (!ok) dy_fail(err, "%s: line %d: answers: expected a non-empty list of strings", s->path, s->line[i]);
    return ok ? a : NULL;
}

// The demo text of the question with key: "{documents}\n\nQuestion: {q}\nAnswer: {answer}" of the
// first SHOTS distinct keys in the shuffled demo set, joined by blank lines, a blank line after.
static int put_demos(dy_text_buffer *t, const jsonl_set *demos, const char *key, dy_error *err) {
    unsigned char digest[32];
    dy_sha256(key, strlen(key), digest);
    // int(hexdigest, 16) % 2**31: the low 31 bits of the big-endian number.
    const uint64_t seed = ((uint64_t)digest[28] << 24 | (uint64_t)digest[29] << 16 | (uint64_t)digest[30] << 8 | digest[31]) &
                          0x7fffffffu;
    int *order = dy_np_shuffled_order(seed, demos->n), taken[SHOTS], n = 0;
    if (!order) return dy_fail(err, "%s: out of memory", demos->path);
    for (int i = 0; i < demos->n && n < SHOTS; i++) {
        bool seen = false;
        for (int j = 0; j < n; j++) seen = seen || strcmp(key_of(demos, taken[j]), key_of(demos, order[i])) == 0;
        if (!seen) taken[n++] = order[i];
    }
    free(order);
    if (n < SHOTS)
        return dy_fail(err, "%s: %d distinct %s values, %d demos needed", demos->path, n, demos->key, SHOTS);
    for (int j = 0; j < SHOTS; j++) {
        const cJSON *a = answers(demos, taken[j], err);
        const char *q = a ? field(demos, taken[j], "question", err) : NULL;
        if (!q) return -1;
        if (j) dy_text_puts(t, "\n\n");
        if (put_passages(t, demos, taken[j], err)) return -1;
        dy_text_puts(t, "\n\nQuestion: ");
        dy_text_puts(t, q);
        dy_text_puts(t, "\nAnswer: ");
        dy_text_puts(t, cJSON_GetArrayItem(a, 0)->valuestring);
    }
    dy_text_puts(t, "\n\n");
    return 0;
}

// One chosen record as the loader's example.
static cJSON *example(const jsonl_set *data, int i, const jsonl_set *demos, dy_error *err) {
    const cJSON *r = data->at[i], *a = answers(data, i, err);
    const char *question = a ? field(data, i, "question", err) : NULL;
    if (!question) return NULL;
    dy_text_buffer prompt = {0}, demo_text = {0};
    int rc = 0;
    if (demos) {
        rc = put_demos(&demo_text, demos, key_of(data, i), err);
        dy_text_puts(&prompt, NOCOT_PROMPT);
        dy_text_puts(&prompt, demo_text.s ? demo_text.s : "");
    } else {
        dy_text_puts(&prompt, COT_PROMPT);
    }
    if (rc == 0) rc = put_passages(&prompt, data, i, err);
    dy_text_puts(&prompt, demos ? "\n\nQuestion: " : "\n\n\nNow answer the following question based on the documents "
                                                     "above.\nQuestion: ");
    dy_text_puts(&prompt, question);
    char *text = dy_text_take(&prompt), *demo = dy_text_take(&demo_text);
    cJSON *e = NULL;
    if (rc == 0 && (!text || !demo)) dy_fail(err, "%s: out of memory", data->path);
    else if (rc == 0) {
        cJSON *item = cJSON_Duplicate(r, true);
        if (demos) cJSON_AddStringToObject(item, "demos", demo);
        cJSON_AddItemToObject(item, "answer", cJSON_Duplicate(a, true));
        dy_text_buffer joined = {0};
        const cJSON *v;
        cJSON_ArrayForEach(v, a) {
            if (v != a->child) dy_text_puts(&joined, " ");
            dy_text_puts(&joined, v->valuestring);
        }
        char *reference = dy_text_take(&joined);
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "input_prompt", text);
        cJSON_AddItemToObject(e, "reference_output", reference ? cJSON_CreateString(reference) : cJSON_CreateNull());
        cJSON_AddItemToObject(e, "item", item);
        free(reference);
    }
    free(text);
    free(demo);
    return e;
}

cJSON *dy_eval_load_hotpot(const char *name, const char *data_dir, dy_error *err) {
    static const char *const lengths[] = {"8k", "16k", "32k", "64k", "128k"};
    static const int k_of_length[] = {50, 105, 220, 440, 1000};
    const char *length = strrchr(name, '_') + 1;
    int k = 0;
    for (int i = 0; i < 5; i++)
        if (strcmp(length, lengths[i]) == 0) k = k_of_length[i];
    const bool nocot = strstr(name, "_nocot_") != NULL;  // the family check passed the name
    char file[128], path[PATH_MAX], demo_path[PATH_MAX];
    snprintf(file, sizeof file, "helmet/kilt/hotpotqa-dev-multikilt_1000_k%d_dep3.jsonl", k);
    if (dy_path_join(path, sizeof path, data_dir, file, err) ||
        dy_path_join(demo_path, sizeof demo_path, data_dir, "helmet/kilt/hotpotqa-train-multikilt_1000_k3_dep3.jsonl", err))
        return NULL;
    jsonl_set data, demos = {0};
    const char **keys = NULL;
    int n_keys = 0;
    cJSON *examples = NULL;
    if (set_read(&data, path, NULL, err) == 0 && (!nocot || set_read(&demos, demo_path, data.key, err) == 0) &&
        (keys = sample_keys(&data, &n_keys, err))) {
        examples = cJSON_CreateArray();
        for (int i = 0; examples && i < data.n; i++) {
            const char *key = key_of(&data, i);
            if (!bsearch(&key, keys, (size_t)n_keys, sizeof *keys, by_string)) continue;
            cJSON *e = example(&data, i, nocot ? &demos : NULL, err);
            if (e) cJSON_AddItemToArray(examples, e);
            else cJSON_Delete(examples), examples = NULL;
        }
    }
    free(keys);
    set_free(&data);
    set_free(&demos);
    return examples;
}

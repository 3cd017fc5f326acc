// The file reading the loaders share (eval_loaders.h): a source file with the reference's
// whereabouts when missing, JSON and JSON Lines records, and records mapped to examples.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_loaders.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

char *dy_eval_read_source(const char *path, const char *source, size_t *len, dy_error *err) {
    if (!dy_file_exists(path)) {
        dy_fail(err, "%s: missing (%s)", path, source);
        return NULL;
    }
    return dy_read_file(path, len, err);
}

cJSON *dy_eval_read_json(const char *path, const char *source, dy_error *err) {
    if (!dy_file_exists(path)) {
        dy_fail(err, "%s: missing (%s)", path, source);
        return NULL;
    }
    return dy_json_read_file(path, err);
}

cJSON *dy_eval_read_list(const char *path, const char *source, dy_error *err) {
    cJSON *list = dy_eval_read_json(path, source, err);
    if (!list || cJSON_IsArray(list)) return list;
    dy_fail(err, "%s: expected a JSON list of examples", path);
    cJSON_Delete(list);
    return NULL;
}

cJSON *dy_eval_read_jsonl(const char *path, const char *source, int **lines, dy_error *err) {
    *lines = NULL;
    size_t len;
    char *text = dy_eval_read_source(path, source, &len, err);
    if (!text) return NULL;
    cJSON *list = cJSON_CreateArray();
    int n = 0, cap = 0, line = 0;
    for (size_t at = 0; list && at < len; at++) {
        const char *start = text + at, *nl = memchr(start, '\n', len - at);
        const size_t n_bytes = nl ? (size_t)(nl - start) : len - at;
        at += n_bytes;
        line++;
        size_t k = 0;
        while (k < n_bytes && (start[k] == ' ' || start[k] == '\t' || start[k] == '\r')) k++;
        if (k == n_bytes) continue;
        char problem[160];
        cJSON *record = dy_json_parse(start, n_bytes, problem, sizeof problem);
        int *grown = *lines;
        if (n == cap && (grown = realloc(*lines, (size_t)(cap ? 2 * cap : 256) * sizeof **lines))) {
            *lines = grown;  // at once: realloc has freed the old block
            cap = cap ? 2 * cap : 256;
        }
        if (!record || !grown) {
            if (!record) dy_fail(err, "%s: line %d: %s", path, line, problem);
            else dy_fail(err, "%s: out of memory", path);
            cJSON_Delete(record);
            cJSON_Delete(list);
            list = NULL;
            break;
        }
        (*lines)[n++] = line;
        cJSON_AddItemToArray(list, record);
    }
    free(text);
    if (!list) {
        free(*lines);
        *lines = NULL;
    }
    return list;
}

cJSON *dy_eval_map_records(cJSON *records, const char *path, dy_eval_example_fn *example, const void *ctx, dy_error *err) {
    cJSON *examples = records ? cJSON_CreateArray() : NULL;
    const cJSON *r;
    int i = 0;
    if (records) cJSON_ArrayForEach(r, records) {
        cJSON *e = example(r, path, i++, ctx, err);
        if (!e) {
            cJSON_Delete(examples);
            examples = NULL;
            break;
        }
        cJSON_AddItemToArray(examples, e);
    }
    cJSON_Delete(records);
    return examples;
}

const char *dy_eval_record_string(const cJSON *record, const char *path, int i, const char *key, dy_error *err) {
    const cJSON *v = cJSON_IsObject(record) ? cJSON_GetObjectItemCaseSensitive(record, key) : NULL;
    if (!cJSON_IsObject(record)) dy_fail(err, "%s: [%d]: expected an object", path, i);
    else if (!v) dy_fail(err, "%s: [%d].%s: missing", path, i, key);
    else if (!cJSON_IsString(v)) dy_fail(err, "%s: [%d].%s: expected a string", path, i, key);
    else return v->valuestring;
    return NULL;
}

#include "eval_results.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py_json.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

// The folder of path, made durable: a new or renamed file's name survives a crash once its
// folder is fsync'd.
static int sync_folder(const char *path, dy_error *err) {
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    const int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return dy_fail(err, "%s: cannot open: %s", dir, strerror(errno));
    const int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : dy_fail(err, "%s: fsync failed: %s", dir, strerror(errno));
    close(fd);
    return rc;
}

static int write_all(int fd, const char *s, size_t n, const char *path, dy_error *err) {
    while (n > 0) {
        const ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return dy_fail(err, "%s: write failed: %s", path, strerror(errno));
        s += w;
        n -= (size_t)w;
    }
    return fsync(fd) == 0 ? 0 : dy_fail(err, "%s: fsync failed: %s", path, strerror(errno));
}

// text into path through path.tmp and a rename, so the file is the old one or the whole new one.
static int replace_file(const char *path, const char *text, dy_error *err) {
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return dy_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
    int rc = write_all(fd, text, strlen(text), tmp, err);
    if (close(fd) != 0 && rc == 0) rc = dy_fail(err, "%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0) rc = dy_fail(err, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    return rc ? rc : sync_folder(path, err);
}

// One line of the journal, compact (json.dumps without indent) and fsync'd.
static int append_line(dy_eval_results *r, const cJSON *v, dy_error *err) {
    char *text = dy_py_json_dumps(v, 0);
    if (!text) return dy_fail(err, "%s: out of memory", r->journal_path);
    const size_t n = strlen(text);
    text[n] = '\n';  // the NUL's place: the line is written with its end in one write
    const int rc = write_all(r->fd, text, n + 1, r->journal_path, err);
    free(text);
    return rc;
}

static cJSON *metrics_json(const dy_metrics *m) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; i < m->n; i++) {
        const dy_metric v = m->value[i];
        char text[40];
        snprintf(text, sizeof text, "%.0f", v.value);
        cJSON_AddItemToObject(o, m->name[i], v.type == DY_METRIC_BOOL  ? cJSON_CreateBool(v.value != 0)
                                             : v.type == DY_METRIC_INT ? cJSON_CreateRaw(text)
                                                                       : dy_py_json_float(v.value));
    }
    return o;
}

// The reference's floats written as floats again (a journal line read back has only numbers):
// time_taken, and generation_logging's averages (its num_generations is an int).
static void retype_output(cJSON *output) {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(output, "time_taken"), *v;
    if (cJSON_IsNumber(t)) cJSON_ReplaceItemInObjectCaseSensitive(output, "time_taken", dy_py_json_float(t->valuedouble));
    cJSON *logging = cJSON_GetObjectItemCaseSensitive(output, "generation_logging");
    if (!cJSON_IsObject(logging)) return;
    for (v = logging->child; v; v = v->next)
        if (cJSON_IsNumber(v) && strcmp(v->string, "num_generations") != 0) {
            cJSON *f = dy_py_json_float(v->valuedouble);
            cJSON_ReplaceItemViaPointer(logging, v, f);
            v = f;
        }
}

static int score_record(dy_eval_results *r, const cJSON *record, dy_metrics *m, const char *where, dy_error *err) {
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(record, "output"), "output");
    dy_error why;
    if (!cJSON_IsString(output)) return dy_fail(err, "%s: output.output: expected a string", where);
    if (dy_eval_score(r->family, output->valuestring, strlen(output->valuestring),
                      cJSON_GetObjectItemCaseSensitive(record, "data"), m, &why))
        return dy_fail(err, "%s: %s", where, why.msg);
    return 0;
}

// The first difference between the journal's header and this run's, in words.
static void header_difference(const cJSON *theirs, const cJSON *ours, char *out, size_t n) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(theirs, "args"), *b = cJSON_GetObjectItemCaseSensitive(ours, "args");
    for (const cJSON *v = b ? b->child : NULL; v; v = v->next) {
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(a, v->string);
        if (w && cJSON_Compare(v, w, true)) continue;
        char *mine = dy_py_json_dumps(v, 0), *its = w ? dy_py_json_dumps(w, 0) : NULL;
        snprintf(out, n, "args.%s: %s there, %s now", v->string, its ? its : "missing", mine ? mine : "?");
        free(mine);
        free(its);
        return;
    }
    snprintf(out, n, "the examples differ (other data under the data folder)");
}

// The journal's lines after the header: each whole line a record of the next index; a last line
// without its newline (a write a kill cut short) is cut off the file.
static int read_records(dy_eval_results *r, char *text, size_t len, size_t first, int n_examples, dy_error *err) {
    size_t at = first;
    for (int line = 2; at < len; line++) {
        char *end = memchr(text + at, '\n', len - at);
        if (!end) {
            if (ftruncate(r->fd, (off_t)at) != 0)
                return dy_fail(err, "%s: cannot cut off its torn last line: %s", r->journal_path, strerror(errno));
            break;
        }
        char where[PATH_MAX + 32], problem[160];
        snprintf(where, sizeof where, "%s:%d", r->journal_path, line);
        cJSON *rec = dy_json_parse(text + at, (size_t)(end - text) - at, problem, sizeof problem);
        if (!rec) return dy_fail(err, "%s: %s (remove the file to start the run over)", where, problem);
        cJSON_AddItemToArray(r->records, rec);
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(rec, "index");
        if (r->done >= n_examples || !cJSON_IsNumber(index) || index->valuedouble != r->done)
            return dy_fail(err, "%s: index: expected %d (remove the file to start the run over)", where, r->done);
        if (score_record(r, rec, &r->metrics[r->done], where, err)) return -1;
        r->done++;
        at = (size_t)(end - text) + 1;
    }
    return 0;
}

// v as a journal line reads back (its raw floats become numbers), to compare with one; NULL when
// out of memory.
static cJSON *read_back(const cJSON *v) {
    char *text = dy_py_json_dumps(v, 0), problem[160];
    cJSON *back = text ? dy_json_parse(text, strlen(text), problem, sizeof problem) : NULL;
    free(text);
    return back;
}

// An existing journal: its header against ours, then its records.
static int resume(dy_eval_results *r, const cJSON *header_written, int n_examples, dy_error *err) {
    size_t len;
    char *text = dy_read_file(r->journal_path, &len, err);
    if (!text) return -1;
    char *end = memchr(text, '\n', len);
    int rc = 0;
    if (!end) {  // empty, or killed while writing the header: start over
        if (ftruncate(r->fd, 0) != 0) rc = dy_fail(err, "%s: cannot truncate: %s", r->journal_path, strerror(errno));
        if (rc == 0) rc = append_line(r, header_written, err);
        free(text);
        return rc;
    }
    char problem[160], difference[512];
    cJSON *theirs = dy_json_parse(text, (size_t)(end - text), problem, sizeof problem), *header = read_back(header_written);
    if (!header) {
        rc = dy_fail(err, "%s: out of memory", r->journal_path);
    } else if (!theirs) {
        rc = dy_fail(err, "%s:1: %s (not a dysco eval journal?)", r->journal_path, problem);
    } else if (!cJSON_Compare(theirs, header, true)) {
        header_difference(theirs, header, difference, sizeof difference);
        rc = dy_fail(err, "%s: made by a run with other arguments (%s); use another --results-dir, or remove the file",
                     r->journal_path, difference);
    } else {
        rc = read_records(r, text, len, (size_t)(end - text) + 1, n_examples, err);
    }
    cJSON_Delete(theirs);
    cJSON_Delete(header);
    free(text);
    return rc;
}

int dy_eval_results_open(dy_eval_results *r, const char *json_path, dy_eval_family family, const cJSON *header,
                         int n_examples, dy_error *err) {
    *r = (dy_eval_results){.family = family, .fd = -1};
    const size_t n = strlen(json_path);
    if (n < 5 || strcmp(json_path + n - 5, ".json") != 0) return dy_fail(err, "%s: expected a .json path", json_path);
    snprintf(r->json_path, sizeof r->json_path, "%s", json_path);
    // run_eval.py: output_path.replace(".json", "scores.json")
    if (snprintf(r->journal_path, sizeof r->journal_path, "%sl", json_path) >= (int)sizeof r->journal_path ||
        snprintf(r->scores_path, sizeof r->scores_path, "%.*sscores.json", (int)(n - 5), json_path) >= (int)sizeof r->scores_path)
        return dy_fail(err, "%s: path too long", json_path);
    char folder[PATH_MAX];
    snprintf(folder, sizeof folder, "%s", json_path);
    if (dy_make_dirs(dirname(folder), err)) return -1;
    r->records = cJSON_CreateArray();
    r->metrics = calloc((size_t)(n_examples > 0 ? n_examples : 1), sizeof *r->metrics);
    if (!r->records || !r->metrics) return dy_fail(err, "%s: out of memory", r->journal_path);
    const bool existed = dy_file_exists(r->journal_path);
    r->fd = open(r->journal_path, O_RDWR | O_CREAT | O_APPEND, 0644);
    if (r->fd < 0) return dy_fail(err, "%s: cannot open: %s", r->journal_path, strerror(errno));
    if (existed) return resume(r, header, n_examples, err);
    return append_line(r, header, err) || sync_folder(r->journal_path, err) ? -1 : 0;
}

int dy_eval_results_add(dy_eval_results *r, const cJSON *example, const char *output, const char *thinking,
                        cJSON *generation_logging, double time_taken, dy_metrics *m, dy_error *err) {
    dy_error why;
    if (dy_eval_score(r->family, output, strlen(output), example, m, &why)) {
        cJSON_Delete(generation_logging);
        return dy_fail(err, "example %d: %s", r->done, why.msg);
    }
    cJSON *rec = cJSON_CreateObject(), *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(rec, "index", r->done);
    cJSON_AddItemToObject(rec, "data", cJSON_Duplicate(example, true));
    cJSON_AddItemToObject(out, "prompt", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(example, "input_prompt"), true));
    cJSON_AddStringToObject(out, "output", output);
    cJSON_AddTrueToObject(out, "success");
    cJSON_AddItemToObject(out, "thinking_part", thinking ? cJSON_CreateString(thinking) : cJSON_CreateNull());
    cJSON_AddItemToObject(out, "generation_logging", generation_logging ? generation_logging : cJSON_CreateNull());
    cJSON_AddItemToObject(out, "time_taken", dy_py_json_float(time_taken));
    cJSON_AddItemToObject(rec, "output", out);
    cJSON_AddItemToObject(rec, "metric", metrics_json(m));
    const int rc = append_line(r, rec, err);
    cJSON_AddItemToArray(r->records, rec);
    if (rc == 0) r->metrics[r->done++] = *m;
    return rc;
}

int dy_eval_results_finish(dy_eval_results *r, const cJSON *args, dy_metrics *avg, dy_error *err) {
    if (r->done == 0) return dy_fail(err, "%s: no examples to average (the length filter or --test-size left none)", r->json_path);
    if (dy_eval_average(r->family, r->metrics, r->done, avg, err)) return -1;
    cJSON *root = cJSON_CreateObject(), *saving = cJSON_CreateArray();
    cJSON_AddItemToObject(root, "args", cJSON_Duplicate(args, true));
    cJSON_AddItemToObject(root, "saving_info", saving);
    int i = 0;
    for (const cJSON *rec = r->records->child; rec; rec = rec->next, i++) {
        cJSON *entry = cJSON_CreateObject(), *output = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "output"), true);
        retype_output(output);
        cJSON_AddItemToObject(entry, "data", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(rec, "data"), true));
        cJSON_AddItemToObject(entry, "output", output);
        cJSON_AddItemToObject(entry, "metric", metrics_json(&r->metrics[i]));
        cJSON_AddItemToArray(saving, entry);
    }
    cJSON *scores = metrics_json(avg);
    cJSON_AddItemToObject(root, "avg_metrics", cJSON_Duplicate(scores, true));
    cJSON_AddNumberToObject(root, "test_size", r->done);
    char *text = dy_py_json_dumps(root, 2), *scores_text = dy_py_json_dumps(scores, 2);
    int rc = text && scores_text ? 0 : dy_fail(err, "%s: out of memory", r->json_path);
    if (rc == 0) rc = replace_file(r->json_path, text, err);
    if (rc == 0) rc = replace_file(r->scores_path, scores_text, err);
    free(text);
    free(scores_text);
    cJSON_Delete(root);
    cJSON_Delete(scores);
    return rc;
}

void dy_eval_results_close(dy_eval_results *r) {
    if (r->fd >= 0) close(r->fd);
    cJSON_Delete(r->records);
    free(r->metrics);
    *r = (dy_eval_results){.fd = -1};
}

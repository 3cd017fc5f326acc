#define _GNU_SOURCE  // getline
#include "cli_batch.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/json_util.h"

int dy_cli_jsonl_each_line(const char *path, dy_cli_jsonl_line each, void *ctx, dy_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return dy_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL, where[PATH_MAX + 32];
    size_t cap = 0;
    ssize_t len;
    int rc = 0, lineno = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)len) continue;  // strspn stops at a NUL: "\0\n" is not blank
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        rc = each(line, (size_t)len, where, ctx, err);
    }
    if (rc == 0 && ferror(f)) rc = dy_fail(err, "%s: read error after line %d", path, lineno);
    free(line);
    fclose(f);
    return rc;
}

// A --batch line's flag: true, false, or absent (absent, kept in *out); any other value is an error.
static int line_flag(const cJSON *o, const char *key, const char *where, int *out, dy_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return 0;
    if (!cJSON_IsBool(v)) return dy_fail(err, "%s: %s: expected true or false", where, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int dy_cli_batch_line(dy_tokenizer *tok, const dy_chat_template *tmpl, const char *line, size_t len, const char *where,
                      dy_tokens *ids, dy_error *err) {
    char problem[160];
    cJSON *o = dy_json_parse(line, len, problem, sizeof problem);
    int rc = 0, special = 1, generation_prompt = 0, think = -1;  // the defaults of transformers' calls
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text"), *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (!o) {
        rc = dy_fail(err, "%s: %s", where, problem);
    } else if (!cJSON_IsObject(o)) {
        rc = dy_fail(err, "%s: not a JSON object", where);
    } else if (text && msgs) {
        rc = dy_fail(err, "%s: give \"text\" or \"messages\", not both", where);
    } else if (cJSON_IsString(text)) {
        rc = line_flag(o, "add_special_tokens", where, &special, err);
        if (rc == 0) rc = dy_tokenizer_encode(tok, text->valuestring, strlen(text->valuestring), special, ids, err);
    } else if (msgs) {
        dy_chat_message *m;
        int n;
        rc = line_flag(o, "add_generation_prompt", where, &generation_prompt, err);
        if (rc == 0) rc = line_flag(o, "enable_thinking", where, &think, err);
        if (rc == 0) rc = !tmpl ? dy_fail(err, "%s: messages: the model has no recognised chat template", where)
                                : dy_prompt_messages_from_json(msgs, where, &m, &n, err);
        if (rc == 0) {
            rc = dy_prompt_encode_chat(tok, tmpl, m, n, generation_prompt, think, ids, err);
            free(m);
        }
    } else {
        rc = dy_fail(err, "%s: expected a \"text\" string or a \"messages\" list", where);
    }
    cJSON_Delete(o);
    return rc;
}

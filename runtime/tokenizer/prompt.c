#include "prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/json_util.h"

int dy_prompt_encode_chat(dy_tokenizer *tok, const dy_chat_template *tmpl, const dy_chat_message *msgs, int n,
                          bool add_generation_prompt, int enable_thinking, dy_tokens *out, dy_error *err) {
    char *text = dy_chat_render(tmpl, msgs, n, add_generation_prompt, enable_thinking, err);
    if (!text) return -1;
    int rc = dy_tokenizer_encode(tok, text, strlen(text), false, out, err);
    free(text);
    return rc;
}

int dy_prompt_auto_warmup(dy_tokenizer *tok, const dy_chat_template *tmpl, int enable_thinking, int *n, dy_error *err) {
    const dy_chat_message hi = {"user", "Hi", NULL};
    dy_tokens with = {0}, without = {0};
    int rc = dy_prompt_encode_chat(tok, tmpl, &hi, 1, true, enable_thinking, &with, err);
    if (rc == 0) rc = dy_prompt_encode_chat(tok, tmpl, &hi, 1, false, enable_thinking, &without, err);
    if (rc == 0) *n = with.n - without.n;
    dy_tokens_free(&with);
    dy_tokens_free(&without);
    return rc;
}

int dy_prompt_messages_from_json(const cJSON *list, const char *where, dy_chat_message **msgs, int *n, dy_error *err) {
    *msgs = NULL;
    *n = 0;
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0)
        return dy_fail(err, "%s: messages: expected a non-empty list of {\"role\", \"content\"}", where);
    dy_chat_message *m = calloc((size_t)cJSON_GetArraySize(list), sizeof *m);
    if (!m) return dy_fail(err, "%s: out of memory", where);
    int i = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role"),
                    *content = cJSON_GetObjectItemCaseSensitive(item, "content"),
                    *reasoning = cJSON_GetObjectItemCaseSensitive(item, "reasoning_content");
        const char *problem = !cJSON_IsString(role)       ? "role is missing or not a string"
                              : !cJSON_IsString(content) ? "content is missing or not a string"
                              : cJSON_GetObjectItemCaseSensitive(item, "tool_calls") ? "tool_calls are not supported"
                              : reasoning && !cJSON_IsNull(reasoning) && !cJSON_IsString(reasoning)
                                  ? "reasoning_content is not a string"
                                  : NULL;
        if (problem) {
            free(m);
            return dy_fail(err, "%s: messages[%d]: %s", where, i, problem);
        }
        m[i++] = (dy_chat_message){role->valuestring, content->valuestring,
                                   cJSON_IsString(reasoning) ? reasoning->valuestring : NULL};
    }
    *msgs = m;
    *n = i;
    return 0;
}

// One id of a prompt list appended to out: any id a 32-bit token can hold (the model checks its
// vocabulary when the ids reach it); otherwise an error naming where and field ("[3]").
static int token_id(const cJSON *v, const char *where, const char *field, dy_tokens *out, dy_error *err) {
    char why[128];
    long id;
    if (!dy_json_token_id(v, (long)INT32_MAX + 1, "the int32 limit", &id, why, sizeof why))
        return dy_fail(err, "%s: %s: %s", where, field, why);
    return dy_tokens_push(out, (int32_t)id) ? dy_fail(err, "%s: out of memory", where) : 0;
}

int dy_prompt_ids_from_json(const char *json, size_t len, const char *where, bool allow_empty, dy_tokens *out,
                            dy_error *err) {
    char problem[160];
    cJSON *root = dy_json_parse(json, len, problem, sizeof problem);
    if (!root) return dy_fail(err, "%s: %s", where, problem);
    const cJSON *list = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "input_ids") : root, *v;
    int rc = cJSON_IsArray(list) && (allow_empty || cJSON_GetArraySize(list) > 0)
                 ? 0
                 : dy_fail(err, "%s: expected {\"input_ids\": [...]} or a %sJSON array of token ids", where,
                           allow_empty ? "" : "non-empty ");
    int i = 0;
    if (rc == 0) cJSON_ArrayForEach(v, list) {
            char field[24];
            snprintf(field, sizeof field, "[%d]", i++);
            if ((rc = token_id(v, where, field, out, err))) break;
        }
    cJSON_Delete(root);
    return rc;
}

#include "eval_example.h"

#include <stdio.h>
#include <string.h>

static const char *json_type(const cJSON *v) {
    if (cJSON_IsString(v)) return "a string";
    if (cJSON_IsNumber(v)) return "a number";
    if (cJSON_IsBool(v)) return "a boolean";
    if (cJSON_IsNull(v)) return "null";
    if (cJSON_IsArray(v)) return "an array";
    return "an object";
}

const cJSON *dy_example_field(const cJSON *example, bool in_item, const char *key, dy_error *err) {
    const cJSON *holder = example;
    if (!cJSON_IsObject(example)) {
        dy_fail(err, "example: expected an object, got %s", example ? json_type(example) : "nothing");
        return NULL;
    }
    if (in_item) {
        holder = cJSON_GetObjectItemCaseSensitive(example, "item");
        if (!holder) {
            dy_fail(err, "example.item: missing");
            return NULL;
        }
        if (!cJSON_IsObject(holder)) {
            dy_fail(err, "example.item: expected an object, got %s", json_type(holder));
            return NULL;
        }
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(holder, key);
    if (!v) dy_fail(err, "example.%s%s: missing", in_item ? "item." : "", key);
    return v;
}

int dy_example_string(const cJSON *value, const char *what, dy_ustr *out, dy_error *err) {
    if (!cJSON_IsString(value)) return dy_fail(err, "%s: expected a string, got %s", what, json_type(value));
    return dy_ustr_from_utf8(value->valuestring, strlen(value->valuestring), what, out, err);
}

int dy_example_text(const cJSON *example, bool in_item, const char *key, dy_ustr *out, dy_error *err) {
    const cJSON *v = dy_example_field(example, in_item, key, err);
    if (!v) return -1;
    char what[96];
    snprintf(what, sizeof what, "example.%s%s", in_item ? "item." : "", key);
    return dy_example_string(v, what, out, err);
}

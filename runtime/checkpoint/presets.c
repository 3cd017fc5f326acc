#include "presets.h"

#include <cJSON.h>
#include <stdbool.h>
#include <string.h>

const dy_preset *dy_preset_find(const char *name) {
    for (int i = 0; i < dy_n_presets; i++)
        if (strcmp(dy_presets[i].name, name) == 0) return &dy_presets[i];
    return NULL;
}

// Whether v is a token id below vocab (anything else is left for the reader to reject).
static bool outside(const cJSON *v, double vocab) { return cJSON_IsNumber(v) && v->valuedouble >= vocab; }

void dy_preset_fit_token_ids(cJSON *config_json) {
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(config_json, "vocab_size");
    if (!cJSON_IsNumber(vocab)) return;
    static const char *const keys[] = {"bos_token_id", "eos_token_id"};
    for (int k = 0; k < 2; k++) {
        cJSON *ids = cJSON_GetObjectItemCaseSensitive(config_json, keys[k]);
        if (outside(ids, vocab->valuedouble)) {
            cJSON_ReplaceItemInObjectCaseSensitive(config_json, keys[k], cJSON_CreateNull());
        } else if (cJSON_IsArray(ids)) {
            for (int i = cJSON_GetArraySize(ids) - 1; i >= 0; i--)
                if (outside(cJSON_GetArrayItem(ids, i), vocab->valuedouble)) cJSON_DeleteItemFromArray(ids, i);
            if (cJSON_GetArraySize(ids) == 0) cJSON_ReplaceItemInObjectCaseSensitive(config_json, keys[k], cJSON_CreateNull());
        }
    }
}

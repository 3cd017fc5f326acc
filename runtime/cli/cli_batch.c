#include "cli_batch.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/json_util.h"

int dy_cli_batch_line(dy_tokenizer *tok, const dy_chat_template *tmpl, const char *line, size_t len, const char *where,
                      dy_tokens *ids, dy_error *err) {
    char problem[160];
    cJSON *o = dy_json_parse(line, len, problem, sizeof problem);
    int rc = 0;
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "text"), *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    if (!o) {
        rc = dy_fail(err, "%s: %s", where, problem);
    } else if (!cJSON_IsObject(o)) {
        rc = dy_fail(err, "%s: not a JSON object", where);
    } else if (cJSON_IsString(text)) {
        const cJSON *special = cJSON_GetObjectItemCaseSensitive(o, "add_special_tokens");
        rc = dy_tokenizer_encode(tok, text->valuestring, strlen(text->valuestring), !cJSON_IsFalse(special), ids, err);
    } else if (msgs) {
        dy_chat_message *m;
        int n;
        const cJSON *think = cJSON_GetObjectItemCaseSensitive(o, "enable_thinking");
        rc = !tmpl ? dy_fail(err, "%s: messages: the model has no recognised chat template", where)
                   : dy_prompt_messages_from_json(msgs, where, &m, &n, err);
        if (rc == 0) {
            rc = dy_prompt_encode_chat(tok, tmpl, m, n, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "add_generation_prompt")),
                                       cJSON_IsBool(think) ? cJSON_IsTrue(think) : -1, ids, err);
            free(m);
        }
    } else {
        rc = dy_fail(err, "%s: expected a \"text\" string or a \"messages\" list", where);
    }
    cJSON_Delete(o);
    return rc;
}

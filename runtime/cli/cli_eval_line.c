#include "cli_eval_line.h"

#include <cJSON.h>
#include <string.h>

#include "runtime/util/json_util.h"

int dy_cli_eval_score_line(dy_eval_family family, const char *line, size_t len, const char *where, dy_metrics *m,
                           dy_error *err) {
    char problem[160];
    cJSON *o = dy_json_parse(line, len, problem, sizeof problem);
    if (!o) return dy_fail(err, "%s: %s", where, problem);
    const cJSON *output = cJSON_GetObjectItemCaseSensitive(o, "output");
    const cJSON *example = cJSON_GetObjectItemCaseSensitive(o, "example");
    dy_error why;
    int rc = 0;
    if (!cJSON_IsObject(o))
        rc = dy_fail(err, "%s: expected an object {\"output\": ..., \"example\": ...}", where);
    else if (!output)
        rc = dy_fail(err, "%s: output: missing", where);
    else if (!cJSON_IsString(output))
        rc = dy_fail(err, "%s: output: expected a string", where);
    else if (!example)
        rc = dy_fail(err, "%s: example: missing", where);
    else if (dy_eval_score(family, output->valuestring, strlen(output->valuestring), example, m, &why))
        rc = dy_fail(err, "%s: %s", where, why.msg);
    cJSON_Delete(o);
    return rc;
}

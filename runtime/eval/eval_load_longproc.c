// LongProc's path traversal as the reference loads it (eval_datasets/longproc/longproc_data.py):
// each record's context_nl, question_repr [src, dst] and answer_nl fill the item, and
// prompts.yaml's USER_PROMPT.format(**item) is the prompt.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "eval_loaders.h"
#include "prompt_yaml.h"
#include "py_format.h"
#include "runtime/util/file_util.h"

static const char SOURCE[] =
    "the reference's scripts/setup/prepare_data.sh unzips data_eval_longproc.zip of the Hugging Face dataset "
    "PrincetonPLI/DySCO into data_eval/; tests/eval_synthetic_data.py writes synthetic files in its schema";

typedef struct {
    const char *prompt, *where;  // USER_PROMPT, and its name in errors
} template_text;

// {input_prompt, reference_output, item: {city_context, src_city, dst_city, reference_output}}.
static cJSON *example(const cJSON *record, const char *path, int i, const void *ctx, dy_error *err) {
    const template_text *t = ctx;
    const char *context = dy_eval_record_string(record, path, i, "context_nl", err);
    const char *answer = context ? dy_eval_record_string(record, path, i, "answer_nl", err) : NULL;
    if (!answer) return NULL;
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(record, "question_repr");
    if (!cJSON_IsArray(q) || cJSON_GetArraySize(q) < 2 || !cJSON_IsString(cJSON_GetArrayItem(q, 0)) ||
        !cJSON_IsString(cJSON_GetArrayItem(q, 1))) {
        dy_fail(err, "%s: [%d].question_repr: expected a list [source city, destination city] of strings", path, i);
        return NULL;
    }
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "city_context", context);
    cJSON_AddStringToObject(item, "src_city", cJSON_GetArrayItem(q, 0)->valuestring);
    cJSON_AddStringToObject(item, "dst_city", cJSON_GetArrayItem(q, 1)->valuestring);
    cJSON_AddStringToObject(item, "reference_output", answer);
    char *text = dy_py_format(t->prompt, item, DY_EVAL_MAX_PROMPT, t->where, err);
    if (!text) {
        cJSON_Delete(item);
        return NULL;
    }
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "input_prompt", text);
    cJSON_AddStringToObject(e, "reference_output", answer);
    cJSON_AddItemToObject(e, "item", item);
    free(text);
    return e;
}

cJSON *dy_eval_load_path_walking(const char *name, const char *data_dir, dy_error *err) {
    char dir[PATH_MAX], path[PATH_MAX], yaml[PATH_MAX], file[160], where[PATH_MAX + 16];
    snprintf(file, sizeof file, "%s.json", name);
    if (dy_path_join(dir, sizeof dir, data_dir, "longproc/path_walking", err) ||
        dy_path_join(path, sizeof path, dir, file, err) || dy_path_join(yaml, sizeof yaml, dir, "prompts.yaml", err))
        return NULL;
    cJSON *records = dy_eval_read_list(path, SOURCE, err);
    if (!records) return NULL;
    char *prompt = NULL;
    if (!dy_file_exists(yaml)) dy_fail(err, "%s: missing (%s)", yaml, SOURCE);
    else dy_prompt_yaml_string(yaml, "USER_PROMPT", &prompt, err);
    snprintf(where, sizeof where, "%s: USER_PROMPT", yaml);
    const template_text t = {prompt, where};
    cJSON *examples = prompt ? dy_eval_map_records(records, path, example, &t, err) : NULL;
    if (!prompt) cJSON_Delete(records);
    free(prompt);
    return examples;
}

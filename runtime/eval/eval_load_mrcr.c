// MRCR as the reference loads it (eval_datasets/mrcr/mrcr_data.py): the records of
// {N}needle_{L}.json as they are, each with input_prompt (the conversation, a list of chat
// messages), reference_output and random_string_to_prepend, which its scorer reads.
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "eval_loaders.h"
#include "runtime/util/file_util.h"

static const char SOURCE[] =
    "the reference ships no MRCR data: its loader reads OpenAI's MRCR (the Hugging Face dataset openai/mrcr) as "
    "records {input_prompt: the messages, reference_output, random_string_to_prepend}; "
    "tests/eval_synthetic_data.py writes synthetic files in that schema";

// A record the scorer and the chat template can take: its conversation a list of
// {role, content} strings, the answer and prefix strings.
static int check_record(const cJSON *r, const char *path, int i, dy_error *err) {
    if (!dy_eval_record_string(r, path, i, "reference_output", err) ||
        !dy_eval_record_string(r, path, i, "random_string_to_prepend", err))
        return -1;
    const cJSON *messages = cJSON_GetObjectItemCaseSensitive(r, "input_prompt"), *m;
    if (!cJSON_IsArray(messages) || cJSON_GetArraySize(messages) == 0)
        return dy_fail(err, "%s: [%d].input_prompt: expected a non-empty list of messages {role, content}", path, i);
    int k = 0;
    cJSON_ArrayForEach(m, messages) {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role"), *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content))
            return dy_fail(err, "%s: [%d].input_prompt[%d]: expected {\"role\": string, \"content\": string}", path, i, k);
        k++;
    }
    return 0;
}

cJSON *dy_eval_load_mrcr(const char *name, const char *data_dir, dy_error *err) {
    // mrcr_2needle_16k: name.split("_")[1] + "_" + [2] + ".json"
    const char *needles = name + strlen("mrcr_");
    char file[160], path[PATH_MAX];
    snprintf(file, sizeof file, "mrcr/%s.json", needles);
    if (dy_path_join(path, sizeof path, data_dir, file, err)) return NULL;
    cJSON *records = dy_eval_read_list(path, SOURCE, err);
    const cJSON *r;
    int i = 0;
    if (records) cJSON_ArrayForEach(r, records) {
        if (check_record(r, path, i++, err)) {
            cJSON_Delete(records);
            return NULL;
        }
    }
    return records;
}

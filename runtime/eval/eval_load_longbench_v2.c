// LongBench v2 as the reference loads it (eval_datasets/longbenchv2/longbenchv2_data.py): the
// records of lbv2_qr/data_{L}.json (data_128k_sp1.json, data_128k_sp2.json), the prompt of the
// variant (direct, cot_, original_cot_) with $DOC$, $Q$, $C_A$..$C_D$ replaced in turn by the
// stripped fields (each replace also reaching text an earlier one put in, as chained
// str.replace does), reference_output "The correct answer is (X)", and the record without its
// context and choices as the item.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval_loaders.h"
#include "py_format.h"
#include "py_text.h"
#include "runtime/util/file_util.h"

static const char SOURCE[] =
    "the reference ships no LongBench v2 data: its loader reads the official LongBench v2 records (the Hugging Face "
    "dataset THUDM/LongBench-v2) cut by length into data_eval/lbv2_qr/data_{L}.json";

static const char HEAD[] =
    "Please read the following text and answer the question below.\n\n<text>\n$DOC$\n</text>\n\n"
    "What is the correct answer to this question: $Q$\nChoices:\n(A) $C_A$\n(B) $C_B$\n(C) $C_C$\n(D) $C_D$\n\n";
static const char DIRECT[] = "Format your response as follows: \"The correct answer is (insert choice here)\".";
static const char ORIGINAL_COT[] =
    "Let's think step by step. After thinking, choose a single, most likely answer. Output your final answer follows: "
    "\"The correct answer is (insert choice here)\".";
static const char COT[] =
    "Let's think step by step first and then choose a single answer. Format your response following the example "
    "below.\n\nExample Response Format:\nREASONING:\n(reasoning process here)\n\nANSWER:\nThe correct answer is (insert "
    "choice here).";

// field.strip(), malloc'd.
static char *stripped(const char *s) {
    size_t a, b;
    dy_py_strip_utf8(s, strlen(s), &a, &b);
    char *out = malloc(b - a + 1);
    if (out) {
        memcpy(out, s + a, b - a);
        out[b - a] = '\0';
    }
    return out;
}

static cJSON *example(const cJSON *record, const char *path, int i, const void *tail_text, dy_error *err) {
    const char *tail = tail_text;
    static const char *const marks[] = {"$DOC$", "$Q$", "$C_A$", "$C_B$", "$C_C$", "$C_D$"};
    static const char *const keys[] = {"context", "question", "choice_A", "choice_B", "choice_C", "choice_D"};
    const char *answer = dy_eval_record_string(record, path, i, "answer", err);
    if (!answer) return NULL;
    char *prompt = malloc(sizeof HEAD + strlen(tail));
    if (!prompt) return dy_fail(err, "%s: out of memory", path), NULL;
    sprintf(prompt, "%s%s", HEAD, tail);
    for (int k = 0; prompt && k < 6; k++) {
        const char *field = dy_eval_record_string(record, path, i, keys[k], err);
        char *value = field ? stripped(field) : NULL, where[PATH_MAX + 32];
        snprintf(where, sizeof where, "%s: [%d].%s", path, i, keys[k]);
        char *next = value ? dy_py_replace(prompt, marks[k], value, DY_EVAL_MAX_PROMPT, where, err) : NULL;
        if (field && !value) dy_fail(err, "%s: out of memory", path);
        free(value);
        free(prompt);
        prompt = next;
    }
    if (!prompt) return NULL;
    cJSON *item = cJSON_Duplicate(record, true), *e = cJSON_CreateObject();
    for (int k = 0; k < 6; k++)
        if (k != 1) cJSON_DeleteItemFromObjectCaseSensitive(item, keys[k]);  // the question stays
    char *reference = malloc(strlen(answer) + sizeof "The correct answer is ()");
    if (reference) sprintf(reference, "The correct answer is (%s)", answer);
    cJSON_AddStringToObject(e, "input_prompt", prompt);
    cJSON_AddItemToObject(e, "reference_output", reference ? cJSON_CreateString(reference) : cJSON_CreateNull());
    cJSON_AddItemToObject(e, "item", item);
    free(prompt);
    free(reference);
    return e;
}

cJSON *dy_eval_load_longbench_v2(const char *name, const char *data_dir, dy_error *err) {
    char file[160], path[PATH_MAX];
    // data_{name.split("_")[-1]}.json, but the two splits of 128k have files of their own.
    const char *suffix = strrchr(name, '_') + 1;
    if (strcmp(name, "longbenchv2_128k_sp1") == 0 || strcmp(name, "longbenchv2_128k_sp2") == 0) suffix = name + 12;
    snprintf(file, sizeof file, "lbv2_qr/data_%s.json", suffix);
    if (dy_path_join(path, sizeof path, data_dir, file, err)) return NULL;
    const char *tail = strncmp(name, "longbenchv2_cot", 15) == 0            ? COT
                       : strncmp(name, "longbenchv2_original_cot", 24) == 0 ? ORIGINAL_COT
                                                                             : DIRECT;
    return dy_eval_map_records(dy_eval_read_list(path, SOURCE, err), path, example, tail, err);
}

// HELMET's InfiniteBench as the reference loads it (eval_datasets/helmet/helmet_data.py,
// load_infbench and truncate_llama2): the longbook_qa_eng or longbook_choice_eng split of the
// datasets folder helmet/longqa/infbench; per row question = input and, for choice, options as
// "A. ..\nB. ..\nC. ..\nD. .." and answer [letter, "X. option"]; two demos per row, the rows of
// another id in the order shuffle(seed=42) gives them (numpy's default_rng(42).permutation); the
// 200 first rows of the split's own shuffle(seed=42); each context cut with the Llama-2
// tokenizer when it has more than max_length tokens: context[:offsets[max_length - sep][1]] +
// " ... [the rest of the text is omitted]", sep the postfix's own token count (its BOS
// included). reference_output is str(answer); the item is the row without its context.
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_ipc.h"
#include "eval_loaders.h"
#include "np_random.h"
#include "py_repr.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/util/file_util.h"
#include "runtime/util/text_buffer.h"

static const char SOURCE[] =
    "the reference ships no HELMET data: HELMET's scripts/download_data.sh (princeton-nlp/HELMET) saves InfiniteBench "
    "(xinrongzhang2022/InfiniteBench) with datasets' save_to_disk into data_eval/helmet/longqa/infbench";
static const char POSTFIX[] = " ... [the rest of the text is omitted]";
static const char QA_HEAD[] =
    "You are given a story and a question. Answer the question as concisely as you can, using a single phrase if "
    "possible.\n\n";
static const char CHOICE_HEAD[] =
    "You are given a story and a question with multiple choices. Choose the best answer from the options provided. "
    "Only one of the following options is correct, output the answer using one single letter (A, B, C, or D). Don't "
    "say anything else.\n\n";
enum { SHOTS = 2, MAX_TEST_SAMPLES = 200, SEED = 42 };

typedef struct {
    const char *path;  // the split's folder, for errors
    bool choice;
    int n;
    cJSON **row;  // the rows, processed: question, demo, and for choice options and answer rewritten
} split_rows;

static const char *row_string(const split_rows *s, int i, const char *key, dy_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->row[i], key);
    if (cJSON_IsString(v)) return v->valuestring;
    dy_fail(err, "%s: row %d: %s: %s", s->path, i, key, v ? "expected a string" : "missing");
    return NULL;
}

// A non-empty list of strings (answer; options with at least 4 for choice).
static const cJSON *row_strings(const split_rows *s, int i, const char *key, int min, dy_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(s->row[i], key), *x;
    bool ok = cJSON_IsArray(v) && cJSON_GetArraySize(v) >= min;
    if (ok) cJSON_ArrayForEach(x, v) ok = ok && cJSON_IsString(x);
    if (!ok) dy_fail(err, "%s: row %d: %s: expected a list of at least %d strings", s->path, i, key, min);
    return ok ? v : NULL;
}

static void set(cJSON *row, const char *key, cJSON *value) {
    if (cJSON_GetObjectItemCaseSensitive(row, key)) cJSON_ReplaceItemInObjectCaseSensitive(row, key, value);
    else cJSON_AddItemToObject(row, key, value);
}

// process_example: question and an empty demo; for choice the options text and the answer pair.
static int process_row(split_rows *s, int i, dy_error *err) {
    const char *input = row_string(s, i, "input", err);
    const cJSON *answer = input ? row_strings(s, i, "answer", 1, err) : NULL;
    if (!answer || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(s->row[i], "id")))
        return answer ? dy_fail(err, "%s: row %d: id: expected a number", s->path, i) : -1;
    cJSON *row = s->row[i];
    set(row, "question", cJSON_CreateString(input));
    set(row, "demo", cJSON_CreateString(""));
    if (!s->choice) return 0;
    const cJSON *options = row_strings(s, i, "options", 4, err);
    if (!options) return -1;
    // "A. {}\nB. {}\nC. {}\nD. {}".format(*options) takes the first four; options.index(answer[0]).
    dy_text_buffer t = {0};
    int found = -1, k = 0;
    const char *gold = answer->child->valuestring;
    for (const cJSON *o = options->child; o; o = o->next, k++) {
        if (found < 0 && strcmp(o->valuestring, gold) == 0) found = k;
        if (k >= 4) continue;
        char label[8];
        snprintf(label, sizeof label, "%s%c. ", k ? "\n" : "", 'A' + k);
        dy_text_puts(&t, label);
        dy_text_puts(&t, o->valuestring);
    }
    char *text = dy_text_take(&t);
    if (!text) return dy_fail(err, "%s: out of memory", s->path);
    if (found < 0) {
        free(text);
        return dy_fail(err, "%s: row %d: answer[0] is not one of the options", s->path, i);
    }
    // chr(ord("A") + index): letters, then what ASCII has after Z, as Python gives them.
    if (found > 'z' - 'A') {
        free(text);
        return dy_fail(err, "%s: row %d: answer[0] is option %d, past ASCII's letters", s->path, i, found);
    }
    char letter[2] = {(char)('A' + found), '\0'}, *pair = malloc(strlen(gold) + 4);
    if (!pair) {
        free(text);
        return dy_fail(err, "%s: out of memory", s->path);
    }
    sprintf(pair, "%s. %s", letter, gold);
    cJSON *pair_list = cJSON_CreateArray();
    cJSON_AddItemToArray(pair_list, cJSON_CreateString(letter));
    cJSON_AddItemToArray(pair_list, cJSON_CreateString(pair));
    set(row, "options", cJSON_CreateString(text));
    set(row, "answer", pair_list);
    free(text);
    free(pair);
    return 0;
}

static int *permutation(int n, const char *path, dy_error *err);

// "Question: {question}", and for choice "\nOptions:\n{options}": what a demo and the prompt
// both say of a row.
static void put_question(dy_text_buffer *t, const split_rows *s, const cJSON *row) {
    dy_text_puts(t, "Question: ");
    dy_text_puts(t, cJSON_GetObjectItemCaseSensitive(row, "question")->valuestring);
    if (s->choice) {
        dy_text_puts(t, "\nOptions:\n");
        dy_text_puts(t, cJSON_GetObjectItemCaseSensitive(row, "options")->valuestring);
    }
}

// add_demos: the demo text of row i, from the rows of another id in the order shuffle(seed=42)
// gives them.
static char *demo_text(const split_rows *s, int i, dy_error *err) {
    const double id = cJSON_GetObjectItemCaseSensitive(s->row[i], "id")->valuedouble;
    int *others = malloc((size_t)s->n * sizeof *others), n = 0;
    if (!others) return dy_fail(err, "%s: out of memory", s->path), NULL;
    for (int j = 0; j < s->n; j++)
        if (cJSON_GetObjectItemCaseSensitive(s->row[j], "id")->valuedouble != id) others[n++] = j;
    if (n < SHOTS) {
        free(others);
        dy_fail(err, "%s: row %d: %d rows of another id, %d demos needed", s->path, i, n, SHOTS);
        return NULL;
    }
    int *order = permutation(n, s->path, err);
    if (!order) {
        free(others);
        return NULL;
    }
    dy_text_buffer t = {0};
    dy_text_puts(&t, "For example:\n\n");
    for (int k = 0; k < SHOTS; k++) {
        const cJSON *d = s->row[others[order[k]]];
        if (k) dy_text_puts(&t, "\n\n");
        dy_text_puts(&t, "[story text]\n");
        put_question(&t, s, d);
        dy_text_puts(&t, "\nAnswer: ");
        dy_text_puts(&t, cJSON_GetObjectItemCaseSensitive(d, "answer")->child->valuestring);
    }
    dy_text_puts(&t, "\n\nNow, read the following story:\n\n");
    free(order);
    free(others);
    char *text = dy_text_take(&t);
    if (!text) dy_fail(err, "%s: out of memory", s->path);
    return text;
}

// The order shuffle(seed=42) puts n rows in, malloc'd.
static int *permutation(int n, const char *path, dy_error *err) {
    int *order = dy_np_shuffled_order(SEED, n);
    if (!order) dy_fail(err, "%s: out of memory", path);
    return order;
}

typedef struct {
    dy_tokenizer *tok;
    int max_length, sep;  // tokens kept at most (> sep); the postfix's token count (with its BOS)
} truncation;

// The context, cut as truncate_llama2 cuts it: malloc'd.
static char *truncated(const truncation *tr, const char *context, const char *path, int row, dy_error *err) {
    const size_t len = strlen(context);
    dy_tokens ids = {0};
    dy_token_offsets offsets = {0};
    char *out = NULL;
    if (dy_tokenizer_encode_offsets(tr->tok, context, len, true, &ids, &offsets, err) == 0) {
        size_t keep = len;  // bytes
        bool cut = ids.n > tr->max_length;
        if (cut) {
            // offset_mapping[max_length - sep][1] is in code points: the byte where that many
            // code points end.
            const int at = tr->max_length - tr->sep;
            const int64_t end_cp = offsets.at[at].end;
            size_t b = 0;
            for (int64_t cp = 0; cp < end_cp && b < len; cp++) {
                b++;
                while (b < len && ((unsigned char)context[b] & 0xc0) == 0x80) b++;
            }
            keep = b;
        }
        out = malloc(keep + sizeof POSTFIX);
        if (out) {
            memcpy(out, context, keep);
            strcpy(out + keep, cut ? POSTFIX : "");
        } else {
            dy_fail(err, "%s: row %d: out of memory", path, row);
        }
    } else {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        dy_fail(err, "%s: row %d: context: %s", path, row, why);
    }
    dy_tokens_free(&ids);
    dy_token_offsets_free(&offsets);
    return out;
}

// The example of row i (its context already cut).
static cJSON *example(const split_rows *s, int i, char *context) {
    const cJSON *r = s->row[i];
    dy_text_buffer t = {0};
    dy_text_puts(&t, s->choice ? CHOICE_HEAD : QA_HEAD);
    dy_text_puts(&t, cJSON_GetObjectItemCaseSensitive(r, "demo")->valuestring);
    dy_text_puts(&t, context);
    dy_text_puts(&t, "\n\n");
    put_question(&t, s, r);
    dy_text_puts(&t, "\n\nAnswer:");
    char *prompt = dy_text_take(&t), *reference = dy_py_str_of_list(cJSON_GetObjectItemCaseSensitive(r, "answer"));
    cJSON *e = NULL;
    if (prompt && reference) {
        cJSON *item = cJSON_Duplicate(r, true);
        cJSON_DeleteItemFromObjectCaseSensitive(item, "context");
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "input_prompt", prompt);
        cJSON_AddStringToObject(e, "reference_output", reference);
        cJSON_AddItemToObject(e, "item", item);
    }
    free(prompt);
    free(reference);
    return e;
}

static int truncation_open(truncation *tr, const char *name, const char *dir, dy_error *err) {
    static const char *const lengths[] = {"8k", "16k", "32k", "64k", "128k"};
    static const int keep[] = {7892, 16084, 32468, 65236, 130862};
    const char *length = strrchr(name, '_') + 1;
    for (int i = 0; i < 5; i++)
        if (strcmp(length, lengths[i]) == 0) tr->max_length = keep[i];
    char path[PATH_MAX];
    if (dy_path_join(path, sizeof path, dir, "tokenizer.json", err)) return -1;
    if (!dy_file_exists(path))
        return dy_fail(err, "%s: missing (InfiniteBench's contexts are cut with Llama-2-7b's tokenizer, as the "
                       "reference's truncate_llama2 does: put meta-llama/Llama-2-7b-hf's tokenizer.json there, or name "
                       "its folder with --truncation-tokenizer)", path);
    dy_tokens ids = {0};
    if (dy_tokenizer_load(dir, &tr->tok, err) || dy_tokenizer_encode(tr->tok, POSTFIX, strlen(POSTFIX), true, &ids, err))
        return -1;
    tr->sep = ids.n;
    dy_tokens_free(&ids);
    return 0;
}

cJSON *dy_eval_load_infbench(const char *name, const char *data_dir, const char *truncation_tokenizer, dy_error *err) {
    char dir[PATH_MAX];
    if (dy_path_join(dir, sizeof dir, data_dir, "helmet/longqa/infbench", err)) return NULL;
    const bool choice = strstr(name, "choice_eng") != NULL;
    const char *split = choice ? "longbook_choice_eng" : "longbook_qa_eng";
    cJSON *rows = dy_arrow_read_dict_split(dir, split, SOURCE, err);
    if (!rows) return NULL;
    char where[PATH_MAX + 64];
    snprintf(where, sizeof where, "%s/%s", dir, split);
    split_rows s = {.path = where, .choice = choice, .n = cJSON_GetArraySize(rows)};
    truncation tr = {0};
    cJSON *examples = NULL;
    int *order = NULL, rc = 0;
    char **demos = calloc((size_t)(s.n ? s.n : 1), sizeof *demos);
    s.row = malloc((size_t)(s.n ? s.n : 1) * sizeof *s.row);
    if (!demos || !s.row) rc = dy_fail(err, "%s: out of memory", where);
    int i = 0;
    for (cJSON *r = rows->child; rc == 0 && r; r = r->next, i++) {
        s.row[i] = r;
        if (!cJSON_IsObject(r)) rc = dy_fail(err, "%s: row %d: expected a record", where, i);
        else rc = process_row(&s, i, err);
    }
    for (i = 0; rc == 0 && i < s.n; i++)
        if (!(demos[i] = demo_text(&s, i, err))) rc = -1;
    for (i = 0; rc == 0 && i < s.n; i++) set(s.row[i], "demo", cJSON_CreateString(demos[i]));
    if (rc == 0 && !(order = permutation(s.n, where, err))) rc = -1;
    if (rc == 0) rc = truncation_open(&tr, name, truncation_tokenizer, err);
    if (rc == 0) examples = cJSON_CreateArray();
    const int n = s.n < MAX_TEST_SAMPLES ? s.n : MAX_TEST_SAMPLES;
    for (i = 0; examples && i < n; i++) {
        const int r = order[i];
        const char *context = row_string(&s, r, "context", err);
        char *cut = context ? truncated(&tr, context, where, r, err) : NULL;
        cJSON *e = cut ? example(&s, r, cut) : NULL;
        if (cut && !e) dy_fail(err, "%s: out of memory", where);
        free(cut);
        if (e) cJSON_AddItemToArray(examples, e);
        else cJSON_Delete(examples), examples = NULL;
    }
    for (i = 0; demos && i < s.n; i++) free(demos[i]);
    free(demos);
    free(order);
    free(s.row);
    dy_tokenizer_free(tr.tok);
    cJSON_Delete(rows);
    return examples;
}

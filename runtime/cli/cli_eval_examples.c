#include "cli_eval_examples.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/eval/py_random.h"
#include "runtime/tokenizer/prompt.h"
#include "runtime/util/file_util.h"

// The chat messages of an example's input_prompt: a string is one user message (in *one), MRCR's
// list its messages (*owned, malloc'd).
static int example_messages(const cJSON *example, const char *where, dy_chat_message *one, dy_chat_message **owned,
                            const dy_chat_message **msgs, int *n, dy_error *err) {
    const cJSON *prompt = dy_eval_example_prompt(example);
    *owned = NULL;
    if (cJSON_IsString(prompt)) {
        *one = (dy_chat_message){"user", prompt->valuestring, NULL};
        *msgs = one;
        *n = 1;
        return 0;
    }
    if (!cJSON_IsArray(prompt)) return dy_fail(err, "%s: input_prompt: expected a string or a list of messages", where);
    if (dy_prompt_messages_from_json(prompt, where, owned, n, err)) return -1;
    *msgs = *owned;
    return 0;
}

typedef struct {
    dy_tokenizer *tok;
    dy_chat_template tmpl;
} filter_tokenizer;

// The tokenizer of the folder, rendered with Llama-3.1's chat template as run_eval.py's
// models/Llama-3.1-8B-Instruct renders it (default system header, date 26 Jul 2024), whichever
// Llama-3 template the folder's files name (the llama3_1 tokenizer files dysco fetches carry
// the plain Llama-3 one).
static int filter_open(const char *dir, filter_tokenizer *f, dy_error *err) {
    char path[PATH_MAX];
    if (dy_path_join(path, sizeof path, dir, "tokenizer_config.json", err)) return -1;
    if (dy_tokenizer_load(dir, &f->tok, err) || dy_chat_template_load(path, &f->tmpl, err)) return -1;
    if (f->tmpl.family == DY_CHAT_QWEN3)
        return dy_fail(err, "%s: the length filter counts with Llama-3.1's tokenizer and template (run_eval.py's "
                       "models/Llama-3.1-8B-Instruct), not qwen3's (see --filter-tokenizer)", path);
    f->tmpl.family = DY_CHAT_LLAMA31;
    snprintf(f->tmpl.date_string, sizeof f->tmpl.date_string, "26 Jul 2024");
    return 0;
}

// Whether the example's prompt fits: at most max_model_len - max_tokens - 16 filter tokens.
static int fits(filter_tokenizer *f, const cJSON *example, const char *where, int64_t room, bool *ok, dy_error *err) {
    dy_chat_message one, *owned;
    const dy_chat_message *msgs;
    int n;
    if (example_messages(example, where, &one, &owned, &msgs, &n, err)) return -1;
    dy_tokens ids = {0};
    const int rc = dy_prompt_encode_chat(f->tok, &f->tmpl, msgs, n, true, -1, &ids, err);
    *ok = ids.n <= room;
    dy_tokens_free(&ids);
    free(owned);
    return rc;
}

// The examples the filter keeps (positions in the data file), in file order.
static int filter(const dy_cli_eval_select *o, dy_cli_eval_examples *ex, const cJSON **all, int *kept, dy_error *err) {
    if (!ex->data.filter) {
        for (int i = 0; i < ex->n_loaded; i++) kept[ex->n_kept++] = i;
        return 0;
    }
    filter_tokenizer f = {0};
    int rc = filter_open(o->filter_tokenizer, &f, err);
    for (int i = 0; rc == 0 && i < ex->n_loaded; i++) {
        char where[64];
        bool ok;
        snprintf(where, sizeof where, "%s example %d", o->dataset, i);
        rc = fits(&f, all[i], where, o->max_model_len - o->max_tokens - 16, &ok, err);
        if (rc == 0 && ok) kept[ex->n_kept++] = i;
    }
    dy_tokenizer_free(f.tok);
    return rc;
}

int dy_cli_eval_examples_load(const dy_cli_eval_select *o, dy_cli_session *model, dy_cli_eval_examples *ex,
                              dy_error *err) {
    memset(ex, 0, sizeof *ex);
    if (dy_eval_data_load(o->dataset, o->family, o->data_dir, o->truncation_tokenizer, &ex->data, err)) return -1;
    ex->n_loaded = cJSON_GetArraySize(ex->data.examples);
    const cJSON **all = malloc((size_t)(ex->n_loaded + 1) * sizeof *all), *e;
    int *kept = malloc((size_t)(ex->n_loaded + 1) * sizeof *kept), i = 0;
    if (!all || !kept) {
        free(all);
        free(kept);
        return dy_fail(err, "%s: out of memory", o->dataset);
    }
    cJSON_ArrayForEach(e, ex->data.examples) all[i++] = e;
    int rc = filter(o, ex, all, kept, err);
    ex->n = ex->n_kept;
    if (rc == 0 && o->test_size > 0) {  // run_eval.py: random.seed(seed); random.shuffle(dataset); dataset[:test_size]
        dy_py_random r;
        dy_py_random_seed(&r, o->seed);
        if (ex->data.shuffle) dy_py_random_shuffle(&r, kept, ex->n_kept);
        if (o->test_size < ex->n) ex->n = (int)o->test_size;
    }
    ex->chosen = calloc((size_t)ex->n + 1, sizeof *ex->chosen);
    ex->prompts = calloc((size_t)ex->n + 1, sizeof *ex->prompts);
    ex->index = kept;
    if (rc == 0 && (!ex->chosen || !ex->prompts)) rc = dy_fail(err, "%s: out of memory", o->dataset);
    for (int k = 0; rc == 0 && k < ex->n; k++) {
        char where[64];
        dy_chat_message one, *owned;
        const dy_chat_message *msgs;
        int n;
        snprintf(where, sizeof where, "%s example %d", o->dataset, kept[k]);
        ex->chosen[k] = all[kept[k]];
        if (!model->chat && cJSON_IsArray(dy_eval_example_prompt(ex->chosen[k]))) {
            rc = dy_fail(err, "%s: input_prompt is a list of messages: it needs the chat template (drop --no-chat-template)", where);
        } else if (example_messages(ex->chosen[k], where, &one, &owned, &msgs, &n, err)) {
            rc = -1;
        } else {
            dy_error why;
            rc = dy_cli_session_encode(model, msgs, n, o->think, &ex->prompts[k], &why) ? dy_fail(err, "%s: %s", where, why.msg) : 0;
            free(owned);
        }
    }
    free(all);
    return rc;
}

void dy_cli_eval_examples_free(dy_cli_eval_examples *ex) {
    for (int k = 0; ex->prompts && k < ex->n; k++) dy_tokens_free(&ex->prompts[k]);
    free(ex->prompts);
    free(ex->chosen);
    free(ex->index);
    dy_eval_data_free(&ex->data);
    memset(ex, 0, sizeof *ex);
}

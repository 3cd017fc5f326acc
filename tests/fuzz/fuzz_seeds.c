// Writes the seed inputs that are made from large real files rather than committed (the corpus
// under tests/fuzz/corpus stays small): a reduced copy of each real tokenizer (the first 400
// model tokens, the merges among them, the added tokens that are not reserved placeholders
// renumbered after them), each followed by its tokenizer_config.json without the unread
// added_tokens_decoder; and, from the committed Qwen3 tokenizer fixture, strings of each
// category (encoding), its chats and some strings as --batch lines, and decode cases as id arrays;
// from the committed scorer fixture, cases of every family as `dysco eval score` lines; and the
// data files that tests/eval_synthetic_data.py wrote (path_walking with its prompts.yaml, MRCR).
// usage: fuzz_seeds OUT_DIR TOKENIZERS_DIR FIXTURES_DIR EVAL_DATA_DIR
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/eval/eval_dataset.h"
#include "runtime/util/file_util.h"
#include "runtime/util/hash_map.h"

// Enough fixture cases to seed every kind of input without making each ctest run's first pass
// over the corpus long: 20 strings of each of the fixture's 17 categories, every 10th decode.
// Every 5th scorer case: about 45 of each family.
enum { KEEP_TOKENS = 400, STRINGS_PER_CATEGORY = 20, BATCH_TEXT_EVERY = 5, DECODE_EVERY = 10, SCORE_CASE_EVERY = 5 };

static void die(const char *what) {
    fprintf(stderr, "fuzz_seeds: %s\n", what);
    exit(1);
}

static char *read_text(const char *dir, const char *name) {
    char path[PATH_MAX];
    dy_error err;
    char *text = dy_path_join(path, sizeof path, dir, name, &err) ? NULL : dy_read_file(path, NULL, &err);
    if (!text) die(err.msg);
    return text;
}

static cJSON *read_json(const char *dir, const char *name) {
    char *text = read_text(dir, name);
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) die(name);
    return root;
}

static void write_seed(const char *out, const char *target, const char *name, const void *data, size_t len) {
    char dir[PATH_MAX], path[PATH_MAX];
    dy_error err;
    if (dy_path_join(dir, sizeof dir, out, target, &err) || dy_make_dirs(dir, &err) ||
        dy_path_join(path, sizeof path, dir, name, &err) || dy_write_file(path, data, len, &err))
        die(err.msg);
}

static bool kept(const dy_str_map *vocab, const char *token) { return dy_str_map_get(vocab, token, strlen(token)) >= 0; }

// A merge is [a, b] (Qwen3) or "a b" (Llama-3); kept when a, b and a + b all are.
static bool merge_kept(const dy_str_map *vocab, const cJSON *merge) {
    char a[256], b[256], ab[512];
    if (cJSON_IsArray(merge)) {
        const cJSON *x = cJSON_GetArrayItem(merge, 0), *y = cJSON_GetArrayItem(merge, 1);
        if (!cJSON_IsString(x) || !cJSON_IsString(y)) die("merge is not two strings");
        snprintf(a, sizeof a, "%s", x->valuestring);
        snprintf(b, sizeof b, "%s", y->valuestring);
    } else if (!cJSON_IsString(merge) || sscanf(merge->valuestring, "%255s %255s", a, b) != 2) {
        die("merge is not \"a b\"");
    }
    snprintf(ab, sizeof ab, "%s%s", a, b);
    return kept(vocab, a) && kept(vocab, b) && kept(vocab, ab);
}

static void reduce_model(cJSON *model) {
    cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab"), *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    dy_str_map small_vocab;
    if (dy_str_map_init(&small_vocab, KEEP_TOKENS)) die("out of memory");
    for (cJSON *t = vocab->child, *next; t; t = next) {
        next = t->next;
        if (t->valuedouble < KEEP_TOKENS) {
            if (dy_str_map_put(&small_vocab, t->string, strlen(t->string), (int32_t)t->valuedouble)) die("out of memory");
        } else {
            cJSON_Delete(cJSON_DetachItemViaPointer(vocab, t));
        }
    }
    cJSON *small_merges = cJSON_CreateArray();
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) if (merge_kept(&small_vocab, m)) cJSON_AddItemToArray(small_merges, cJSON_Duplicate(m, true));
    cJSON_ReplaceItemInObjectCaseSensitive(model, "merges", small_merges);
    dy_str_map_free(&small_vocab);
}

// Added tokens that are not "<|reserved_special_token_N|>" get ids KEEP_TOKENS, KEEP_TOKENS + 1,
// ...; ids the post-processor's template names follow them.
static void renumber_added(cJSON *root) {
    cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    cJSON *renamed = cJSON_CreateObject();  // content -> new id
    int next = KEEP_TOKENS;
    for (cJSON *t = added->child, *after; t; t = after) {
        after = t->next;
        const char *content = cJSON_GetObjectItemCaseSensitive(t, "content")->valuestring;
        if (strstr(content, "reserved_special_token")) {
            cJSON_Delete(cJSON_DetachItemViaPointer(added, t));
            continue;
        }
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(t, "id"), next);
        cJSON_AddNumberToObject(renamed, content, next++);
    }
    const cJSON *processors = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "post_processor"), "processors");
    const cJSON *p;
    cJSON_ArrayForEach(p, processors) {
        const cJSON *special = cJSON_GetObjectItemCaseSensitive(p, "special_tokens"), *s;
        cJSON_ArrayForEach(s, special) {
            const cJSON *ids = cJSON_GetObjectItemCaseSensitive(s, "ids");
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(renamed, s->string);
            if (id) cJSON_SetNumberValue(cJSON_GetArrayItem(ids, 0), id->valuedouble);
        }
    }
    cJSON_Delete(renamed);
}

static void tokenizer_seed(const char *out, const char *tokenizers, const char *name) {
    char dir[PATH_MAX];
    dy_error err;
    if (dy_path_join(dir, sizeof dir, tokenizers, name, &err)) die(err.msg);
    cJSON *tok = read_json(dir, "tokenizer.json"), *config = read_json(dir, "tokenizer_config.json");
    reduce_model(cJSON_GetObjectItemCaseSensitive(tok, "model"));
    renumber_added(tok);
    cJSON_DeleteItemFromObjectCaseSensitive(config, "added_tokens_decoder");
    char *a = cJSON_PrintUnformatted(tok), *b = cJSON_Print(config);
    const size_t la = strlen(a), lb = strlen(b);
    char *seed = malloc(la + 1 + lb);
    if (!a || !b || !seed) die("out of memory");
    memcpy(seed, a, la + 1);  // the NUL separates the two files
    memcpy(seed + la + 1, b, lb);
    write_seed(out, "fuzz_tokenizer_load", name, seed, la + 1 + lb);
    free(seed);
    free(a);
    free(b);
    cJSON_Delete(tok);
    cJSON_Delete(config);
}

static void write_printed(const char *out, const char *target, const char *name, const cJSON *v) {
    char *s = cJSON_PrintUnformatted(v);
    if (!s) die("out of memory");
    write_seed(out, target, name, s, strlen(s));
    free(s);
}

static void fixture_seeds(const char *out, const char *fixtures) {
    cJSON *fx = read_json(fixtures, "tokenizer_qwen3.json");
    char name[32];
    int i = 0;
    const cJSON *e;
    cJSON *seen = cJSON_CreateObject();  // category -> strings taken
    const cJSON *category = cJSON_GetObjectItemCaseSensitive(fx, "string_categories")->child;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(fx, "strings")) {
        const int index = i++;
        cJSON *taken = cJSON_GetObjectItemCaseSensitive(seen, category->valuestring);
        if (!taken) taken = cJSON_AddNumberToObject(seen, category->valuestring, 0);
        category = category->next;
        if (taken->valuedouble >= STRINGS_PER_CATEGORY) continue;
        cJSON_SetNumberValue(taken, taken->valuedouble + 1);
        const char *text = cJSON_GetObjectItemCaseSensitive(e, "text")->valuestring;
        snprintf(name, sizeof name, "string_%04d", index);
        write_seed(out, "fuzz_tokenize", name, text, strlen(text));
        if ((int)taken->valuedouble % BATCH_TEXT_EVERY == 1) {
            cJSON *line = cJSON_CreateObject();
            cJSON_AddStringToObject(line, "text", text);
            write_printed(out, "fuzz_batch_line", name, line);
            cJSON_Delete(line);
        }
    }
    cJSON_Delete(seen);
    i = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(fx, "chats")) {
        cJSON *line = cJSON_CreateObject();
        static const char *const keys[] = {"messages", "add_generation_prompt", "enable_thinking"};
        for (int k = 0; k < 3; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, keys[k]);
            if (v) cJSON_AddItemToObject(line, keys[k], cJSON_Duplicate(v, true));
        }
        snprintf(name, sizeof name, "chat_%03d", i++);
        write_printed(out, "fuzz_batch_line", name, line);
        cJSON_Delete(line);
    }
    i = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(fx, "token_decodes")) {
        if (i++ % DECODE_EVERY) continue;
        snprintf(name, sizeof name, "decode_%04d", i - 1);
        write_printed(out, "fuzz_input_ids", name, cJSON_GetObjectItemCaseSensitive(e, "ids"));
    }
    cJSON_Delete(fx);
}

// A seed of the eval targets: the byte that picks the family or dataset ('0' + index), then the
// parts, a NUL byte between two.
static void eval_seed(const char *out, const char *target, const char *name, int index, const char *a, const char *b) {
    const size_t la = strlen(a), lb = b ? strlen(b) : 0, n = 1 + la + (b ? 1 + lb : 0);
    char *seed = malloc(n);
    if (!seed) die("out of memory");
    seed[0] = (char)('0' + index);
    memcpy(seed + 1, a, la);
    if (b) {
        seed[1 + la] = '\0';
        memcpy(seed + 2 + la, b, lb);
    }
    write_seed(out, target, name, seed, n);
    free(seed);
}

// {"output", "example"} of the scorer fixture's cases, the family's byte first.
static void score_seeds(const char *out, const char *fixtures) {
    cJSON *fx = read_json(fixtures, "eval_scoring.json");
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(fx, "families")) {
        dy_eval_family family;
        dy_error err;
        if (dy_eval_dataset_family(cJSON_GetObjectItemCaseSensitive(f, "dataset")->valuestring, &family, &err)) die(err.msg);
        int i = 0;
        const cJSON *c;
        cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(f, "cases")) {
            if (i++ % SCORE_CASE_EVERY) continue;
            cJSON *line = cJSON_CreateObject();
            cJSON_AddItemToObject(line, "output", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "output"), true));
            cJSON_AddItemToObject(line, "example", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(c, "example"), true));
            char *text = cJSON_PrintUnformatted(line), name[64];
            if (!text) die("out of memory");
            snprintf(name, sizeof name, "%s_%03d", cJSON_GetObjectItemCaseSensitive(f, "family")->valuestring, i - 1);
            eval_seed(out, "fuzz_eval_score_line", name, (int)family, text, NULL);
            free(text);
            cJSON_Delete(line);
        }
    }
    cJSON_Delete(fx);
}

// The synthetic data files, with fuzz_eval_dataset's bytes for path_walking_4k (0) and
// mrcr_2needle_8k (1).
static void dataset_seeds(const char *out, const char *data) {
    char *walks = read_text(data, "longproc/path_walking/path_walking_4k.json");
    char *prompts = read_text(data, "longproc/path_walking/prompts.yaml");
    char *mrcr = read_text(data, "mrcr/2needle_8k.json");
    eval_seed(out, "fuzz_eval_dataset", "path_walking_synthetic", 0, walks, prompts);
    eval_seed(out, "fuzz_eval_dataset", "mrcr_synthetic", 1, mrcr, NULL);
    free(walks);
    free(prompts);
    free(mrcr);
}

int main(int argc, char **argv) {
    if (argc != 5) die("usage: fuzz_seeds OUT_DIR TOKENIZERS_DIR FIXTURES_DIR EVAL_DATA_DIR");
    tokenizer_seed(argv[1], argv[2], "qwen3");
    tokenizer_seed(argv[1], argv[2], "llama3_1");
    fixture_seeds(argv[1], argv[3]);
    score_seeds(argv[1], argv[3]);
    dataset_seeds(argv[1], argv[4]);
    return 0;
}

// Reading tokenizer.json into a dy_tokenizer. Only what Qwen3, Llama-3.x and Llama-2 use is
// accepted: a byte-level BPE model with an NFC (or no) normaliser, Split-regex and ByteLevel
// pre-tokenizers and a ByteLevel decoder; or, without a pre-tokenizer, a SentencePiece-style BPE
// model (tokenizer_load_char.c); ByteLevel / TemplateProcessing post-processors. Anything else is
// refused by name rather than half supported.
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"
#include "runtime/util/json_arena.h"
#include "runtime/util/json_util.h"
#include "tokenizer_load_char.h"
#include "tokenizer_state.h"

enum { WORD_CACHE_ENTRIES = 1 << 15 };

// GPT-2's pre-tokenizer regex, which ByteLevel applies when its use_regex is true.
static const char GPT2_SPLIT[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef struct {
    const char *path;
    dy_error *err;
} ctx;

static const char *type_of(const cJSON *o) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static bool flag(const cJSON *o, const char *key) { return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key)); }

// The `tokenizers` library runs these patterns with Oniguruma, whose \s is Unicode White_Space;
// PCRE2's \s (with UCP) leaves out U+0085, so \s and \S are spelled out before compiling.
#define WHITE_SPACE "\\t-\\r\\x20\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static char *translate_regex(const char *pattern) {
    size_t n = strlen(pattern), cap = 4 * n + 256, w = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        const char *put = NULL;
        char two[3] = {pattern[i], 0, 0};
        if (pattern[i] == '\\' && i + 1 < n) {
            two[1] = pattern[++i];
            if (two[1] == 's') put = in_class ? WHITE_SPACE : "[" WHITE_SPACE "]";
            else if (two[1] == 'S' && !in_class) put = "[^" WHITE_SPACE "]";
            else put = two;
        } else {
            if (pattern[i] == '[' && !in_class) in_class = true;
            else if (pattern[i] == ']' && in_class) in_class = false;
            put = two;
        }
        size_t k = strlen(put);
        if (w + k + 1 > cap) {
            char *grown = realloc(out, cap = 2 * (w + k + 1));
            if (!grown) {
                free(out);
                return NULL;
            }
            out = grown;
        }
        memcpy(out + w, put, k);
        w += k;
    }
    out[w] = '\0';
    return out;
}

static int add_split(dy_tokenizer *tok, const char *pattern, const ctx *c) {
    if (tok->n_splits == DY_MAX_SPLITS) return dy_fail(c->err, "%s: pre_tokenizer: more than %d splits", c->path, DY_MAX_SPLITS);
    if (!pattern[0]) return dy_fail(c->err, "%s: pre_tokenizer: Split: the Regex is empty (it would match nothing but empty pieces)", c->path);
    char *translated = translate_regex(pattern);
    if (!translated) return dy_fail(c->err, "%s: out of memory", c->path);
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)translated, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &offset, NULL);
    free(translated);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return dy_fail(c->err, "%s: pre_tokenizer: Split regex does not compile: %s", c->path, (char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // without JIT (unsupported CPU) matching still works, slower
    tok->splits[tok->n_splits] = re;
    if (!(tok->split_patterns[tok->n_splits++] = strdup(pattern))) return dy_fail(c->err, "%s: out of memory", c->path);
    return 0;
}

static int parse_pre_tokenizer(dy_tokenizer *tok, const cJSON *p, const ctx *c) {
    const char *type = type_of(p);
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(p, "pretokenizers")) if (parse_pre_tokenizer(tok, item, c)) return -1;
        return 0;
    }
    if (type && strcmp(type, "Split") == 0) {
        const cJSON *pat = cJSON_GetObjectItemCaseSensitive(p, "pattern"), *behavior = cJSON_GetObjectItemCaseSensitive(p, "behavior");
        const cJSON *regex = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
        if (!cJSON_IsString(regex))
            return dy_fail(c->err, "%s: pre_tokenizer: Split: only a \"Regex\" pattern is supported", c->path);
        if (!cJSON_IsString(behavior) || strcmp(behavior->valuestring, "Isolated") != 0 || flag(p, "invert"))
            return dy_fail(c->err, "%s: pre_tokenizer: Split: only behavior \"Isolated\" without invert is supported", c->path);
        return add_split(tok, regex->valuestring, c);
    }
    if (type && strcmp(type, "ByteLevel") == 0) {
        if (flag(p, "add_prefix_space"))
            return dy_fail(c->err, "%s: pre_tokenizer: ByteLevel add_prefix_space is not supported", c->path);
        return flag(p, "use_regex") ? add_split(tok, GPT2_SPLIT, c) : 0;
    }
    return dy_fail(c->err, "%s: pre_tokenizer: type \"%s\" is not supported (Sequence, Split, ByteLevel)", c->path,
                   type ? type : "(none)");
}

static int parse_normalizer(dy_tokenizer *tok, const cJSON *n, const ctx *c) {
    if (tok->char_level) return dy_load_char_normalizer(tok, n, c->path, c->err);
    if (!n || cJSON_IsNull(n)) return 0;
    const char *type = type_of(n);
    if (type && strcmp(type, "NFC") == 0) {
        tok->nfc = true;
        return 0;
    }
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(n, "normalizers")) if (parse_normalizer(tok, item, c)) return -1;
        return 0;
    }
    return dy_fail(c->err, "%s: normalizer: type \"%s\" is not supported (NFC or none)", c->path, type ? type : "(none)");
}

static int template_side(dy_tokenizer *tok, const cJSON *pp, const cJSON *piece, bool before, const ctx *c) {
    const cJSON *sp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(piece, "SpecialToken"), "id");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pp, "special_tokens"), sp->valuestring);
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(spec, "ids"), *id;
    if (!cJSON_IsArray(ids))
        return dy_fail(c->err, "%s: post_processor: special token %s has no ids", c->path, sp->valuestring);
    cJSON_ArrayForEach(id, ids) {
        int *n = before ? &tok->n_prefix : &tok->n_suffix;
        char why[128];
        long value;
        if (*n == DY_MAX_TEMPLATE_IDS)
            return dy_fail(c->err, "%s: post_processor: special token %s: more than %d ids", c->path, sp->valuestring,
                           DY_MAX_TEMPLATE_IDS);
        if (!dy_json_token_id(id, tok->n_ids, "the tokenizer's id count", &value, why, sizeof why))
            return dy_fail(c->err, "%s: post_processor: special token %s: ids: %s", c->path, sp->valuestring, why);
        (before ? tok->prefix : tok->suffix)[(*n)++] = (int32_t)value;
    }
    return 0;
}

static int parse_post_processor(dy_tokenizer *tok, const cJSON *p, const ctx *c) {
    if (!p || cJSON_IsNull(p)) return 0;
    const char *type = type_of(p);
    if (type && strcmp(type, "ByteLevel") == 0) {  // offsets only; ids are unchanged
        tok->trim_offsets = tok->trim_offsets || flag(p, "trim_offsets");
        return 0;
    }
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(p, "processors")) if (parse_post_processor(tok, item, c)) return -1;
        return 0;
    }
    if (type && strcmp(type, "TemplateProcessing") == 0) {
        bool seen_sequence = false;
        const cJSON *piece;
        cJSON_ArrayForEach(piece, cJSON_GetObjectItemCaseSensitive(p, "single")) {
            const cJSON *sp = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(piece, "SpecialToken"), "id");
            if (cJSON_GetObjectItemCaseSensitive(piece, "Sequence")) seen_sequence = true;
            else if (!cJSON_IsString(sp) || template_side(tok, p, piece, !seen_sequence, c))
                return cJSON_IsString(sp) ? -1 : dy_fail(c->err, "%s: post_processor: single: unknown template piece", c->path);
        }
        return 0;
    }
    return dy_fail(c->err, "%s: post_processor: type \"%s\" is not supported (ByteLevel, TemplateProcessing)", c->path,
                   type ? type : "(none)");
}

static int set_token(dy_tokenizer *tok, int32_t id, const char *text, const ctx *c) {
    if (id < 0 || id >= tok->n_ids) return dy_fail(c->err, "%s: token id %d out of range", c->path, id);
    if (tok->id_to_token[id] && strcmp(tok->id_to_token[id], text) != 0 && !tok->id_is_added[id])
        return dy_fail(c->err, "%s: model.vocab: id %d is used by two tokens", c->path, id);
    free(tok->id_to_token[id]);
    tok->id_to_token[id] = strdup(text);
    return tok->id_to_token[id] ? 0 : dy_fail(c->err, "%s: out of memory", c->path);
}

// Merges are "left right" strings (older files) or [left, right] pairs (newer files).
static int parse_merges(dy_tokenizer *tok, const cJSON *merges, const ctx *c) {
    if (!cJSON_IsArray(merges)) return dy_fail(c->err, "%s: model.merges: missing or not a list", c->path);
    const int n = cJSON_GetArraySize(merges);
    if (dy_u64_map_init(&tok->merges, (uint32_t)n) || !(tok->merge_id = malloc((size_t)(n ? n : 1) * sizeof *tok->merge_id)))
        return dy_fail(c->err, "%s: out of memory", c->path);
    uint32_t rank = 0;
    const cJSON *m;
    char joined[1024];
    cJSON_ArrayForEach(m, merges) {
        const char *left = NULL, *right = NULL;
        char pair[1024];
        if (cJSON_IsString(m)) {
            const char *space = strchr(m->valuestring, ' ');
            if (space && strlen(m->valuestring) < sizeof pair && !strchr(space + 1, ' ')) {
                memcpy(pair, m->valuestring, strlen(m->valuestring) + 1);
                pair[space - m->valuestring] = '\0';
                left = pair;
                right = pair + (space - m->valuestring) + 1;
            }
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && cJSON_IsString(m->child) &&
                   cJSON_IsString(m->child->next)) {
            left = m->child->valuestring;
            right = m->child->next->valuestring;
        }
        if (!left || !*left || !*right)
            return dy_fail(c->err, "%s: model.merges: entry %u is not \"left right\" or [left, right]", c->path, rank);
        const size_t n_left = strlen(left), n_right = strlen(right);
        if (n_left + n_right >= sizeof joined) return dy_fail(c->err, "%s: model.merges: entry %u is too long", c->path, rank);
        memcpy(joined, left, n_left);
        memcpy(joined + n_left, right, n_right);
        const int32_t l = dy_str_map_get(&tok->model_vocab, left, n_left), r = dy_str_map_get(&tok->model_vocab, right, n_right),
                      merged = dy_str_map_get(&tok->model_vocab, joined, n_left + n_right);
        if (l < 0 || r < 0 || merged < 0)
            return dy_fail(c->err, "%s: model.merges: entry %u (%s + %s) uses a token not in model.vocab", c->path, rank,
                           left, right);
        if (dy_u64_map_put(&tok->merges, (uint64_t)l << 32 | (uint32_t)r, rank))
            return dy_fail(c->err, "%s: out of memory", c->path);
        tok->merge_id[rank++] = merged;
    }
    tok->n_merges = rank;
    return 0;
}

static int parse_model(dy_tokenizer *tok, const cJSON *model, const cJSON *added, const ctx *c) {
    if (!cJSON_IsObject(model)) return dy_fail(c->err, "%s: model: missing", c->path);
    const char *type = type_of(model);
    if (!type || strcmp(type, "BPE") != 0)
        return dy_fail(c->err, "%s: model.type: \"%s\" is not supported (BPE)", c->path, type ? type : "(none)");
    if (flag(model, "byte_fallback") && !tok->char_level)
        return dy_fail(c->err, "%s: model.byte_fallback: not supported with a pre-tokenizer (byte-level BPE)", c->path);
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (dropout && !cJSON_IsNull(dropout)) return dy_fail(c->err, "%s: model.dropout: not supported", c->path);
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int i = 0; i < 2; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(model, affixes[i]);
        if (cJSON_IsString(a) && a->valuestring[0]) return dy_fail(c->err, "%s: model.%s: not supported", c->path, affixes[i]);
    }
    tok->ignore_merges = flag(model, "ignore_merges");
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab"), *v;
    if (!cJSON_IsObject(vocab) || !vocab->child) return dy_fail(c->err, "%s: model.vocab: missing or empty", c->path);
    // Ids may leave gaps, but fewer unused ids than entries: every id lies below twice the count
    // of vocabulary entries plus added tokens (plus 1024), so the id tables they size are bounded
    // by the file itself, never by one huge id.
    const int n_entries = cJSON_GetArraySize(vocab) + (added ? cJSON_GetArraySize(added) : 0);
    char bound_name[96], why[160];
    snprintf(bound_name, sizeof bound_name, "2 x %d vocabulary and added entries + 1024 =", n_entries);
    const long id_bound = 2L * n_entries + 1024;
    long id;
    int max_id = -1;
    cJSON_ArrayForEach(v, vocab) {
        if (!dy_json_token_id(v, id_bound, bound_name, &id, why, sizeof why))
            return dy_fail(c->err, "%s: model.vocab: token %s: %s", c->path, v->string, why);
        if (id > max_id) max_id = (int)id;
    }
    int entry = 0;
    cJSON_ArrayForEach(v, added) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(v, "content");
        if (!cJSON_IsString(content))
            return dy_fail(c->err, "%s: added_tokens: entry %d: content: expected a string", c->path, entry);
        if (!dy_json_token_id(cJSON_GetObjectItemCaseSensitive(v, "id"), id_bound, bound_name, &id, why, sizeof why))
            return dy_fail(c->err, "%s: added_tokens: %s: id: %s", c->path, content->valuestring, why);
        if (id > max_id) max_id = (int)id;
        entry++;
    }
    tok->n_ids = max_id + 1;
    tok->id_to_token = calloc((size_t)tok->n_ids, sizeof *tok->id_to_token);
    tok->id_is_added = calloc((size_t)tok->n_ids, 1);
    tok->id_is_special = calloc((size_t)tok->n_ids, 1);
    if (!tok->id_to_token || !tok->id_is_added || !tok->id_is_special ||
        dy_str_map_init(&tok->model_vocab, (uint32_t)cJSON_GetArraySize(vocab)))
        return dy_fail(c->err, "%s: out of memory", c->path);
    cJSON_ArrayForEach(v, vocab) {
        if (set_token(tok, v->valueint, v->string, c)) return -1;
        if (dy_str_map_put(&tok->model_vocab, v->string, strlen(v->string), v->valueint))
            return dy_fail(c->err, "%s: out of memory", c->path);
    }
    if (tok->char_level && dy_load_char_model(tok, model, c->path, c->err)) return -1;
    if (!tok->char_level) dy_byte_level_tables(tok);
    for (int b = 0; b < 256 && !tok->char_level; b++) {
        tok->byte_id[b] = dy_str_map_get(&tok->model_vocab, tok->byte_char[b], strlen(tok->byte_char[b]));
        if (tok->byte_id[b] < 0)
            return dy_fail(c->err, "%s: model.vocab: no token for byte 0x%02x (not a byte-level vocabulary)", c->path, b);
    }
    return parse_merges(tok, cJSON_GetObjectItemCaseSensitive(model, "merges"), c);
}

static int by_length_desc(const void *a, const void *b) {
    return ((const dy_added_token *)b)->len - ((const dy_added_token *)a)->len;
}

static int parse_added(dy_tokenizer *tok, const cJSON *added, const ctx *c) {
    int n = cJSON_GetArraySize(added);
    tok->added = calloc((size_t)(n ? n : 1), sizeof *tok->added);
    if (!tok->added) return dy_fail(c->err, "%s: out of memory", c->path);
    const cJSON *a;
    cJSON_ArrayForEach(a, added) {
        const char *content = cJSON_GetObjectItemCaseSensitive(a, "content")->valuestring;
        int32_t id = cJSON_GetObjectItemCaseSensitive(a, "id")->valueint;
        static const char *const unsupported[] = {"single_word", "lstrip", "rstrip"};
        for (int i = 0; i < 3; i++)
            if (flag(a, unsupported[i])) return dy_fail(c->err, "%s: added_tokens: %s: %s is not supported", c->path, content, unsupported[i]);
        if (!flag(a, "special") && flag(a, "normalized"))
            return dy_fail(c->err, "%s: added_tokens: %s: normalized added tokens are not supported", c->path, content);
        if (!content[0]) return dy_fail(c->err, "%s: added_tokens: empty content", c->path);
        dy_added_token *t = &tok->added[tok->n_added++];
        t->content = strdup(content);
        t->len = (int)strlen(content);
        t->id = id;
        t->special = flag(a, "special");
        if (!t->content || set_token(tok, id, content, c)) return dy_fail(c->err, "%s: out of memory", c->path);
        tok->id_is_added[id] = 1;
        tok->id_is_special[id] = t->special;
        tok->added_first_byte[(unsigned char)content[0]] = 1;
    }
    qsort(tok->added, (size_t)tok->n_added, sizeof *tok->added, by_length_desc);
    return 0;
}

static int parse_decoder(dy_tokenizer *tok, const cJSON *d, const ctx *c) {
    if (tok->char_level) return dy_load_char_decoder(tok, d, c->path, c->err);
    const char *type = type_of(d);
    if (type && strcmp(type, "ByteLevel") == 0) return 0;
    return dy_fail(c->err, "%s: decoder: type \"%s\" is not supported (ByteLevel)", c->path, type ? type : "(none)");
}

// The split regexes of Qwen3 and Llama-3 nest backtracking 4 deep at most, on any text; deeper
// nesting comes from a pattern that backtracks over its own groups. The heap bound caps what that
// nesting may allocate (PCRE2's default is 20 GB). JIT matching ignores both and runs on its own
// stack, whose limit (32 KiB) is reported the same way.
enum { SPLIT_DEPTH_LIMIT = 10000, SPLIT_HEAP_LIMIT_KIB = 64 * 1024 };

static pcre2_match_context *match_limits(void) {
    pcre2_match_context *m = pcre2_match_context_create(NULL);
    if (m) {
        pcre2_set_depth_limit(m, SPLIT_DEPTH_LIMIT);
        pcre2_set_heap_limit(m, SPLIT_HEAP_LIMIT_KIB);
    }
    return m;
}

int dy_tokenizer_parse(const char *tokenizer_json, size_t len, const char *tokenizer_path, dy_tokenizer **out, dy_error *err) {
    *out = NULL;
    ctx c = {tokenizer_path, err};
    char problem[160];
    dy_json_arena *arena;
    cJSON *root = dy_json_parse_in_arena(tokenizer_json, len, &arena, problem, sizeof problem);
    if (!root) return dy_fail(err, "%s: %s", tokenizer_path, problem);
    if (!cJSON_IsObject(root)) {
        dy_json_arena_free(arena);
        return dy_fail(err, "%s: not a JSON object", tokenizer_path);
    }
    dy_tokenizer *tok = calloc(1, sizeof *tok);
    int rc = tok ? 0 : dy_fail(err, "%s: out of memory", tokenizer_path);
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (rc == 0 && added && !cJSON_IsArray(added)) rc = dy_fail(err, "%s: added_tokens: not a list", tokenizer_path);
    // No pre-tokenizer: the text between added tokens is one word of characters (Llama-2).
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (tok) tok->char_level = !pre || cJSON_IsNull(pre);
    if (rc == 0) rc = parse_model(tok, cJSON_GetObjectItemCaseSensitive(root, "model"), added, &c);
    if (rc == 0) rc = parse_added(tok, added, &c);
    if (rc == 0) rc = parse_normalizer(tok, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), &c);
    if (rc == 0 && !tok->char_level) rc = parse_pre_tokenizer(tok, pre, &c);
    if (rc == 0) rc = parse_post_processor(tok, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), &c);
    if (rc == 0) rc = parse_decoder(tok, cJSON_GetObjectItemCaseSensitive(root, "decoder"), &c);
    dy_json_arena_free(arena);
    if (rc == 0 && (!(tok->match = pcre2_match_data_create(1, NULL)) || !(tok->match_limits = match_limits()) ||
                    !(tok->path = strdup(tokenizer_path)) || dy_word_cache_init(&tok->cache, WORD_CACHE_ENTRIES)))
        rc = dy_fail(err, "%s: out of memory", tokenizer_path);
    if (rc) {
        dy_tokenizer_free(tok);
        return -1;
    }
    *out = tok;
    return 0;
}

int dy_tokenizer_load(const char *dir, dy_tokenizer **tok, dy_error *err) {
    char path[PATH_MAX];
    if (dy_path_join(path, sizeof path, dir, "tokenizer.json", err)) return -1;
    size_t len;
    char *json = dy_read_file(path, &len, err);
    if (!json) return -1;
    int rc = dy_tokenizer_parse(json, len, path, tok, err);
    free(json);
    return rc;
}

void dy_tokenizer_free(dy_tokenizer *tok) {
    if (!tok) return;
    for (int i = 0; i < tok->n_ids && tok->id_to_token; i++) free(tok->id_to_token[i]);
    free(tok->id_to_token);
    free(tok->id_is_added);
    free(tok->id_is_special);
    dy_str_map_free(&tok->model_vocab);
    dy_u64_map_free(&tok->merges);
    free(tok->merge_id);
    for (int i = 0; i < tok->n_added; i++) free(tok->added[i].content);
    free(tok->added);
    for (int i = 0; i < tok->n_splits; i++) {
        pcre2_code_free(tok->splits[i]);
        free(tok->split_patterns[i]);
    }
    pcre2_match_data_free(tok->match);
    pcre2_match_context_free(tok->match_limits);
    free(tok->path);
    dy_word_cache_free(&tok->cache);
    dy_bpe_scratch_free(&tok->scratch);
    dy_normalized_free(&tok->nfc_aligned);
    dy_free_char_parts(tok);
    free(tok);
}

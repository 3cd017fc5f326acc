// Reading the SentencePiece-style parts of tokenizer.json (tokenizer_load_char.h). Options the
// `tokenizers` library has but Llama-2 does not use (Regex patterns, Strip of a longer content,
// ...) are refused by name rather than half supported.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/utf8.h"
#include "tokenizer_load_char.h"

static const char *type_of(const cJSON *o) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(t) ? t->valuestring : NULL;
}

static const char *string_of(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool one_character(const char *s) {
    int prefix;
    size_t n = strlen(s);
    return n > 0 && (size_t)dy_utf8_sequence((const unsigned char *)s, n, &prefix) == n;
}

// A Replace's pattern: {"String": one character}; NULL (with err set) otherwise.
static const char *replace_pattern(const cJSON *step, const char *path, const char *field, dy_error *err) {
    const char *pattern = string_of(cJSON_GetObjectItemCaseSensitive(step, "pattern"), "String");
    if (!pattern || !one_character(pattern)) {
        dy_fail(err, "%s: %s: Replace: only a one-character \"String\" pattern is supported", path, field);
        return NULL;
    }
    return pattern;
}

int dy_load_char_normalizer(dy_tokenizer *tok, const cJSON *n, const char *path, dy_error *err) {
    if (!n || cJSON_IsNull(n)) return 0;
    const char *type = type_of(n);
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(n, "normalizers")) if (dy_load_char_normalizer(tok, item, path, err)) return -1;
        return 0;
    }
    const bool prepend = type && strcmp(type, "Prepend") == 0, replace = type && strcmp(type, "Replace") == 0;
    if (!prepend && !replace)
        return dy_fail(err, "%s: normalizer: type \"%s\" is not supported without a pre-tokenizer (Prepend, Replace)", path,
                       type ? type : "(none)");
    if (tok->n_norm == DY_MAX_NORM_STEPS) return dy_fail(err, "%s: normalizer: more than %d steps", path, DY_MAX_NORM_STEPS);
    const char *content = string_of(n, prepend ? "prepend" : "content");
    if (!content) return dy_fail(err, "%s: normalizer: %s: \"%s\" is not a string", path, type, prepend ? "prepend" : "content");
    const char *pattern = replace ? replace_pattern(n, path, "normalizer", err) : NULL;
    if (replace && !pattern) return -1;
    dy_norm_step *s = &tok->norm[tok->n_norm++];
    s->kind = prepend ? DY_NORM_PREPEND : DY_NORM_REPLACE;
    s->content = strdup(content);
    s->pattern = pattern ? strdup(pattern) : NULL;
    return s->content && (!pattern || s->pattern) ? 0 : dy_fail(err, "%s: out of memory", path);
}

static int add_decoder(dy_tokenizer *tok, const cJSON *d, const char *type, const char *path, dy_error *err) {
    if (tok->n_decoder == DY_MAX_DEC_STEPS) return dy_fail(err, "%s: decoder: more than %d steps", path, DY_MAX_DEC_STEPS);
    dy_dec_step *s = &tok->decoder[tok->n_decoder++];
    if (strcmp(type, "ByteFallback") == 0 || strcmp(type, "Fuse") == 0) {
        s->kind = type[0] == 'B' ? DY_DEC_BYTE_FALLBACK : DY_DEC_FUSE;
        return 0;
    }
    const char *content = string_of(d, "content");
    if (!content) return dy_fail(err, "%s: decoder: %s: \"content\" is not a string", path, type);
    if (strcmp(type, "Replace") == 0) {
        const char *pattern = replace_pattern(d, path, "decoder", err);
        if (!pattern) return -1;
        s->kind = DY_DEC_REPLACE;
        s->pattern = strdup(pattern);
    } else {
        const cJSON *start = cJSON_GetObjectItemCaseSensitive(d, "start"), *stop = cJSON_GetObjectItemCaseSensitive(d, "stop");
        if (!one_character(content)) return dy_fail(err, "%s: decoder: Strip: \"content\" must be one character", path);
        if (!cJSON_IsNumber(start) || !cJSON_IsNumber(stop) || start->valuedouble < 0 || stop->valuedouble < 0 ||
            start->valuedouble > 1e6 || stop->valuedouble > 1e6)
            return dy_fail(err, "%s: decoder: Strip: \"start\" and \"stop\" must be counts", path);
        s->kind = DY_DEC_STRIP;
        s->start = start->valueint;
        s->stop = stop->valueint;
    }
    s->content = strdup(content);
    return s->content && (s->kind != DY_DEC_REPLACE || s->pattern) ? 0 : dy_fail(err, "%s: out of memory", path);
}

int dy_load_char_decoder(dy_tokenizer *tok, const cJSON *d, const char *path, dy_error *err) {
    const char *type = type_of(d);
    if (type && strcmp(type, "Sequence") == 0) {
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(d, "decoders")) if (dy_load_char_decoder(tok, item, path, err)) return -1;
        return 0;
    }
    static const char *const known[] = {"Replace", "ByteFallback", "Fuse", "Strip"};
    for (int i = 0; type && i < 4; i++)
        if (strcmp(type, known[i]) == 0) return add_decoder(tok, d, type, path, err);
    return dy_fail(err, "%s: decoder: type \"%s\" is not supported without a pre-tokenizer (Replace, ByteFallback, Fuse, Strip)",
                   path, type ? type : "(none)");
}

int dy_load_char_model(dy_tokenizer *tok, const cJSON *model, const char *path, dy_error *err) {
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "ignore_merges")))
        return dy_fail(err, "%s: model.ignore_merges: not supported without a pre-tokenizer", path);
    tok->byte_fallback = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"));
    tok->fuse_unk = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "fuse_unk"));
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    tok->unk_id = -1;
    if (cJSON_IsString(unk) && (tok->unk_id = dy_str_map_get(&tok->model_vocab, unk->valuestring, strlen(unk->valuestring))) < 0)
        return dy_fail(err, "%s: model.unk_token: \"%s\" is not in model.vocab", path, unk->valuestring);
    if (unk && !cJSON_IsNull(unk) && !cJSON_IsString(unk)) return dy_fail(err, "%s: model.unk_token: not a string", path);
    // Every byte needs its token: HF's older BPE put a pending <unk> after the byte tokens of a
    // later character when some were missing, and its newer one refuses such a vocabulary.
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        tok->fallback_id[b] = dy_str_map_get(&tok->model_vocab, name, 6);
        if (tok->byte_fallback && tok->fallback_id[b] < 0)
            return dy_fail(err, "%s: model.byte_fallback: model.vocab has no token %s (every byte needs one)", path, name);
    }
    for (int c = 0; c < 128; c++) {
        const char ch = (char)c;
        tok->ascii_id[c] = dy_str_map_get(&tok->model_vocab, &ch, 1);
    }
    return 0;
}

void dy_free_char_parts(dy_tokenizer *tok) {
    for (int i = 0; i < tok->n_norm; i++) {
        free(tok->norm[i].pattern);
        free(tok->norm[i].content);
    }
    for (int i = 0; i < tok->n_decoder; i++) {
        free(tok->decoder[i].pattern);
        free(tok->decoder[i].content);
    }
    dy_char_bpe_scratch_free(&tok->char_scratch);
}

#include "model_config.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

// Every reader below names the file and the field in its error, as users see it in config.json.
typedef struct {
    const cJSON *obj;
    const char *path;
    const char *prefix;  // "" or "rope_scaling." for nested objects
    dy_error *err;
} reader;

static int read_int(const reader *r, const char *key, bool required, int fallback, int min, int *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return dy_fail(r->err, "%s: %s%s: missing", r->path, r->prefix, key);
        *out = fallback;
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
        return dy_fail(r->err, "%s: %s%s: expected an integer", r->path, r->prefix, key);
    if (v->valuedouble < min || v->valuedouble > INT_MAX)
        return dy_fail(r->err, "%s: %s%s: %.0f is out of range (at least %d)", r->path, r->prefix, key,
                       v->valuedouble, min);
    *out = (int)v->valuedouble;
    return 0;
}

// A field transformers renamed: the hub's files write key, the files transformers >= 5 saves write
// alias (its attribute_map). Either is read; both must agree when both are there.
static int read_int_renamed(const reader *r, const char *key, const char *alias, int min, int *out) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(r->obj, key), *a = cJSON_GetObjectItemCaseSensitive(r->obj, alias);
    const bool has_k = k && !cJSON_IsNull(k), has_a = a && !cJSON_IsNull(a);
    if (!has_k && !has_a) return dy_fail(r->err, "%s: %s%s (or %s): missing", r->path, r->prefix, key, alias);
    int from_alias = 0;
    if ((has_k && read_int(r, key, true, 0, min, out)) || (has_a && read_int(r, alias, true, 0, min, &from_alias)))
        return -1;
    if (!has_k) *out = from_alias;
    if (has_k && has_a && *out != from_alias)
        return dy_fail(r->err, "%s: %s%s is %d but %s is %d: they name the same field", r->path, r->prefix, key, *out,
                       alias, from_alias);
    return 0;
}

static int read_double(const reader *r, const char *key, bool required, double fallback, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return dy_fail(r->err, "%s: %s%s: missing", r->path, r->prefix, key);
        *out = fallback;
        return 0;
    }
    if (!cJSON_IsNumber(v)) return dy_fail(r->err, "%s: %s%s: expected a number", r->path, r->prefix, key);
    *out = v->valuedouble;
    return 0;
}

static int read_positive(const reader *r, const char *key, bool required, double fallback, double *out) {
    if (read_double(r, key, required, fallback, out)) return -1;
    if (!(*out > 0)) return dy_fail(r->err, "%s: %s%s: must be positive, got %g", r->path, r->prefix, key, *out);
    return 0;
}

static int read_bool(const reader *r, const char *key, bool fallback, bool *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (!v || cJSON_IsNull(v)) {
        *out = fallback;
        return 0;
    }
    if (!cJSON_IsBool(v)) return dy_fail(r->err, "%s: %s%s: expected true or false", r->path, r->prefix, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

// An optional string: NULL when absent or null; anything else but a string is an error.
static int read_string(const reader *r, const char *key, const char **out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    *out = cJSON_IsString(v) ? v->valuestring : NULL;
    if (v && !cJSON_IsNull(v) && !cJSON_IsString(v))
        return dy_fail(r->err, "%s: %s%s: expected a string", r->path, r->prefix, key);
    return 0;
}

// A feature these models never enable: accept its "off" value, reject anything else.
static int require_off(const reader *r, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (v && !cJSON_IsNull(v) && !cJSON_IsFalse(v))
        return dy_fail(r->err, "%s: %s: only false is supported", r->path, key);
    return 0;
}

// One token id of key: a whole number inside the vocabulary.
static int token_id(const reader *r, const char *key, const cJSON *v, int vocab, int *id) {
    char why[128];
    long value;
    if (!dy_json_token_id(v, vocab, "vocab_size", &value, why, sizeof why))
        return dy_fail(r->err, "%s: %s: %s", r->path, key, why);
    *id = (int)value;
    return 0;
}

// Token ids given as an int, a list of ints, or null.
static int read_token_ids(const reader *r, const char *key, int vocab, int *ids, int max, int *n) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    *n = 0;
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsArray(v)) {
        if (token_id(r, key, v, vocab, &ids[0])) return -1;
        *n = 1;
        return 0;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, v) {
        if (*n == max) return dy_fail(r->err, "%s: %s: more than %d ids", r->path, key, max);
        if (token_id(r, key, item, vocab, &ids[*n])) return -1;
        (*n)++;
    }
    return 0;
}

// One RoPE section (rope_parameters or rope_scaling) without its theta; *present is false when
// the section is absent or null.
static int parse_rope_section(const cJSON *root, const char *path, const char *section, int max_pos,
                              dy_rope_config *rope, bool *present, dy_error *err) {
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(root, section);
    memset(rope, 0, sizeof *rope);
    rope->type = DY_ROPE_DEFAULT;
    *present = params && !cJSON_IsNull(params);
    if (!*present) return 0;
    if (!cJSON_IsObject(params)) return dy_fail(err, "%s: %s: expected an object or null", path, section);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "%s.", section);
    const reader sub = {params, path, prefix, err};
    const char *type;
    if (read_string(&sub, "rope_type", &type) || (!type && read_string(&sub, "type", &type))) return -1;
    if (!type) return dy_fail(err, "%s: %srope_type: missing", path, prefix);
    if (strcmp(type, "default") == 0) {
        rope->type = DY_ROPE_DEFAULT;
    } else if (strcmp(type, "yarn") == 0) {
        rope->type = DY_ROPE_YARN;
        if (cJSON_GetObjectItemCaseSensitive(params, "mscale") ||
            cJSON_GetObjectItemCaseSensitive(params, "mscale_all_dim"))
            return dy_fail(err, "%s: %smscale: not supported (no Qwen3 or Llama checkpoint uses it)", path, prefix);
        if (read_positive(&sub, "factor", true, 0, &rope->factor) ||
            read_int(&sub, "original_max_position_embeddings", false, max_pos, 1, &rope->original_max_position) ||
            read_positive(&sub, "beta_fast", false, 32.0, &rope->beta_fast) ||
            read_positive(&sub, "beta_slow", false, 1.0, &rope->beta_slow) ||
            read_bool(&sub, "truncate", true, &rope->truncate))
            return -1;
        const cJSON *af = cJSON_GetObjectItemCaseSensitive(params, "attention_factor");
        rope->has_attention_factor = af && !cJSON_IsNull(af);
        if (rope->has_attention_factor && read_positive(&sub, "attention_factor", true, 0, &rope->attention_factor))
            return -1;
    } else if (strcmp(type, "llama3") == 0) {
        rope->type = DY_ROPE_LLAMA3;
        if (read_positive(&sub, "factor", true, 0, &rope->factor) ||
            read_positive(&sub, "low_freq_factor", true, 0, &rope->low_freq_factor) ||
            read_positive(&sub, "high_freq_factor", true, 0, &rope->high_freq_factor) ||
            read_int(&sub, "original_max_position_embeddings", true, 0, 1, &rope->original_max_position))
            return -1;
        if (rope->high_freq_factor <= rope->low_freq_factor)
            return dy_fail(err, "%s: %shigh_freq_factor: must exceed low_freq_factor", path, prefix);
    } else {
        return dy_fail(err, "%s: %srope_type: \"%s\" is not supported (default, yarn, llama3)", path, prefix, type);
    }
    return 0;
}

// Whether two sections describe the same rotation (theta aside: parse_rope_theta checks it).
static bool rope_same(const dy_rope_config *a, const dy_rope_config *b) {
    return a->type == b->type && a->factor == b->factor && a->original_max_position == b->original_max_position &&
           a->beta_fast == b->beta_fast && a->beta_slow == b->beta_slow &&
           a->has_attention_factor == b->has_attention_factor && a->attention_factor == b->attention_factor &&
           a->truncate == b->truncate && a->low_freq_factor == b->low_freq_factor &&
           a->high_freq_factor == b->high_freq_factor;
}

// rope_theta may sit at the top level (hub files) or inside either section (transformers >= 5
// moves it into rope_parameters); every place that has it must give the same value.
static int parse_rope_theta(const cJSON *root, const char *path, double *theta, dy_error *err) {
    static const char *const prefixes[] = {"", "rope_parameters.", "rope_scaling."};
    static const char *const sections[] = {NULL, "rope_parameters", "rope_scaling"};
    int found = -1;
    *theta = 10000.0;  // transformers' default when no place names it
    for (int i = 0; i < 3; i++) {
        const cJSON *obj = sections[i] ? cJSON_GetObjectItemCaseSensitive(root, sections[i]) : root;
        const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, "rope_theta") : NULL;
        if (!v || cJSON_IsNull(v)) continue;
        const reader r = {obj, path, prefixes[i], err};
        double value;
        if (read_positive(&r, "rope_theta", true, 0, &value)) return -1;
        if (found >= 0 && value != *theta)
            return dy_fail(err, "%s: %srope_theta is %.10g but %srope_theta is %.10g: they name the same field", path,
                           prefixes[found], *theta, prefixes[i], value);
        if (found < 0) found = i;
        *theta = value;
    }
    return 0;
}

// RoPE settings: hub checkpoints write rope_theta + rope_scaling (null or an object with
// rope_type, or the legacy key type); transformers >= 5 writes rope_parameters holding
// rope_theta. Either spelling is read; a file with both must say the same in each.
static int parse_rope(const cJSON *root, const char *path, int max_pos, dy_rope_config *rope, dy_error *err) {
    dy_rope_config params, scaling;
    bool has_params, has_scaling;
    if (parse_rope_section(root, path, "rope_parameters", max_pos, &params, &has_params, err) ||
        parse_rope_section(root, path, "rope_scaling", max_pos, &scaling, &has_scaling, err))
        return -1;
    if (has_params && has_scaling && !rope_same(&params, &scaling))
        return dy_fail(err, "%s: rope_parameters (%s) and rope_scaling (%s) differ: they name the same field", path,
                       dy_rope_type_name(params.type), dy_rope_type_name(scaling.type));
    *rope = has_params || !has_scaling ? params : scaling;
    return parse_rope_theta(root, path, &rope->theta, err);
}

static int parse_moe(const reader *r, dy_model_config *c) {
    if (read_int_renamed(r, "num_experts", "num_local_experts", 1, &c->n_experts) ||
        read_int(r, "num_experts_per_tok", true, 0, 1, &c->n_experts_per_tok) ||
        read_int(r, "moe_intermediate_size", true, 0, 1, &c->moe_intermediate_size) ||
        read_bool(r, "norm_topk_prob", false, &c->norm_topk_prob) ||
        read_int(r, "decoder_sparse_step", false, 1, 1, &c->decoder_sparse_step))
        return -1;
    if (c->n_experts_per_tok > c->n_experts)
        return dy_fail(r->err, "%s: num_experts_per_tok: %d exceeds num_experts %d", r->path, c->n_experts_per_tok,
                       c->n_experts);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(r->obj, "mlp_only_layers");
    if (!list || cJSON_IsNull(list)) return 0;
    if (!cJSON_IsArray(list)) return dy_fail(r->err, "%s: mlp_only_layers: expected a list of layer indices", r->path);
    const cJSON *item;
    cJSON_ArrayForEach(item, list) {
        double l = cJSON_IsNumber(item) ? item->valuedouble : -1;
        if (l < 0 || l >= c->n_layers || l != floor(l))
            return dy_fail(r->err, "%s: mlp_only_layers: entry is not a layer index in [0, %d)", r->path, c->n_layers);
        c->mlp_only[(int)l] = true;
    }
    return 0;
}

// The weights' dtype: hub files write torch_dtype, transformers >= 5 writes dtype; absent, the
// checkpoint is float32 (what transformers loads then).
static int read_dtype(const reader *r, dy_dtype *out) {
    const char *dtype, *legacy;
    if (read_string(r, "dtype", &dtype) || read_string(r, "torch_dtype", &legacy)) return -1;
    if (dtype && legacy && strcmp(dtype, legacy) != 0)
        return dy_fail(r->err, "%s: dtype is \"%s\" but torch_dtype is \"%s\": they name the same field", r->path, dtype,
                       legacy);
    const char *key = dtype ? "dtype" : "torch_dtype", *name = dtype ? dtype : legacy;
    const int t = name ? dy_dtype_from_torch(name) : DY_F32;
    if (t < 0)
        return dy_fail(r->err, "%s: %s: \"%s\" is not supported (bfloat16, float16, float32)", r->path, key, name);
    *out = (dy_dtype)t;
    return 0;
}

static int parse_root(const cJSON *root, const char *path, dy_model_config *c, dy_error *err) {
    const reader r = {root, path, "", err};
    const char *type;
    if (read_string(&r, "model_type", &type)) return -1;
    if (!type) return dy_fail(err, "%s: model_type: missing", path);
    if (strcmp(type, "qwen3") == 0) c->arch = DY_ARCH_QWEN3;
    else if (strcmp(type, "qwen3_moe") == 0) c->arch = DY_ARCH_QWEN3_MOE;
    else if (strcmp(type, "llama") == 0) c->arch = DY_ARCH_LLAMA;
    else return dy_fail(err, "%s: model_type: \"%s\" is not supported (qwen3, qwen3_moe, llama)", path, type);

    if (read_int(&r, "vocab_size", true, 0, 1, &c->vocab_size) ||
        read_int(&r, "hidden_size", true, 0, 1, &c->hidden_size) ||
        read_int(&r, "num_hidden_layers", true, 0, 1, &c->n_layers) ||
        read_int(&r, "num_attention_heads", true, 0, 1, &c->n_heads) ||
        read_int(&r, "num_key_value_heads", false, c->n_heads, 1, &c->n_kv_heads) ||
        read_int(&r, "intermediate_size", true, 0, 1, &c->intermediate_size) ||
        read_positive(&r, "rms_norm_eps", true, 0, &c->rms_norm_eps) ||
        read_int(&r, "max_position_embeddings", true, 0, 1, &c->max_position_embeddings) ||
        read_bool(&r, "tie_word_embeddings", false, &c->tie_word_embeddings))
        return -1;
    if (c->n_layers > DY_MAX_LAYERS)
        return dy_fail(err, "%s: num_hidden_layers: %d exceeds the supported %d", path, c->n_layers, DY_MAX_LAYERS);
    if (c->n_heads % c->n_kv_heads != 0)
        return dy_fail(err, "%s: num_key_value_heads: %d does not divide num_attention_heads %d", path,
                       c->n_kv_heads, c->n_heads);
    if (c->hidden_size % c->n_heads != 0 && !cJSON_GetObjectItemCaseSensitive(root, "head_dim"))
        return dy_fail(err, "%s: head_dim: missing, and hidden_size %d is not a multiple of num_attention_heads %d",
                       path, c->hidden_size, c->n_heads);
    if (read_int(&r, "head_dim", false, c->hidden_size / c->n_heads, 2, &c->head_dim)) return -1;
    if (c->head_dim % 2 != 0) return dy_fail(err, "%s: head_dim: %d is odd (RoPE needs pairs)", path, c->head_dim);

    const char *act;
    if (read_string(&r, "hidden_act", &act)) return -1;
    if (act && strcmp(act, "silu") != 0)
        return dy_fail(err, "%s: hidden_act: \"%s\" is not supported (silu)", path, act);
    if (require_off(&r, "attention_bias") || require_off(&r, "mlp_bias") || require_off(&r, "use_sliding_window"))
        return -1;
    if (c->arch == DY_ARCH_QWEN3_MOE && parse_moe(&r, c)) return -1;
    if (parse_rope(root, path, c->max_position_embeddings, &c->rope, err)) return -1;

    int n_bos = 0;
    if (read_token_ids(&r, "bos_token_id", c->vocab_size, &c->bos_id, 1, &n_bos) ||
        read_token_ids(&r, "eos_token_id", c->vocab_size, c->eos_ids, DY_MAX_EOS, &c->n_eos))
        return -1;
    if (n_bos == 0) c->bos_id = -1;

    return read_dtype(&r, &c->dtype);
}

int dy_model_config_parse(const char *json, size_t len, const char *path, dy_model_config *cfg, dy_error *err) {
    memset(cfg, 0, sizeof *cfg);
    char problem[160];
    cJSON *root = dy_json_parse(json, len, problem, sizeof problem);
    if (!root) return dy_fail(err, "%s: %s", path, problem);
    int rc = cJSON_IsObject(root) ? parse_root(root, path, cfg, err) : dy_fail(err, "%s: expected a JSON object", path);
    cJSON_Delete(root);
    return rc;
}

int dy_model_config_load(const char *path, dy_model_config *cfg, dy_error *err) {
    size_t len;
    char *json = dy_read_file(path, &len, err);
    if (!json) return -1;
    int rc = dy_model_config_parse(json, len, path, cfg, err);
    free(json);
    return rc;
}

bool dy_layer_is_moe(const dy_model_config *cfg, int layer) {
    return cfg->arch == DY_ARCH_QWEN3_MOE && !cfg->mlp_only[layer] && (layer + 1) % cfg->decoder_sparse_step == 0;
}

int dy_model_sparse_layers(const dy_model_config *cfg) {
    int n = 0;
    for (int l = 0; l < cfg->n_layers; l++) n += dy_layer_is_moe(cfg, l);
    return n;
}

const char *dy_arch_name(dy_arch a) {
    static const char *names[] = {[DY_ARCH_QWEN3] = "qwen3", [DY_ARCH_QWEN3_MOE] = "qwen3_moe", [DY_ARCH_LLAMA] = "llama"};
    return names[a];
}

const char *dy_rope_type_name(dy_rope_type t) {
    static const char *names[] = {[DY_ROPE_DEFAULT] = "default", [DY_ROPE_YARN] = "yarn", [DY_ROPE_LLAMA3] = "llama3"};
    return names[t];
}

// dysco make-model: a checkpoint of a preset's shape (with overrides) and deterministic random
// weights, loadable unchanged by Hugging Face transformers. Test fixtures and benchmark models.
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "runtime/checkpoint/checkpoint_writer.h"
#include "runtime/checkpoint/presets.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

static const char USAGE[] =
    "usage: dysco make-model OUT_DIR --preset NAME [overrides] [options]\n"
    "\n"
    "Writes OUT_DIR/config.json and safetensors with deterministic random weights: element i of a\n"
    "tensor depends only on (--seed, tensor name, i). Linear, embedding and router weights are\n"
    "uniform with standard deviation --init-std; RMSNorm weights are 1 + uniform(-j, j), j =\n"
    "--norm-jitter. Above --shard-size the weights are sharded with model.safetensors.index.json.\n";

static void print_presets(FILE *out) {
    fputs("presets:", out);
    for (int i = 0; i < dy_n_presets; i++) fprintf(out, " %s", dy_presets[i].name);
    fputs("\n", out);
}

// Integer overrides map one option to one config.json field.
static const struct {
    const char *option, *field;
    bool moe_only;
} INT_OVERRIDES[] = {
    {"--layers", "num_hidden_layers", false},
    {"--hidden", "hidden_size", false},
    {"--heads", "num_attention_heads", false},
    {"--kv-heads", "num_key_value_heads", false},
    {"--head-dim", "head_dim", false},
    {"--vocab", "vocab_size", false},
    {"--intermediate", "intermediate_size", false},
    {"--experts", "num_experts", true},
    {"--experts-per-tok", "num_experts_per_tok", true},
    {"--moe-intermediate", "moe_intermediate_size", true},
    {"--max-pos", "max_position_embeddings", false},
};
enum { N_INT_OVERRIDES = sizeof INT_OVERRIDES / sizeof INT_OVERRIDES[0] };

typedef struct {
    const char *out_dir, *preset, *tokenizer, *rope_scaling, *dtype;
    int64_t seed, shard_size, int_values[N_INT_OVERRIDES];
    bool int_given[N_INT_OVERRIDES], theta_given, tie, tie_given, force, config_only;
    double init_std, qk_std, norm_jitter, theta;
} options;

// The integer overrides' rows: those of every preset, then those of mixture-of-experts presets.
static int append_int_overrides(options *o, dy_option *table, int n) {
    for (int moe = 0; moe < 2; moe++) {
        if (moe) table[n++] = (dy_option){.help = "overrides of qwen3_moe presets:"};
        for (int k = 0; k < N_INT_OVERRIDES; k++)
            if (INT_OVERRIDES[k].moe_only == moe)
                table[n++] = (dy_option){INT_OVERRIDES[k].option, "N", INT_OVERRIDES[k].field,
                                         .integer = &o->int_values[k], .min = 1, .max = INT32_MAX,
                                         .given = &o->int_given[k]};
    }
    return n;
}

static bool parse_options(int argc, char **argv, options *o, int *exit_status) {
    *o = (options){.dtype = "bf16", .shard_size = 4000000000LL, .init_std = 0.02, .norm_jitter = 0.1};
    static const char *const dtypes[] = {"bf16", "fp32", NULL};
    const dy_option rows[] = {
        {"--preset", "NAME", "the shape to start from (presets below)", .string = &o->preset},
        {.help = "options:"},
        {"--seed", "N", "random seed", .integer = &o->seed, .min = 0, .max = INT64_MAX},
        {"--dtype", NULL, "stored dtype", .string = &o->dtype, .choices = dtypes},
        {"--init-std", "X", "standard deviation of linear weights", .number = &o->init_std},
        {"--qk-std", "X", "standard deviation of q_proj and k_proj; larger values make attention\n"
                          "peaked, as test fixtures want", .number = &o->qk_std, .default_text = "--init-std"},
        {"--norm-jitter", "X", "RMSNorm weights in 1 +- X", .number = &o->norm_jitter},
        {"--shard-size", "BYTES", "largest safetensors file", .integer = &o->shard_size, .min = 1, .max = INT64_MAX},
        {"--tokenizer", "DIR", "copy tokenizer.json, tokenizer_config.json (and the optional\n"
                               "special_tokens_map.json, generation_config.json) from DIR", .string = &o->tokenizer},
        {"--config-only", NULL, "write config.json alone (shapes for inspect, or random weights made\n"
                                "on the device at load time)", .flag = &o->config_only},
        {"--force", NULL, "overwrite a checkpoint already in OUT_DIR", .flag = &o->force},
        {.help = "overrides (config.json fields; the preset's value unless given):"},
        {"--rope-theta", "X", "rope_theta", .number = &o->theta, .lower = 1.0, .given = &o->theta_given},
        {"--rope-scaling", "JSON|null", "rope_scaling", .string = &o->rope_scaling},
        {"--tie", NULL, "tie_word_embeddings: true", .flag = &o->tie, .given = &o->tie_given},
        {"--no-tie", NULL, "tie_word_embeddings: false", .flag = &o->tie, .clears = true, .given = &o->tie_given},
    };
    dy_option table[DY_COUNT_OF(rows) + N_INT_OVERRIDES + 1];  // + the qwen3_moe heading
    memcpy(table, rows, sizeof rows);
    const dy_args_spec spec = {.verb = "make-model", .usage = USAGE, .options = table,
                               .n_options = append_int_overrides(o, table, DY_COUNT_OF(rows)),
                               .positional = &o->out_dir, .print_notes = print_presets};
    return dy_args_parse_verb(&spec, argc, argv, exit_status);
}

static void set_field(cJSON *cfg, const char *field, cJSON *value) {
    if (cJSON_GetObjectItemCaseSensitive(cfg, field)) cJSON_ReplaceItemInObjectCaseSensitive(cfg, field, value);
    else cJSON_AddItemToObject(cfg, field, value);
}

static const char *const TOKENIZER_FILES[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                              "generation_config.json"};

static int copy_tokenizer(const char *from, const char *to, dy_error *err) {
    for (size_t i = 0; i < sizeof TOKENIZER_FILES / sizeof *TOKENIZER_FILES; i++) {
        char src[PATH_MAX], dst[PATH_MAX];
        if (dy_path_join(src, sizeof src, from, TOKENIZER_FILES[i], err) ||
            dy_path_join(dst, sizeof dst, to, TOKENIZER_FILES[i], err))
            return -1;
        if (!dy_file_exists(src)) {
            if (i < 2) return dy_fail(err, "--tokenizer: %s: missing", src);
            continue;
        }
        size_t len;
        char *data = dy_read_file(src, &len, err);
        int rc = data ? dy_write_file(dst, data, len, err) : -1;
        free(data);
        if (rc) return -1;
    }
    return 0;
}

static int prepare_out_dir(const char *dir, bool force, dy_error *err) {
    if (dy_make_dirs(dir, err)) return -1;
    static const char *const existing[] = {"config.json", "model.safetensors", "model.safetensors.index.json"};
    for (size_t i = 0; i < sizeof existing / sizeof *existing && !force; i++) {
        char p[PATH_MAX];
        if (dy_path_join(p, sizeof p, dir, existing[i], err)) return -1;
        if (dy_file_exists(p)) return dy_fail(err, "%s: already holds %s (use --force to overwrite)", dir, existing[i]);
    }
    return 0;
}

static void print_progress(uint64_t done, uint64_t total, void *ctx) {
    if (total < 1000000000ull) return;  // small fixtures finish before progress would help
    int *last_pct = ctx, pct = (int)(100.0 * (double)done / (double)total);
    if (pct / 5 > *last_pct / 5 || done == total) {
        fprintf(stderr, "make-model: %.2f / %.2f GB written (%d%%)\n", done / 1e9, total / 1e9, pct);
        *last_pct = pct;
    }
}

// The overrides given, into the preset's config.json; a failure is a usage error.
static int apply_overrides(const options *o, cJSON *cfg_json, dy_error *err) {
    const bool is_moe = cJSON_GetObjectItemCaseSensitive(cfg_json, "num_experts") != NULL;
    for (int k = 0; k < N_INT_OVERRIDES; k++) {
        if (!o->int_given[k]) continue;
        if (INT_OVERRIDES[k].moe_only && !is_moe)
            return dy_fail(err, "%s: preset %s is not a mixture-of-experts model", INT_OVERRIDES[k].option, o->preset);
        set_field(cfg_json, INT_OVERRIDES[k].field, cJSON_CreateNumber((double)o->int_values[k]));
        if (strcmp(INT_OVERRIDES[k].field, "num_hidden_layers") == 0 &&
            cJSON_GetObjectItem(cfg_json, "max_window_layers"))
            set_field(cfg_json, "max_window_layers", cJSON_CreateNumber((double)o->int_values[k]));
    }
    dy_preset_fit_token_ids(cfg_json);
    if (o->theta_given) set_field(cfg_json, "rope_theta", cJSON_CreateNumber(o->theta));
    if (o->tie_given) set_field(cfg_json, "tie_word_embeddings", cJSON_CreateBool(o->tie));
    if (o->rope_scaling) {
        // The one JSON rule of every reader (json_util.h): a duplicate key or trailing bytes are
        // errors here too, not silently dropped.
        char problem[160];
        cJSON *rs = dy_json_parse(o->rope_scaling, strlen(o->rope_scaling), problem, sizeof problem);
        if (!rs) return dy_fail(err, "--rope-scaling: %s", problem);
        if (!(cJSON_IsObject(rs) || cJSON_IsNull(rs))) {
            cJSON_Delete(rs);
            return dy_fail(err, "--rope-scaling: expected a JSON object or null, got '%s'", o->rope_scaling);
        }
        set_field(cfg_json, "rope_scaling", rs);
    }
    return 0;
}

static int write_model(const options *o, cJSON *cfg_json, dy_writer_options *opts, dy_error *err) {
    set_field(cfg_json, "torch_dtype", cJSON_CreateString(opts->dtype == DY_BF16 ? "bfloat16" : "float32"));
    char cfg_path[PATH_MAX], *text = cJSON_Print(cfg_json);
    dy_model_config cfg;
    int last_pct = -5;
    opts->progress = print_progress;
    opts->progress_ctx = &last_pct;
    int rc = dy_path_join(cfg_path, sizeof cfg_path, o->out_dir, "config.json", err) ||
             dy_model_config_parse(text, strlen(text), cfg_path, &cfg, err) || prepare_out_dir(o->out_dir, o->force, err) ||
             dy_write_file(cfg_path, text, strlen(text), err) ||
             (!o->config_only && dy_write_random_weights(o->out_dir, &cfg, opts, err)) ||
             (o->tokenizer && copy_tokenizer(o->tokenizer, o->out_dir, err));
    free(text);
    return rc ? -1 : 0;
}

int dy_cli_make_model(int argc, char **argv) {
    options o;
    int status;
    if (!parse_options(argc, argv, &o, &status)) return status;
    dy_error err;
    if (!o.out_dir || !o.preset) {
        dy_fail(&err, "make-model: needs OUT_DIR and --preset NAME (see dysco make-model --help)");
        return dy_report(DY_EXIT_USAGE, &err);
    }
    const dy_preset *preset = dy_preset_find(o.preset);
    if (!preset) {
        dy_fail(&err, "--preset: unknown preset '%s' (see dysco make-model --help)", o.preset);
        return dy_report(DY_EXIT_USAGE, &err);
    }
    dy_writer_options opts = {
        .init = {.seed = (uint64_t)o.seed, .std = o.init_std, .qk_std = o.qk_std, .norm_jitter = o.norm_jitter},
        .shard_bytes = (uint64_t)o.shard_size, .dtype = strcmp(o.dtype, "bf16") == 0 ? DY_BF16 : DY_F32};

    // Overrides edit the preset's JSON; the result is then validated by the same parser that
    // reads every checkpoint, so make-model cannot write a config.json that dysco would reject.
    cJSON *cfg_json = cJSON_Parse(preset->config_json);
    if (apply_overrides(&o, cfg_json, &err)) status = DY_EXIT_USAGE;
    else status = write_model(&o, cfg_json, &opts, &err) ? DY_EXIT_FAIL : DY_EXIT_OK;
    cJSON_Delete(cfg_json);
    return status == DY_EXIT_OK ? status : dy_report(status, &err);
}

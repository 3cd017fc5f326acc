// dysco make-model: a checkpoint of a preset's shape (with overrides) and deterministic random
// weights, loadable unchanged by Hugging Face transformers. Test fixtures and benchmark models.
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runtime/checkpoint/checkpoint_writer.h"
#include "runtime/checkpoint/presets.h"
#include "runtime/util/file_util.h"

static const char USAGE_HEAD[] =
    "usage: dysco make-model OUT_DIR --preset NAME [overrides] [options]\n"
    "\n"
    "Writes OUT_DIR/config.json and safetensors with deterministic random weights: element i of a\n"
    "tensor depends only on (--seed, tensor name, i). Linear, embedding and router weights are\n"
    "uniform with standard deviation --init-std; RMSNorm weights are 1 + uniform(-j, j), j =\n"
    "--norm-jitter. Above --shard-size the weights are sharded with model.safetensors.index.json.\n"
    "\n"
    "presets:";
static const char USAGE_TAIL[] =
    "\n"
    "overrides (config.json fields):\n"
    "  --layers N  --hidden N  --heads N  --kv-heads N  --head-dim N  --vocab N  --intermediate N\n"
    "  --experts N  --experts-per-tok N  --moe-intermediate N   (qwen3_moe presets only)\n"
    "  --max-pos N  --rope-theta X  --rope-scaling JSON|null  --tie | --no-tie\n"
    "options:\n"
    "  --seed N           random seed (default 0)\n"
    "  --dtype bf16|fp32  stored dtype (default bf16)\n"
    "  --init-std X       standard deviation of linear weights (default 0.02)\n"
    "  --qk-std X         standard deviation of q_proj and k_proj (default: --init-std); larger\n"
    "                     values make attention peaked, as test fixtures want\n"
    "  --norm-jitter X    RMSNorm weights in 1 +- X (default 0.1)\n"
    "  --shard-size BYTES largest safetensors file (default 4000000000)\n"
    "  --tokenizer DIR    copy tokenizer.json, tokenizer_config.json (and the optional\n"
    "                     special_tokens_map.json, generation_config.json) from DIR\n"
    "  --config-only      write config.json alone (shapes for inspect, or random weights made\n"
    "                     on the device at load time)\n"
    "  --force            overwrite a checkpoint already in OUT_DIR\n";

static void usage(void) {
    fputs(USAGE_HEAD, stdout);
    for (int i = 0; i < dy_n_presets; i++) printf(" %s", dy_presets[i].name);
    fputs("\n", stdout);
    fputs(USAGE_TAIL, stdout);
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

int dy_cli_make_model(int argc, char **argv) {
    const char *out_dir = NULL, *preset_name = NULL, *tokenizer = NULL, *rope_scaling = NULL, *dtype = "bf16";
    int64_t seed = 0, shard_size = 4000000000LL, tie = -1;
    int64_t int_values[N_INT_OVERRIDES];
    bool int_given[N_INT_OVERRIDES] = {false}, force = false, theta_given = false, config_only = false;
    double init_std = 0.02, qk_std = 0, norm_jitter = 0.1, theta = 0;
    dy_error err;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0, k = 0;
        while (k < N_INT_OVERRIDES && strcmp(a, INT_OVERRIDES[k].option) != 0) k++;
        if (k < N_INT_OVERRIDES) {
            rc = dy_arg_int(argc, argv, &i, 1, INT32_MAX, &int_values[k], &err);
            int_given[k] = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return DY_EXIT_OK;
        } else if (strcmp(a, "--preset") == 0) rc = dy_arg_string(argc, argv, &i, &preset_name, &err);
        else if (strcmp(a, "--tokenizer") == 0) rc = dy_arg_string(argc, argv, &i, &tokenizer, &err);
        else if (strcmp(a, "--rope-scaling") == 0) rc = dy_arg_string(argc, argv, &i, &rope_scaling, &err);
        else if (strcmp(a, "--dtype") == 0) rc = dy_arg_string(argc, argv, &i, &dtype, &err);
        else if (strcmp(a, "--rope-theta") == 0) rc = dy_arg_double(argc, argv, &i, 1.0, &theta, &err), theta_given = true;
        else if (strcmp(a, "--seed") == 0) rc = dy_arg_int(argc, argv, &i, 0, INT64_MAX, &seed, &err);
        else if (strcmp(a, "--shard-size") == 0) rc = dy_arg_int(argc, argv, &i, 1, INT64_MAX, &shard_size, &err);
        else if (strcmp(a, "--init-std") == 0) rc = dy_arg_double(argc, argv, &i, 0.0, &init_std, &err);
        else if (strcmp(a, "--qk-std") == 0) rc = dy_arg_double(argc, argv, &i, 0.0, &qk_std, &err);
        else if (strcmp(a, "--norm-jitter") == 0) rc = dy_arg_double(argc, argv, &i, 0.0, &norm_jitter, &err);
        else if (strcmp(a, "--tie") == 0) tie = 1;
        else if (strcmp(a, "--no-tie") == 0) tie = 0;
        else if (strcmp(a, "--force") == 0) force = true;
        else if (strcmp(a, "--config-only") == 0) config_only = true;
        else if (a[0] == '-' || out_dir) rc = dy_fail(&err, "make-model: unexpected argument '%s' (see dysco make-model --help)", a);
        else out_dir = a;
        if (rc) return dy_report(DY_EXIT_USAGE, &err);
    }
    if (!out_dir || !preset_name) {
        dy_fail(&err, "make-model: needs OUT_DIR and --preset NAME (see dysco make-model --help)");
        return dy_report(DY_EXIT_USAGE, &err);
    }
    const dy_preset *preset = dy_preset_find(preset_name);
    if (!preset) {
        dy_fail(&err, "--preset: unknown preset '%s' (see dysco make-model --help)", preset_name);
        return dy_report(DY_EXIT_USAGE, &err);
    }
    dy_writer_options opts = {.init = {.seed = (uint64_t)seed, .std = init_std, .qk_std = qk_std, .norm_jitter = norm_jitter},
                              .shard_bytes = (uint64_t)shard_size};
    if (strcmp(dtype, "bf16") == 0) opts.dtype = DY_BF16;
    else if (strcmp(dtype, "fp32") == 0) opts.dtype = DY_F32;
    else {
        dy_fail(&err, "--dtype: expected bf16 or fp32, got '%s'", dtype);
        return dy_report(DY_EXIT_USAGE, &err);
    }

    // Overrides edit the preset's JSON; the result is then validated by the same parser that
    // reads every checkpoint, so make-model cannot write a config.json that dysco would reject.
    cJSON *cfg_json = cJSON_Parse(preset->config_json);
    const bool is_moe = cJSON_GetObjectItemCaseSensitive(cfg_json, "num_experts") != NULL;
    int status = DY_EXIT_FAIL;
    char *text = NULL;
    for (int k = 0; k < N_INT_OVERRIDES; k++) {
        if (!int_given[k]) continue;
        if (INT_OVERRIDES[k].moe_only && !is_moe) {
            dy_fail(&err, "%s: preset %s is not a mixture-of-experts model", INT_OVERRIDES[k].option, preset_name);
            status = DY_EXIT_USAGE;
            goto done;
        }
        set_field(cfg_json, INT_OVERRIDES[k].field, cJSON_CreateNumber((double)int_values[k]));
        if (strcmp(INT_OVERRIDES[k].field, "num_hidden_layers") == 0 && cJSON_GetObjectItem(cfg_json, "max_window_layers"))
            set_field(cfg_json, "max_window_layers", cJSON_CreateNumber((double)int_values[k]));
    }
    if (theta_given) set_field(cfg_json, "rope_theta", cJSON_CreateNumber(theta));
    if (tie >= 0) set_field(cfg_json, "tie_word_embeddings", cJSON_CreateBool(tie == 1));
    if (rope_scaling) {
        cJSON *rs = cJSON_Parse(rope_scaling);
        if (!rs || !(cJSON_IsObject(rs) || cJSON_IsNull(rs))) {
            cJSON_Delete(rs);
            dy_fail(&err, "--rope-scaling: expected a JSON object or null, got '%s'", rope_scaling);
            status = DY_EXIT_USAGE;
            goto done;
        }
        set_field(cfg_json, "rope_scaling", rs);
    }
    set_field(cfg_json, "torch_dtype", cJSON_CreateString(opts.dtype == DY_BF16 ? "bfloat16" : "float32"));

    char cfg_path[PATH_MAX];
    dy_model_config cfg;
    text = cJSON_Print(cfg_json);
    if (dy_path_join(cfg_path, sizeof cfg_path, out_dir, "config.json", &err) ||
        dy_model_config_parse(text, cfg_path, &cfg, &err) || prepare_out_dir(out_dir, force, &err) ||
        dy_write_file(cfg_path, text, strlen(text), &err))
        goto done;
    int last_pct = -5;
    opts.progress = print_progress;
    opts.progress_ctx = &last_pct;
    if ((!config_only && dy_write_random_weights(out_dir, &cfg, &opts, &err)) ||
        (tokenizer && copy_tokenizer(tokenizer, out_dir, &err)))
        goto done;
    status = DY_EXIT_OK;
done:
    free(text);
    cJSON_Delete(cfg_json);
    return status == DY_EXIT_OK ? status : dy_report(status, &err);
}

// dysco inspect: validate a checkpoint (or describe a preset) and plan its memory per GPU.
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/model_tensors.h"
#include "runtime/checkpoint/presets.h"
#include "runtime/model/memory_plan.h"
#ifdef DYSCO_HAVE_CUDA
#include "kernels/device_info.h"
#endif

static const char USAGE[] =
    "usage: dysco inspect (MODEL_DIR | --preset NAME) [--ctx N] [--prefill-chunk N] [--tp N] [--json]\n"
    "\n"
    "Validates config.json and every safetensors header of MODEL_DIR (offsets, shapes, dtypes,\n"
    "all tensors the architecture needs), then prints the architecture, the parameter count,\n"
    "the checkpoint size and the memory plan of one GPU: bf16 weights of its tensor-parallel\n"
    "shard, the bf16 KV cache for --ctx tokens and the workspace of a prefill chunk (activation\n"
    "buffers and the CUDA backend's op scratch); the model checks the same plan before it loads.\n"
    "Then the bytes a decoded token reads at --ctx (every weight but an untied embedding table,\n"
    "and the KV cache; for MoE with the routed experts only, beside every expert's).\n"
    "Reads no tensor data.\n";

static const double GIB = 1024.0 * 1024.0 * 1024.0;

static void with_commas(char *out, size_t n, int64_t v) {
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%lld", (long long)v), w = 0;
    for (int i = 0; i < len && (size_t)w + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0 && digits[i - 1] != '-') out[w++] = ',';
        out[w++] = digits[i];
    }
    out[w] = '\0';
}

static cJSON *describe_config(const dy_model_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model_type", dy_arch_name(c->arch));
    cJSON_AddNumberToObject(o, "layers", c->n_layers);
    cJSON_AddNumberToObject(o, "hidden_size", c->hidden_size);
    cJSON_AddNumberToObject(o, "intermediate_size", c->intermediate_size);
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "heads", c->n_heads);
    cJSON_AddNumberToObject(o, "kv_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(o, "head_dim", c->head_dim);
    cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tie_word_embeddings);
    cJSON_AddNumberToObject(o, "max_position_embeddings", c->max_position_embeddings);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->rms_norm_eps);
    cJSON *rope = cJSON_AddObjectToObject(o, "rope");
    cJSON_AddStringToObject(rope, "type", dy_rope_type_name(c->rope.type));
    cJSON_AddNumberToObject(rope, "theta", c->rope.theta);
    if (c->rope.type != DY_ROPE_DEFAULT) {
        cJSON_AddNumberToObject(rope, "factor", c->rope.factor);
        cJSON_AddNumberToObject(rope, "original_max_position_embeddings", c->rope.original_max_position);
    }
    if (c->rope.type == DY_ROPE_YARN) {
        cJSON_AddNumberToObject(rope, "beta_fast", c->rope.beta_fast);
        cJSON_AddNumberToObject(rope, "beta_slow", c->rope.beta_slow);
        if (c->rope.has_attention_factor) cJSON_AddNumberToObject(rope, "attention_factor", c->rope.attention_factor);
    }
    if (c->rope.type == DY_ROPE_LLAMA3) {
        cJSON_AddNumberToObject(rope, "low_freq_factor", c->rope.low_freq_factor);
        cJSON_AddNumberToObject(rope, "high_freq_factor", c->rope.high_freq_factor);
    }
    if (c->arch == DY_ARCH_QWEN3_MOE) {
        cJSON *moe = cJSON_AddObjectToObject(o, "moe");
        cJSON_AddNumberToObject(moe, "experts", c->n_experts);
        cJSON_AddNumberToObject(moe, "experts_per_token", c->n_experts_per_tok);
        cJSON_AddNumberToObject(moe, "moe_intermediate_size", c->moe_intermediate_size);
        cJSON_AddBoolToObject(moe, "norm_topk_prob", c->norm_topk_prob);
        cJSON_AddNumberToObject(moe, "sparse_layers", dy_model_sparse_layers(c));
    }
    cJSON_AddNumberToObject(o, "bos_token_id", c->bos_id);
    cJSON *eos = cJSON_AddArrayToObject(o, "eos_token_ids");
    for (int i = 0; i < c->n_eos; i++) cJSON_AddItemToArray(eos, cJSON_CreateNumber(c->eos_ids[i]));
    cJSON_AddStringToObject(o, "dtype", dy_dtype_torch_name(c->dtype));
    return o;
}

static cJSON *describe_checkpoint(const dy_checkpoint *ck) {
    cJSON *o = cJSON_CreateObject();
    uint64_t bytes = 0;
    int per_dtype[3] = {0};
    for (int i = 0; i < ck->tensors.n; i++) {
        bytes += ck->tensors.items[i].nbytes;
        per_dtype[ck->tensors.items[i].dtype]++;
    }
    cJSON_AddNumberToObject(o, "files", ck->n_files);
    cJSON_AddNumberToObject(o, "tensors", ck->tensors.n);
    cJSON_AddNumberToObject(o, "tensor_bytes", (double)bytes);
    cJSON *dt = cJSON_AddObjectToObject(o, "tensors_by_dtype");
    for (int t = 0; t < 3; t++)
        if (per_dtype[t]) cJSON_AddNumberToObject(dt, dy_dtype_safetensors_name((dy_dtype)t), per_dtype[t]);
    return o;
}

static cJSON *describe_devices(uint64_t need) {
    cJSON *arr = cJSON_CreateArray();
#ifdef DYSCO_HAVE_CUDA
    for (int d = 0, n = dy_cuda_device_count(); d < n; d++) {
        dy_device_info info;
        dy_error err;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "index", d);
        if (dy_cuda_device_info(d, &info, &err)) {
            cJSON_AddStringToObject(o, "error", err.msg);
        } else {
            cJSON_AddStringToObject(o, "name", info.name);
            cJSON_AddNumberToObject(o, "free_bytes", (double)info.free_bytes);
            cJSON_AddNumberToObject(o, "total_bytes", (double)info.total_bytes);
            cJSON_AddBoolToObject(o, "plan_fits", info.free_bytes >= need);
        }
        cJSON_AddItemToArray(arr, o);
    }
#else
    (void)need;
#endif
    return arr;
}

// What one decoded token reads at the plan's context: with the active experts, and with all of
// them where that differs (MoE).
static void print_token_bytes(const dy_model_config *c, const dy_memory_plan *plan, const dy_token_bytes *t) {
    const double kv = (double)t->kv_per_position * (double)plan->ctx / GIB;
    printf("per token     ctx %lld: weights %.2f GiB", (long long)plan->ctx, t->active_weights / GIB);
    if (t->active_weights != t->weights)
        printf(" (%d of %d experts; all: %.2f GiB)", c->n_experts_per_tok, c->n_experts, t->weights / GIB);
    printf(" + KV cache %.2f GiB = %.2f GiB read by a decoded token\n", kv,
           dy_token_bytes_at(t, plan->ctx, true) / GIB);
}

static void print_text(const char *source, const dy_model_config *c, const cJSON *ckj, int64_t params,
                       const dy_memory_plan *plan, const dy_token_bytes *token, const cJSON *devices) {
    char num[48];
    printf("model         %s\n", source);
    printf("architecture  %s, %d layers, hidden %d, intermediate %d, vocab %d%s\n", dy_arch_name(c->arch),
           c->n_layers, c->hidden_size, c->intermediate_size, c->vocab_size,
           c->tie_word_embeddings ? ", tied embeddings" : "");
    printf("attention     %d query heads, %d KV heads, head_dim %d\n", c->n_heads, c->n_kv_heads, c->head_dim);
    printf("rope          %s, theta %.10g, max_position_embeddings %d", dy_rope_type_name(c->rope.type), c->rope.theta,
           c->max_position_embeddings);
    if (c->rope.type == DY_ROPE_YARN)
        printf("; factor %g, original %d, beta_fast %g, beta_slow %g", c->rope.factor, c->rope.original_max_position,
               c->rope.beta_fast, c->rope.beta_slow);
    if (c->rope.type == DY_ROPE_LLAMA3)
        printf("; factor %g, original %d, low_freq_factor %g, high_freq_factor %g", c->rope.factor,
               c->rope.original_max_position, c->rope.low_freq_factor, c->rope.high_freq_factor);
    printf("\n");
    if (c->arch == DY_ARCH_QWEN3_MOE)
        printf("moe           %d experts, %d per token, moe_intermediate %d, norm_topk_prob %s, %d of %d layers sparse\n",
               c->n_experts, c->n_experts_per_tok, c->moe_intermediate_size, c->norm_topk_prob ? "true" : "false",
               dy_model_sparse_layers(c), c->n_layers);
    if (ckj) {
        with_commas(num, sizeof num, (int64_t)cJSON_GetObjectItem(ckj, "tensor_bytes")->valuedouble);
        printf("checkpoint    %d tensors in %d file(s), %s bytes\n", cJSON_GetObjectItem(ckj, "tensors")->valueint,
               cJSON_GetObjectItem(ckj, "files")->valueint, num);
    }
    with_commas(num, sizeof num, params);
    printf("parameters    %s\n", num);
    const uint64_t workspace = dy_memory_plan_workspace_bytes(plan);
    printf("memory/GPU    tp %d, ctx %lld, prefill chunk %lld: weights %.2f GiB + KV cache %.2f GiB + workspace %.2f GiB"
           " = %.2f GiB (bf16)\n",
           plan->tp, (long long)plan->ctx, (long long)plan->chunk, plan->weight_bytes / GIB, plan->kv_bytes / GIB,
           workspace / GIB, dy_memory_plan_total_bytes(plan) / GIB);
    printf("workspace     activation buffers %.2f GiB + op scratch %.2f GiB\n", (workspace - plan->scratch_bytes) / GIB,
           plan->scratch_bytes / GIB);
    print_token_bytes(c, plan, token);
    if (cJSON_GetArraySize(devices) == 0) printf("devices       no CUDA device visible\n");
    const cJSON *d;
    cJSON_ArrayForEach(d, devices) {
        const cJSON *e = cJSON_GetObjectItem(d, "error");
        if (e) printf("devices       GPU %d: %s\n", cJSON_GetObjectItem(d, "index")->valueint, e->valuestring);
        else
            printf("devices       GPU %d %s: %.1f of %.1f GiB free (%s)\n", cJSON_GetObjectItem(d, "index")->valueint,
                   cJSON_GetObjectItem(d, "name")->valuestring,
                   cJSON_GetObjectItem(d, "free_bytes")->valuedouble / GIB,
                   cJSON_GetObjectItem(d, "total_bytes")->valuedouble / GIB,
                   cJSON_IsTrue(cJSON_GetObjectItem(d, "plan_fits")) ? "plan fits" : "plan does NOT fit");
    }
}

int dy_cli_inspect(int argc, char **argv) {
    const char *dir = NULL, *preset_name = NULL;
    int64_t ctx = 0, chunk = DY_DEFAULT_PREFILL_CHUNK, tp = 1;
    bool json = false;
    const dy_option table[] = {
        {"--preset", "NAME", "describe a built-in shape instead of a folder (see dysco make-model --help)",
         .string = &preset_name},
        {"--ctx", "N", "context length for the KV cache", .integer = &ctx, .min = 1, .max = INT32_MAX,
         .default_text = "max_position_embeddings"},
        {"--prefill-chunk", "N", "tokens per prefill pass, as in dysco generate and bench", .integer = &chunk,
         .min = 1, .max = 1 << 20},
        {"--tp", "N", "tensor-parallel degree", .integer = &tp, .min = 1, .max = 1024},
        {"--json", NULL, "print one JSON object instead of text", .flag = &json},
    };
    const dy_args_spec spec = {.verb = "inspect", .usage = USAGE, .options = table, .n_options = DY_COUNT_OF(table),
                               .positional = &dir};
    int status;
    if (!dy_args_parse_verb(&spec, argc, argv, &status)) return status;
    dy_error err;
    if (!dir == !preset_name) {
        dy_fail(&err, "inspect: give a MODEL_DIR or --preset NAME, not %s (see dysco inspect --help)",
                dir ? "both" : "neither");
        return dy_report(DY_EXIT_USAGE, &err);
    }

    dy_checkpoint ck = {0};
    dy_model_config preset_cfg;
    const dy_model_config *cfg;
    if (preset_name) {
        const dy_preset *p = dy_preset_find(preset_name);
        if (!p) {
            dy_fail(&err, "--preset: unknown preset '%s' (see dysco make-model --help)", preset_name);
            return dy_report(DY_EXIT_USAGE, &err);
        }
        if (dy_model_config_parse(p->config_json, strlen(p->config_json), preset_name, &preset_cfg, &err)) return dy_report(DY_EXIT_FAIL, &err);
        cfg = &preset_cfg;
    } else {
        if (dy_checkpoint_open(dir, &ck, &err)) return dy_report(DY_EXIT_FAIL, &err);
        cfg = &ck.config;
    }

    dy_memory_plan plan;
    dy_token_bytes token;
    int64_t params = dy_model_param_count(cfg, &err);
    if (params < 0 ||
        dy_memory_plan_make(cfg, ctx ? ctx : cfg->max_position_embeddings, chunk, (int)tp, DY_BF16, &plan, &err) ||
        dy_token_bytes_count(cfg, (int)tp, DY_BF16, &token, &err)) {
        dy_checkpoint_close(&ck);
        return dy_report(DY_EXIT_FAIL, &err);
    }
#ifdef DYSCO_HAVE_CUDA
    plan.scratch_bytes = dy_backend_cuda_scratch_bytes(&plan.limits);
#endif  // without CUDA there is no GPU to plan scratch for: the workspace is the activation buffers
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, preset_name ? "preset" : "model", preset_name ? preset_name : dir);
    cJSON_AddItemToObject(out, "config", describe_config(cfg));
    cJSON *ckj = preset_name ? NULL : describe_checkpoint(&ck);
    if (ckj) cJSON_AddItemToObject(out, "checkpoint", ckj);
    cJSON_AddNumberToObject(out, "parameters", (double)params);
    cJSON *mem = cJSON_AddObjectToObject(out, "memory_per_gpu");
    cJSON_AddNumberToObject(mem, "tp", plan.tp);
    cJSON_AddNumberToObject(mem, "ctx", (double)plan.ctx);
    cJSON_AddNumberToObject(mem, "prefill_chunk", (double)plan.chunk);
    cJSON_AddNumberToObject(mem, "weight_bytes", (double)plan.weight_bytes);
    cJSON_AddNumberToObject(mem, "kv_cache_bytes", (double)plan.kv_bytes);
    cJSON_AddNumberToObject(mem, "workspace_bytes", (double)dy_memory_plan_workspace_bytes(&plan));
    cJSON_AddNumberToObject(mem, "op_scratch_bytes", (double)plan.scratch_bytes);
    cJSON_AddNumberToObject(mem, "total_bytes", (double)dy_memory_plan_total_bytes(&plan));
    // A decoded token at ctx: every weight it reads (all experts) and, beside it, with the routed
    // experts only; equal for dense models.
    cJSON_AddNumberToObject(mem, "bytes_per_token", (double)dy_token_bytes_at(&token, plan.ctx, false));
    cJSON_AddNumberToObject(mem, "active_bytes_per_token", (double)dy_token_bytes_at(&token, plan.ctx, true));
    cJSON *devices = describe_devices(dy_memory_plan_total_bytes(&plan));
    cJSON_AddItemToObject(out, "devices", devices);
    if (json) {
        char *s = cJSON_Print(out);
        puts(s);
        free(s);
    } else {
        print_text(preset_name ? preset_name : dir, cfg, ckj, params, &plan, &token, devices);
    }
    cJSON_Delete(out);
    dy_checkpoint_close(&ck);
    return DY_EXIT_OK;
}

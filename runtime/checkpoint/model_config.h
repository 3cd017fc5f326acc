// The model architecture as read from a Hugging Face config.json (qwen3, qwen3_moe, llama).
#ifndef DYSCO_MODEL_CONFIG_H
#define DYSCO_MODEL_CONFIG_H

#include <stdbool.h>

#include "kernels/base/dtype.h"
#include "kernels/base/error.h"

enum { DY_MAX_LAYERS = 1024, DY_MAX_EOS = 16 };

typedef enum { DY_ARCH_QWEN3, DY_ARCH_QWEN3_MOE, DY_ARCH_LLAMA } dy_arch;
typedef enum { DY_ROPE_DEFAULT, DY_ROPE_YARN, DY_ROPE_LLAMA3 } dy_rope_type;

typedef struct {
    dy_rope_type type;
    double theta;
    double factor;                  // yarn, llama3
    int original_max_position;      // yarn, llama3
    double beta_fast, beta_slow;    // yarn (defaults 32, 1)
    bool has_attention_factor;      // yarn: explicit attention_factor, else 0.1 ln(factor) + 1
    double attention_factor;
    bool truncate;                  // yarn: floor/ceil the correction range (default true)
    double low_freq_factor, high_freq_factor;  // llama3
} dy_rope_config;

typedef struct {
    dy_arch arch;
    int vocab_size;
    int hidden_size;
    int n_layers;
    int n_heads;
    int n_kv_heads;
    int head_dim;  // explicit in config.json, else hidden_size / n_heads
    int intermediate_size;
    // Qwen3-MoE only (zero otherwise). A layer is sparse unless listed in mlp_only_layers,
    // and only when (layer + 1) % decoder_sparse_step == 0.
    int n_experts;
    int n_experts_per_tok;
    int moe_intermediate_size;
    bool norm_topk_prob;
    int decoder_sparse_step;
    bool mlp_only[DY_MAX_LAYERS];
    double rms_norm_eps;
    dy_rope_config rope;
    int max_position_embeddings;
    bool tie_word_embeddings;
    int bos_id;  // -1 when absent or null
    int n_eos;
    int eos_ids[DY_MAX_EOS];
    dy_dtype dtype;
} dy_model_config;

// Parses config.json text (len bytes: a NUL byte among them is an error, not the end); `path`
// only names the file in error messages.
int dy_model_config_parse(const char *json, size_t len, const char *path, dy_model_config *cfg, dy_error *err);
int dy_model_config_load(const char *path, dy_model_config *cfg, dy_error *err);

bool dy_layer_is_moe(const dy_model_config *cfg, int layer);
int dy_model_sparse_layers(const dy_model_config *cfg);
const char *dy_arch_name(dy_arch a);
const char *dy_rope_type_name(dy_rope_type t);

#endif

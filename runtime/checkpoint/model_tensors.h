// The tensors an architecture needs, by Hugging Face name, with their shapes and how tensor
// parallelism splits them. The single source for checkpoint validation, make-model, parameter
// counts and the memory plan.
#ifndef DYSCO_MODEL_TENSORS_H
#define DYSCO_MODEL_TENSORS_H

#include <stdint.h>

#include "model_config.h"

typedef enum {
    DY_ROLE_EMBEDDING,  // (vocab, hidden)
    DY_ROLE_LM_HEAD,    // (vocab, hidden)
    DY_ROLE_NORM,       // (hidden) or (head_dim) for Qwen3 q/k norms
    DY_ROLE_LINEAR,     // (out_features, in_features)
    DY_ROLE_ROUTER,     // (n_experts, hidden)
} dy_tensor_role;

// How a tensor-parallel rank takes its share (Megatron layout).
typedef enum {
    DY_SPLIT_NONE,       // replicated: norms, router
    DY_SPLIT_ROWS,       // column-parallel linear: output features split (q, gate, up)
    DY_SPLIT_KV_ROWS,    // k, v: split by KV head, replicated when tp > n_kv_heads
    DY_SPLIT_COLS,       // row-parallel linear: input features split (o, down)
    DY_SPLIT_VOCAB,      // embedding and LM head: ceil(vocab / tp) rows each
} dy_tp_split;

typedef struct {
    char name[96];
    int ndim;
    int64_t shape[2];
    dy_tensor_role role;
    dy_tp_split split;
    int layer;   // -1 outside the decoder layers
    int expert;  // its index among its MoE layer's experts; -1 for every other tensor
} dy_tensor_spec;

// Fills a malloc'd array in checkpoint order (embedding, layers, final norm, LM head); the LM head
// is left out when embeddings are tied. Returns the count, or -1 (out of memory) with err set.
int dy_model_tensor_specs(const dy_model_config *cfg, dy_tensor_spec **specs, dy_error *err);

int64_t dy_tensor_spec_numel(const dy_tensor_spec *s);
// Parameters as Hugging Face counts them (tied embeddings once).
int64_t dy_model_param_count(const dy_model_config *cfg, dy_error *err);

#endif

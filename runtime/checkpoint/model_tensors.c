#include "model_tensors.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    dy_tensor_spec *specs;
    int n, cap;
    int layer, expert;  // what add() stamps on the tensors it adds
} spec_list;

static void add(spec_list *l, dy_tensor_role role, dy_tp_split split, int64_t rows, int64_t cols,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void add(spec_list *l, dy_tensor_role role, dy_tp_split split, int64_t rows, int64_t cols,
                const char *fmt, ...) {
    assert(l->n < l->cap);  // the capacity is counted exactly by per_layer_count
    dy_tensor_spec *s = &l->specs[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->role = role;
    s->split = split;
    s->layer = l->layer;
    s->expert = l->expert;
    s->ndim = cols ? 2 : 1;
    s->shape[0] = rows;
    s->shape[1] = cols;
}

static void add_mlp(spec_list *l, const char *prefix, int64_t hidden, int64_t inter) {
    add(l, DY_ROLE_LINEAR, DY_SPLIT_ROWS, inter, hidden, "%s.gate_proj.weight", prefix);
    add(l, DY_ROLE_LINEAR, DY_SPLIT_ROWS, inter, hidden, "%s.up_proj.weight", prefix);
    add(l, DY_ROLE_LINEAR, DY_SPLIT_COLS, hidden, inter, "%s.down_proj.weight", prefix);
}

static int per_layer_count(const dy_model_config *c, int layer) {
    int n = 6 + (c->arch != DY_ARCH_LLAMA ? 2 : 0);  // 2 norms, q k v o, Qwen3 q/k norms
    return n + (dy_layer_is_moe(c, layer) ? 1 + 3 * c->n_experts : 3);
}

int dy_model_tensor_specs(const dy_model_config *c, dy_tensor_spec **out, dy_error *err) {
    int cap = 3;
    for (int l = 0; l < c->n_layers; l++) cap += per_layer_count(c, l);
    spec_list list = {calloc((size_t)cap, sizeof(dy_tensor_spec)), 0, cap, -1, -1};
    if (!list.specs) return dy_fail(err, "out of memory listing %d tensors", cap);
    const int64_t hidden = c->hidden_size, hd = c->head_dim;

    add(&list, DY_ROLE_EMBEDDING, DY_SPLIT_VOCAB, c->vocab_size, hidden, "model.embed_tokens.weight");
    for (int l = 0; l < c->n_layers; l++) {
        list.layer = l;
        char p[64];
        snprintf(p, sizeof p, "model.layers.%d", l);
        add(&list, DY_ROLE_NORM, DY_SPLIT_NONE, hidden, 0, "%s.input_layernorm.weight", p);
        add(&list, DY_ROLE_LINEAR, DY_SPLIT_ROWS, c->n_heads * hd, hidden, "%s.self_attn.q_proj.weight", p);
        add(&list, DY_ROLE_LINEAR, DY_SPLIT_KV_ROWS, c->n_kv_heads * hd, hidden, "%s.self_attn.k_proj.weight", p);
        add(&list, DY_ROLE_LINEAR, DY_SPLIT_KV_ROWS, c->n_kv_heads * hd, hidden, "%s.self_attn.v_proj.weight", p);
        add(&list, DY_ROLE_LINEAR, DY_SPLIT_COLS, hidden, c->n_heads * hd, "%s.self_attn.o_proj.weight", p);
        if (c->arch != DY_ARCH_LLAMA) {
            add(&list, DY_ROLE_NORM, DY_SPLIT_NONE, hd, 0, "%s.self_attn.q_norm.weight", p);
            add(&list, DY_ROLE_NORM, DY_SPLIT_NONE, hd, 0, "%s.self_attn.k_norm.weight", p);
        }
        add(&list, DY_ROLE_NORM, DY_SPLIT_NONE, hidden, 0, "%s.post_attention_layernorm.weight", p);
        if (dy_layer_is_moe(c, l)) {
            add(&list, DY_ROLE_ROUTER, DY_SPLIT_NONE, c->n_experts, hidden, "%s.mlp.gate.weight", p);
            for (int e = 0; e < c->n_experts; e++) {
                char ep[96];
                snprintf(ep, sizeof ep, "%s.mlp.experts.%d", p, e);
                list.expert = e;
                add_mlp(&list, ep, hidden, c->moe_intermediate_size);
            }
            list.expert = -1;
        } else {
            char mp[80];
            snprintf(mp, sizeof mp, "%s.mlp", p);
            add_mlp(&list, mp, hidden, c->intermediate_size);
        }
    }
    list.layer = -1;
    add(&list, DY_ROLE_NORM, DY_SPLIT_NONE, hidden, 0, "model.norm.weight");
    if (!c->tie_word_embeddings) add(&list, DY_ROLE_LM_HEAD, DY_SPLIT_VOCAB, c->vocab_size, hidden, "lm_head.weight");
    *out = list.specs;
    return list.n;
}

int64_t dy_tensor_spec_numel(const dy_tensor_spec *s) { return s->ndim == 2 ? s->shape[0] * s->shape[1] : s->shape[0]; }

int64_t dy_model_param_count(const dy_model_config *cfg, dy_error *err) {
    dy_tensor_spec *specs;
    int n = dy_model_tensor_specs(cfg, &specs, err);
    if (n < 0) return -1;
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += dy_tensor_spec_numel(&specs[i]);
    free(specs);
    return total;
}

// The decoder forward, written once against the backend op interface (kernels/backend.h):
// embedding, then per layer pre-norm attention (q/k norm for Qwen3, RoPE, KV cache, causal GQA
// with an optional per-key bias, temperature and probability capture) and a SwiGLU or MoE MLP,
// final norm, LM head for the last position. The modes DySCO needs are options of one call:
// prefill (many tokens, no logits), one-token steps, and a speculative step through layers
// 0..L whose K/V are overwritten by the real pass that follows.
#ifndef DYSCO_MODEL_H
#define DYSCO_MODEL_H

#include "kernels/backend.h"
#include "kv_cache.h"
#include "parallel/comm.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/checkpoint/weight_init.h"

enum {
    // (layer, head) pairs one forward captures (dy_forward_opts.n_capture); a forward asked for
    // more fails. DySCO's head list is bounded by the same number (runtime/generate checks it).
    // QRHead detection captures every head of the model (Llama-3.1-70B: 80 x 64).
    DY_MODEL_MAX_CAPTURE = 8192,
    // Kinds of one-token step recorded as graphs (dy_model.graphs). Few are asked for (a decode
    // step, and DySCO's real pass with and without the LM head); a step of a kind past the limit
    // runs its ops directly, with the same result and without the graph's saving.
    DY_MODEL_MAX_STEP_GRAPHS = 8,
};

typedef struct {
    // q, k and v stacked by rows into one (q_rows + 2 * kv_rows, hidden) matrix, and a dense MLP's
    // gate and up into one (2 * inter, hidden) matrix (mlp.gate and mlp.up are its halves), so each
    // triple or pair is one matmul.
    dy_view qkv, attn_norm, o, q_norm, k_norm, mlp_norm;  // q_norm/k_norm: data NULL for Llama
    bool moe;
    dy_view gate_up;
    dy_mlp_weights mlp;       // dense layers
    dy_view router;           // (n_experts, hidden), MoE layers
    dy_mlp_weights *experts;  // (n_experts), MoE layers
} dy_layer_weights;

// This process's part of a tensor-parallel model (runtime/model/tp_shard.h has the splits): its
// query and KV heads, a slice of the MLP width, and of the vocabulary for the embedding and LM
// head. The attention output projection, the MLP and the embedding each leave a partial sum that
// an all-reduce over comm completes. tp 1: the whole model (comm NULL or one process's).
typedef struct {
    dy_comm *comm;  // collectives on the backend's memory (NCCL on a GPU); comm->host for the host's
    int tp, rank;
    int n_heads, n_kv_heads;   // this rank's, consecutive from n_heads * rank (KV: replicated past n_kv_heads ranks)
    int64_t vocab0, vocab;     // this rank's vocabulary rows [vocab0, vocab0 + vocab)
} dy_model_shard;

dy_model_shard dy_model_shard_of(const dy_model_config *cfg, dy_comm *comm);

typedef struct {
    dy_model_config cfg;
    dy_model_shard shard;
    dy_backend *be;
    int64_t weight_bytes;  // the checkpoint bytes of this rank's slices (random weights: at cfg.dtype)
    dy_view embed, final_norm, lm_head;  // lm_head shares embed's memory when tied
    dy_layer_weights *layers;
    float *inv_freq;  // backend (head_dim / 2)
    float attn_factor;
    int max_chunk;
    dy_kv_cache kv;  // for max_ctx = kv.max_ctx positions
    // Workspace for up to max_chunk tokens, shaped as runtime/model/memory_plan.h lists it.
    dy_view x, xn, qkv, att, proj, gate_up, logits;
    int32_t *ids, *positions;
    float *bias;     // (max_ctx)
    dy_pick *picked;  // the pick op's result
    float *host_logits;  // host (shard.vocab) under tensor parallelism: the slice the ranks' pick reads
    // The capture of the last dy_model_set_capture: the pairs of this rank's heads grouped by
    // layer (in the caller's order within a layer), the rows of layer l being
    // [capture_first[l], capture_first[l + 1]).
    float *capture;          // backend (capture_rows, kv.max_ctx), row i at stride n_keys of its pass
    int32_t *capture_heads;  // backend (capture_rows) each row's query head among this rank's
    int capture_rows, n_capture;
    int n_capture_owned;                      // the rows this rank computes (under tensor parallelism
                                              // the pairs whose head it holds; all of them at tp 1)
    int *capture_first;                       // host (n_layers + 1)
    int capture_order[DY_MODEL_MAX_CAPTURE];  // the caller's index of each row
    // Recorded one-token steps (backends with graphs), one per kind of step asked for.
    struct dy_step_graph {
        int n_layers;
        float temperature;
        bool bias, logits;
        void *graph;
    } graphs[DY_MODEL_MAX_STEP_GRAPHS];
    int n_graphs;
    float *router_margins;  // host (kv.max_ctx) while dy_model_record_router_margins records, else NULL
    void **allocations;  // every backend allocation but the KV cache's, released by dy_model_free
    int n_allocations, cap_allocations;
} dy_model;

// Uploads the checkpoint's weights (widened to fp32, stored in the backend's dtype) and
// allocates the KV cache for max_ctx positions and workspace for prefill chunks of max_chunk.
// Before allocating anything it checks the memory plan of all three against the backend's free
// memory, and fails with one line naming the sizes when it does not fit.
int dy_model_load(dy_model *m, dy_backend *be, const dy_checkpoint *ck, int max_ctx, int max_chunk, dy_error *err);
// The same, this rank's shard of it for a job of comm->size ranks (every rank calls it); the
// memory plan is per rank, and a size that does not divide the model fails naming the dimension.
int dy_model_load_shard(dy_model *m, dy_backend *be, const dy_checkpoint *ck, dy_comm *comm, int max_ctx,
                        int max_chunk, dy_error *err);
// The same shape with make-model's deterministic random weights, from the config alone.
int dy_model_load_random(dy_model *m, dy_backend *be, const dy_model_config *cfg, const dy_init_params *init,
                         int max_ctx, int max_chunk, dy_error *err);
// Its shard for a job of comm->size ranks, as dy_model_load_shard (bench --random-weights under
// a launcher).
int dy_model_load_random_shard(dy_model *m, dy_backend *be, const dy_model_config *cfg, const dy_init_params *init,
                               dy_comm *comm, int max_ctx, int max_chunk, dy_error *err);
void dy_model_free(dy_model *m);

typedef struct {
    int n_layers;        // layers to run; 0 = all (a speculative pass runs fewer)
    float temperature;   // attention logit temperature (attnsharp); 0 or 1 = none
    const float *bias;   // host, (pos0 + n) additive logit per key in every layer and head, or NULL
    bool bias_on_device; // instead: m->bias as a backend op left it (DySCO's device step)
    int n_capture;       // (layer, query head) pairs whose newest-query probabilities to return,
                         // 0..DY_MODEL_MAX_CAPTURE
    const int *capture_layer, *capture_head;
    float *capture_out;  // host, (n_capture, pos0 + n), zeros in the rows of heads other ranks hold;
                         // NULL: the rows stay in m->capture (n_keys = kv.max_ctx)
    // The LM head runs for the last token when logits or pick is set.
    float *logits;               // host, (shard.vocab) its logits (this rank's vocabulary slice), or NULL
    const dy_pick_params *pick;  // host, or NULL: the next token is chosen on the backend (pick op)
    dy_pick *picked;             // host: when pick is set, the chosen token (12 bytes come back, not the logits)
} dy_forward_opts;

// Runs tokens (host, n <= max_chunk) at cache positions [pos0, pos0 + n), writing their K/V.
int dy_model_forward(dy_model *m, const int32_t *tokens, int n, int pos0, const dy_forward_opts *o, dy_error *err);

// While margins (host, kv.max_ctx floats) is set, every dy_model_forward lowers margins[p] to the
// smallest routing margin (dy_backend.moe_record_margins) of any MoE layer at position p of its
// passes, so a run leaves each position's closest call over the prefill, speculative and real
// passes alike. The backend must have moe_record_margins. NULL stops recording.
void dy_model_record_router_margins(dy_model *m, float *margins);

// ---- One-token steps composed by the caller (DySCO's device step) -----------------------------
// dy_model_forward runs one pass per call. A caller that records several passes and ops of its
// own into one graph sets the capture pairs once, gives each step's token and position, and
// enqueues the passes: they read the token and position from backend memory, size attention by
// kv.max_ctx and leave capture rows in m->capture at stride kv.max_ctx.

// Checks the pairs (count within DY_MODEL_MAX_CAPTURE, layers and heads in range) and makes them
// the model's capture: rows grouped by layer, the heads uploaded.
int dy_model_set_capture(dy_model *m, int n, const int *layer, const int *head, dy_error *err);
// Uploads the step's token and position (token in the vocabulary, pos inside the cache).
int dy_model_step_inputs(dy_model *m, int32_t token, int pos, dy_error *err);
// Enqueues the step's pass: o's n_layers, temperature, bias_on_device and n_capture (0, or the
// set capture's count with capture_out NULL); the LM head into m->logits when logits is set.
void dy_model_step_ops(dy_model *m, const dy_forward_opts *o, bool logits);
// The next token from m->logits, chosen on the backend; waits for it (12 bytes come back).
void dy_model_pick(dy_model *m, const dy_pick_params *p, dy_pick *out);

#endif

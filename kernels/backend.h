// The op interface the model forward is written against (runtime/model/), implemented by
// kernels/cpu (fp32 reference, and its twin with bf16 storage) and kernels/cuda (bf16). Backends own their memory: the
// data a view points to, and every int32/float array argument (ids, positions, inv_freq, bias,
// capture_heads, capture_out, caches), is backend memory (device memory on a GPU); the views,
// argument structs and the experts array themselves are host structs. The model moves data in
// and out with upload/download. Ops may run asynchronously: only download waits. Shapes are
// row-major and given per view or in the argument structs. Outputs never alias inputs unless an
// op says so; an op writes its output in the output view's dtype (logits are fp32 on every
// backend). Ops cannot fail: what they need is set up by prepare().
#ifndef DYSCO_BACKEND_H
#define DYSCO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/base/dtype.h"
#include "kernels/base/error.h"

#ifdef __cplusplus
extern "C" {  // kernels/cuda is C++
#endif

// A matrix in backend memory: rows x cols elements of dtype, row i at data + i * stride elements.
typedef struct {
    void *data;
    dy_dtype dtype;
    int64_t rows, cols, stride;
} dy_view;

// Rows [r0, r0 + n) of v, as a view of the same memory.
dy_view dy_view_rows(const dy_view *v, int64_t r0, int64_t n);

typedef struct {
    dy_view gate, up, down;  // (inter, hidden), (inter, hidden), (hidden, inter)
} dy_mlp_weights;

// Causal grouped-query attention of n_q new queries against a layer's KV cache.
typedef struct {
    const dy_view *q;   // (n_q, n_heads * head_dim), after q-norm and RoPE
    const void *k, *v;  // the layer's cache, each (n_kv_heads, max_ctx, head_dim) in the activation dtype
    int max_ctx;
    int n_q;
    // (n_q) consecutive cache indices: query i sits at positions[i] = positions[0] + i and attends
    // to keys [0, positions[i]]. They live in backend memory so that a recorded decode step
    // (graph_begin) replays at whatever position the model uploaded before launching it.
    const int32_t *positions;
    // Keys of the newest query, positions[n_q - 1] + 1, which sizes the launch and is the capture
    // row length. One query (decode) may give a bound instead (up to max_ctx): the op then reads
    // its position on the device.
    int n_keys;
    int n_heads, n_kv_heads, head_dim;  // query head h reads KV head h / (n_heads / n_kv_heads)
    float scale;         // logit multiplier: 1/sqrt(head_dim) / temperature
    const float *bias;   // NULL, or (n_keys) fp32 values added to every head's logit of each key
                         // (after scaling; -INFINITY masks a key)
    // When every key of a query is masked (-INFINITY), its output (and capture) is zeros.
    // Softmax probabilities of the NEWEST query for chosen query heads, fp32:
    int n_capture;
    const int32_t *capture_heads;  // (n_capture) query head indices
    float *capture_out;            // (n_capture, n_keys)
    dy_view *out;                  // (n_q, n_heads * head_dim)
} dy_attention_args;

// The attention inputs of a pass, in place: every head of q (n_heads) and of k (n_kv_heads) is
// RMS-normalised when normalise is set, times q_norm / k_norm when given (Qwen3's q/k norm), then
// rotated by RoPE (rotate-half pairs i, i + head_dim/2) at positions[row]: angle =
// (float)position * inv_freq[i], cos and sin times attn_factor. The rotated k rows and the v rows
// then go to the cache: cache[kv_head, positions[row], :]. With 0 heads on a side, that side (q;
// or k, v and the caches) is left alone and its pointers are not used.
typedef struct {
    dy_view *q, *k;                  // (n, n_heads * head_dim), (n, n_kv_heads * head_dim)
    const dy_view *v;                // (n, n_kv_heads * head_dim)
    const dy_view *q_norm, *k_norm;  // (1, head_dim) or NULL
    int n_heads, n_kv_heads, head_dim;
    float eps;
    bool normalise;            // false: RoPE only (Llama)
    const int32_t *positions;  // (n) backend memory
    const float *inv_freq;     // (head_dim / 2) backend memory
    float attn_factor;
    void *k_cache, *v_cache;  // each (n_kv_heads, max_ctx, head_dim) in the activation dtype
    int max_ctx;
} dy_attention_inputs;

// The largest work the ops will be given, so the backend can set up scratch once.
typedef struct {
    int64_t max_rows;      // tokens per pass
    int64_t hidden;
    int64_t intermediate;  // the larger of the dense and the expert MLP width
    int n_experts, experts_per_token;  // 0 for dense models
    int n_heads, head_dim; // attention (a decode step's per-split partial results)
    int64_t vocab;         // logits per pick (the CPU's reference sorts a copy of them)
    int64_t max_ctx;       // DySCO's importance length (dysco_update, dysco_select); 0: those ops are not used
} dy_op_limits;

// How pick chooses the next token. The host fills it (u from its seeded generator) per call.
typedef struct {
    float temperature;  // <= 0: greedy (argmax, first index on ties)
    float sample_top_p;  // 1: off
    int sample_top_k;    // 0: off
    double u;           // uniform in [0, 1), drawn by the host's seeded generator
    int32_t forced;     // >= 0: this token is taken (scoring): only its logprob and the argmax are computed
} dy_pick_params;

// pick's result (12 bytes, what the host downloads per token); logprob = log_softmax(logits)[token]
// without temperature.
typedef struct {
    int32_t token, argmax;
    float logprob;
} dy_pick;

// ---- DySCO's per-step math on the device (runtime/dysco/README.md §2-§7) ---------------------
// The twins of runtime/dysco's dy_dysco_update and dy_dysco_select_and_bias. Whatever changes per
// step is read from backend memory, the KV length c = *position + 1 above all, so a recorded step
// (graph_begin) replays at every position with no host round trip.

// The importance update (dy_dysco_update): a[j] = the mean of probs[i][j] over the n_pairs rows,
// summed in row order in double and rounded to fp32; new[j] = a[j] + decay * old[j] for j < c - 1,
// new[c - 1] = a[c - 1]; importance[j] = (float)(new[j] / sum of new), the sum in double.
// Under tensor parallelism each rank holds the rows of its own heads: dysco_head_sum sums them
// (rank_sums NULL there), an all-gather brings every rank's sums, and the update adds those in
// rank order where it would sum the rows.
typedef struct {
    const float *probs;       // (n_pairs, probs_stride): the step's capture rows (dy_attention_args.capture_out)
    int64_t probs_stride;     // their row stride: the attention's n_keys, at least c
    int n_pairs;              // >= 1: the rows, and the mean's divisor (every rank's rows together)
    // NULL: the head sum is probs' rows. Else (n_ranks, max_ctx): the ranks' dysco_head_sum
    // results, a[j] = (float)((sum over r in rank order of rank_sums[r][j]) / n_pairs); probs unread.
    const double *rank_sums;
    int n_ranks;
    const int32_t *position;  // (1) the newest query's cache index: c = *position + 1 (a one-token step's positions)
    float *importance;        // (max_ctx) in: [0, c - 1) (zeros before the first update); out: [0, c)
    int max_ctx;              // bounds c and sizes the launch (prepare()'s limits->max_ctx at most)
    double decay;             // lambda
} dy_dysco_update_args;

// This rank's part of the head sum: sum[j] = the sum of probs' n_rows rows at j in row order, in
// double, for j < c (zeros when n_rows is 0: a rank holding none of the heads); sum[c..) unwritten.
typedef struct {
    const float *probs;       // (n_rows, probs_stride)
    int64_t probs_stride;
    int n_rows;               // >= 0
    const int32_t *position;  // (1) c = *position + 1
    int max_ctx;              // bounds c and sizes the launch
    double *sum;              // (max_ctx) out
} dy_dysco_head_sum_args;
// The generation_logging sums of the selections so far, in runtime/dysco's DY_DYSCO_LOG_* order
// (avg_num_token, avg_nucleus_mass, scale_by_token, scale_by_nucleus, num_generations), not yet
// divided by num_generations.
enum { DY_DYSCO_DEVICE_LOGS = 5 };

// DySCO's per-sequence state in backend memory: upload it zeroed before the first selection;
// download it for traces (n_selected) and for the logging at the end.
typedef struct {
    double log[DY_DYSCO_DEVICE_LOGS];
    int32_t n_selected;  // the last selection's count, before template masking
    int32_t frozen;      // static variant: 1 once its one selection was made
} dy_dysco_device_state;

// Selection and the real pass's bias (dy_dysco_select_and_bias). Dynamic: selects on importance
// [0, c). Static: the first call (frozen == 0) selects on [0, c - 1) and freezes; later calls keep
// that set. Top-k: the min(top_k, n) largest, ties to the lower position. Nucleus: the shortest
// prefix of the order (value desc, position asc) holding at most top_p of the mass, at least one.
// Hybrid: the nucleus unless it holds more than top_k positions, then top-k. Each selection adds
// to state->log and sets state->n_selected. bias[j] = log(s) on selected positions except
// template ones (0 < s < 99), 0 elsewhere; s >= 99: 0 on selected ones, -INFINITY elsewhere, no
// template masking; bias[c - 1] is always log(s) (0 when s >= 99).
typedef struct {
    const int32_t *position;       // (1) c = *position + 1
    const float *importance;       // (max_ctx) as dysco_update leaves it: >= 0, summing to 1 (below 8 is exact)
    int max_ctx;                   // bounds c and sizes the launch (prepare()'s limits->max_ctx at most)
    bool dynamic;                  // false: the static variant
    bool has_top_k, has_top_p;     // at least one
    int top_k;                     // >= 1
    double top_p;                  // in (0, 1]
    double strength;               // s > 0
    const uint8_t *template_mask;  // (prompt_len) 1 inside a template occurrence; NULL: no masking
    int prompt_len;
    uint8_t *selected;             // (max_ctx) state: the selection before template masking (static: the frozen one)
    dy_dysco_device_state *state;  // (1)
    float *bias;                   // (max_ctx) out: [0, c)
} dy_dysco_select_args;

typedef struct dy_backend dy_backend;
struct dy_backend {
    const char *name;
    dy_dtype act_dtype;  // activations, KV cache and weights as this backend stores them
    // The queue the ops run on (a cudaStream_t), where collectives on backend memory are enqueued
    // to stay in order with them (parallel/comm.h); NULL for a backend computing in host memory.
    void *stream;
    void *impl;

    // Scratch for ops up to these limits; -1 when out of memory. Called before any op runs.
    int (*prepare)(dy_backend *b, const dy_op_limits *limits);
    // The bytes of backend memory prepare() holds for these limits, create()'s fixed scratch
    // included, so the memory plan (runtime/model/memory_plan.h) can count them before anything is
    // allocated. NULL: none.
    size_t (*scratch_bytes)(dy_backend *b, const dy_op_limits *limits);
    // Free and total bytes of the memory alloc() draws from, which the model checks its memory
    // plan against before it allocates. NULL: not checked (the CPU's host memory).
    void (*memory_info)(dy_backend *b, size_t *free_bytes, size_t *total_bytes);
    void *(*alloc)(dy_backend *b, size_t bytes);  // NULL when out of memory; 0 bytes is a valid request
    void (*release)(dy_backend *b, void *p);
    void (*upload)(dy_backend *b, void *dst, const void *host_src, size_t bytes);
    void (*download)(dy_backend *b, void *host_dst, const void *src, size_t bytes);
    // Returns once every op issued so far has finished (what a timer around asynchronous ops needs).
    void (*finish)(dy_backend *b);
    // Backend memory to backend memory (also what `dysco bench` times as the copy bandwidth).
    void (*copy)(dy_backend *b, void *dst, const void *src, size_t bytes);
    // Stores a host fp32 matrix (rows, cols) as a weight in act_dtype at dst.
    void (*upload_weight)(dy_backend *b, const dy_view *dst, const float *host_src);
    // The dtype whose values the weights hold: act_dtype, but bf16 on the bf16-storage twin (bf16
    // values in fp32 memory).
    dy_dtype weight_dtype;
    // Stores a host matrix (rows, cols) of weight_dtype values, row i at host_src + i * src_stride
    // elements and at any alignment (a checkpoint's mapping), as the weight at dst without
    // rounding: a checkpoint in weight_dtype skips upload_weight's fp32 round trip. It stores what
    // upload_weight stores for the values widened to fp32, bit for bit, except a signalling NaN,
    // which upload_weight's rounding quiets and this keeps. NULL: weights go through upload_weight.
    void (*upload_weight_raw)(dy_backend *b, const dy_view *dst, const void *host_src, int64_t src_stride);
    void (*destroy)(dy_backend *b);

    // Recording a sequence of ops to replay it (optional: NULL where the backend has none, the
    // CPU's). Ops issued between graph_begin and graph_end are recorded, not run; graph_launch
    // runs them with the memory contents of that moment, so uploads made before a launch (the
    // token id, the positions, a bias) are what the replay reads. No upload, download or alloc
    // between begin and end. graph_end gives NULL if the recording failed: nothing ran, and
    // the caller issues the ops again directly.
    void (*graph_begin)(dy_backend *b);
    void *(*graph_end)(dy_backend *b);
    void (*graph_launch)(dy_backend *b, void *graph);
    void (*graph_free)(dy_backend *b, void *graph);

    // out[i] = table[ids[i]]; ids: (n) int32 in backend memory, n = out->rows
    void (*embedding)(dy_backend *b, const dy_view *table, const int32_t *ids, dy_view *out);
    // residual += delta (when delta != NULL); out = rmsnorm(residual) * w, per row; w is (1, hidden)
    void (*add_rmsnorm)(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                        dy_view *out);
    // out = x @ w^T: x (n, in), w (out_features, in), out (n, out_features)
    void (*matmul)(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
    // The LM head: logits = x @ w^T as matmul computes it, logits an fp32 view (1, vocab). An op of
    // its own because a backend whose matmul rounds what it stores (the CPU's bf16-storage twin)
    // must still leave the logits fp32; the CPU and CUDA backends give it their matmul.
    void (*lm_head)(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *logits);
    // Queries and keys ready for attention, and the cache written: see dy_attention_inputs.
    void (*attention_inputs)(dy_backend *b, const dy_attention_inputs *a);
    void (*attention)(dy_backend *b, const dy_attention_args *a);
    // A dense MLP's first half: out = x @ w^T with w the gate rows over the up rows (2 * inter, in),
    // then out[:, :inter] = silu(gate) * up; out[:, inter:] is left as scratch. out: (n, 2 * inter)
    void (*gate_up_swiglu)(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
    // Qwen3-MoE block: router logits x @ router^T, softmax over experts (fp32), the experts_per_token most
    // probable (ties to the lower index), optional renormalisation of their weights; out = sum_k w_k * SwiGLU_expert_k(x)
    void (*moe)(dy_backend *b, const dy_view *x, const dy_view *router, const dy_mlp_weights *experts, int n_experts,
                int experts_per_token, bool norm_topk, dy_view *out);
    // How close each routing came to another choice (optional: NULL where the backend does not
    // record it, the GPU's). While margins is set (host memory, one float per row of the ops that
    // follow), every moe op lowers margins[row] to that row's routing margin when it is smaller:
    // the experts_per_token-th largest router probability minus the next largest (the fp32
    // softmax, before renormalisation; with experts_per_token == n_experts, nothing is lowered).
    // A margin below the noise between two runs lets them route that row differently. NULL stops.
    void (*moe_record_margins)(dy_backend *b, float *margins);
    // The next token from logits (vocab) fp32 in backend memory; p is a host struct, out backend
    // memory. Sampling: p_i = exp((l_i - max) / temperature); the kept set is the sample_top_k largest
    // p_i by (p desc, id asc), then the shortest prefix of that order whose mass / kept mass
    // reaches sample_top_p (the crossing token included); r = u * kept mass, and the token is the first
    // kept id IN ASCENDING ID ORDER at which the running sum of kept p_i exceeds r (so a GPU needs
    // no sort; rounding that leaves r unreached takes the last kept id with p_i > 0).
    void (*pick)(dy_backend *b, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out);

    // DySCO's importance update and selection + bias on the device (optional: NULL on the CPU, whose
    // decode loop runs runtime/dysco's controller on the host). prepare() needs limits->max_ctx.
    void (*dysco_update)(dy_backend *b, const dy_dysco_update_args *a);
    void (*dysco_head_sum)(dy_backend *b, const dy_dysco_head_sum_args *a);
    void (*dysco_select)(dy_backend *b, const dy_dysco_select_args *a);

    // QRHead's mean over query rows kept in backend memory (runtime/qrhead/qrhead_mass.c): each
    // step's capture rows, weighted, added to a double accumulator, so that only the mean comes
    // back. acc[r * n_cols + j] += weight * rows[r * stride + j] for r < n_rows, j < n_cols.
    void (*accumulate_rows)(dy_backend *b, const float *rows, int64_t stride, int n_rows, int64_t n_cols, double weight,
                            double *acc);
};

// The backend named "cpu", "cpu-bf16" or "cuda", or NULL with err set: unknown name, a build
// without CUDA, no usable device, out of memory. cuda: GPU local_rank (the process's place on its
// node; 0 for one process), or the one GPU the process sees when CUDA_VISIBLE_DEVICES bound it;
// a local rank past the node's GPUs is an error.
dy_backend *dy_backend_create(const char *device, int local_rank, dy_error *err);

// The CPU backend (fp32, OpenMP over rows/heads).
dy_backend *dy_backend_cpu_create(void);
// The CPU backend with bf16 storage, the twin of the CUDA backend's numerics: the same fp32 ops,
// with every value the CUDA backend stores in bf16 (weights, activations between ops, the KV
// cache) rounded to bf16 where it is stored, in fp32 memory (act_dtype DY_F32); logits, capture
// rows and the bias stay fp32 as on the GPU. kernels/cpu/backend_cpu_bf16.c lists the places.
dy_backend *dy_backend_cpu_bf16_create(void);

#ifdef DYSCO_HAVE_CUDA
// The CUDA backend on one device (bf16 weights, activations and KV cache; fp32 math inside the
// ops); NULL with err set when the device is missing or unusable. The ops run on the calling
// thread's current device, which create() sets.
dy_backend *dy_backend_cuda_create(int device, dy_error *err);
// Median seconds of a one-row (1, in) @ (out_features, in)^T product through the backend's GEMV
// and through cuBLASLt, on fresh device data (`dysco bench`); -1 when out of memory.
int dy_cuda_time_gemv(dy_backend *b, int64_t out_features, int64_t in, int reps, double *gemv_seconds,
                      double *cublaslt_seconds);
// What the CUDA backend's scratch_bytes gives, without a device (dysco inspect's plan).
size_t dy_backend_cuda_scratch_bytes(const dy_op_limits *limits);
#endif

#ifdef __cplusplus
}
#endif

#endif

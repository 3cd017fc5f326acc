// The CUDA backend's ops, wired into the dy_backend vtable by backend_cuda.cu, and the state they
// share. Weights, activations and the KV cache are bf16; every view an op gets is bf16 except a
// matmul output, which may be fp32 (the logits). Math inside the ops is fp32 and each output is
// rounded to bf16 once. Everything runs on the backend's one stream, in call order, so an op may
// use scratch the previous op used; download waits for all of it. The stream is not the legacy
// default stream because only other streams can be recorded into graphs.
#ifndef DYSCO_OPS_CUDA_H
#define DYSCO_OPS_CUDA_H

#include <assert.h>
#include <cuda_bf16.h>

#include "cuda_check.h"
#include "kernels/backend.h"

// One cached cuBLASLt problem: the shape, strides, output dtype and pointer alignments it was
// chosen for (the heuristic's choice depends on all of them), its descriptors and algorithm.
typedef struct {
    int64_t n, in, out_features, x_stride, w_stride, out_stride;
    dy_dtype out_dtype;
    uint32_t align_x, align_w, align_out;  // bytes, powers of two up to 256
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d;
    cublasLtMatmulAlgo_t algo;
} dy_cuda_matmul_plan;

// A model uses a few dozen problems (per layer type and prefill chunk size); a full table
// replaces its entries round-robin.
constexpr int DY_CUDA_MATMUL_PLANS = 128;
constexpr int64_t DY_CUDA_STAGING = 1 << 22;  // bf16 values in each of the weight uploads' staging buffers (8 MiB)

typedef struct {
    cudaStream_t stream;
    int n_sms;  // streaming multiprocessors: how many blocks keep the GPU busy
    cublasLtHandle_t lt;
    cublasLtMatmulPreference_t pref;  // workspace limit; alignments set per heuristic query
    void *workspace;                  // cuBLASLt workspace (device), workspace_bytes
    size_t workspace_bytes;
    dy_cuda_matmul_plan plans[DY_CUDA_MATMUL_PLANS];
    int n_plans, next_evict;
    // Weight uploads alternate between two pinned host buffers of DY_CUDA_STAGING values: one is
    // filled while the other's copy runs; staged[i] marks the end of buffer i's last copy.
    uint16_t *staging[2];
    cudaEvent_t staged[2];
    void *moe_scratch;  // device, sized by prepare()
    size_t moe_scratch_bytes;
    float *splits;      // device, decode attention's per-split partial results, sized by prepare()
    size_t splits_bytes;
    void *dysco_update_scratch, *dysco_select_scratch;  // device, sized by prepare() for limits->max_ctx
    size_t dysco_update_scratch_bytes, dysco_select_scratch_bytes;
    int decode_blocks_per_sm[3][4];  // decode attention's occupancy per (head_dim, group) instance; 0: not asked yet
} dy_cuda_impl;

static inline dy_cuda_impl *dy_cuda_impl_of(dy_backend *b) { return (dy_cuda_impl *)b->impl; }
static inline cudaStream_t dy_cuda_stream(dy_backend *b) { return dy_cuda_impl_of(b)->stream; }

// The elements of a bf16 view.
static inline __nv_bfloat16 *dy_bf16_data(const dy_view *v) {
    assert(v->dtype == DY_BF16);
    return (__nv_bfloat16 *)v->data;
}

// Kernels are launched with programmatic dependent launch (Hopper): each kernel lets the next
// one on the stream be scheduled as soon as all of its own blocks have started, and the next one
// waits for this one's completion (and memory) in dy_cuda_wait_previous() before it reads or
// writes anything another kernel touches. In a recorded decode step this hides most of the
// launch gap between a few hundred short kernels, and lets a GEMV stream its first weights
// (which no kernel writes) while the kernel before it finishes. Every kernel launched through
// dy_cuda_launch must call dy_cuda_wait_previous() before touching shared data; outside such a
// launch both instructions are no-ops. Completion is transitive: a kernel completes only after
// its own wait, so waiting for the previous kernel also covers every earlier one.
static __device__ __forceinline__ void dy_cuda_wait_previous() {
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
    asm volatile("griddepcontrol.wait;" ::: "memory");
}

template <typename... Params, typename... Args>
static void dy_cuda_launch(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream, Args... args) {
    cudaLaunchAttribute attribute;
    attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attribute.val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t config = {};
    config.gridDim = grid;
    config.blockDim = block;
    config.stream = stream;
    config.attrs = &attribute;
    config.numAttrs = 1;
    CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, ((Params)args)...));
}

// The sum of v over the warp, returned to every lane.
static __device__ __forceinline__ float dy_cuda_warp_sum(float v) {
    for (int offset = 16; offset; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// op(v) over the block of kThreads threads, returned to every thread; scratch holds kThreads / 32
// floats. It may be called again right away (it waits for the previous call's readers).
template <int kThreads, typename Op>
static __device__ float dy_cuda_block_reduce(float v, float *scratch, Op op) {
    for (int offset = 16; offset; offset >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
    __syncthreads();
    if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = v;
    __syncthreads();
    v = scratch[0];
    for (int w = 1; w < kThreads / 32; w++) v = op(v, scratch[w]);
    return v;
}

// torch's fp32 silu, as the CPU twin computes it: x / (1 + exp(-x)).
static __device__ __forceinline__ float dy_cuda_silu(float x) { return x / (1.0f + expf(-x)); }

// Blocks of `per_block` covering n items.
static inline unsigned dy_cuda_blocks(int64_t n, int per_block) { return (unsigned)((n + per_block - 1) / per_block); }

// The matmul plan table's descriptors (destroy()).
void dy_cuda_matmul_plans_free(dy_cuda_impl *impl);
// What moe needs for n rows; moe carves it from impl->moe_scratch.
size_t dy_cuda_moe_scratch_bytes(int64_t n, int64_t hidden, int64_t inter, int n_experts);
// What decode attention needs for n_heads query heads of head_dim (impl->splits), and setting
// up that scratch once it is allocated.
size_t dy_cuda_attention_scratch_bytes(int n_heads, int head_dim);
void dy_cuda_attention_scratch_init(dy_backend *b);

// What the DySCO ops need for importance vectors of up to max_ctx entries, and setting up the
// selection's scratch once it is allocated (its counters and histograms start at zero).
size_t dy_cuda_dysco_update_scratch_bytes(int64_t max_ctx);
size_t dy_cuda_dysco_select_scratch_bytes(int64_t max_ctx);
void dy_cuda_dysco_select_scratch_init(dy_backend *b);

void dy_cuda_embedding(dy_backend *b, const dy_view *table, const int32_t *ids, dy_view *out);
void dy_cuda_add_rmsnorm(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                         dy_view *out);
void dy_cuda_matmul(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
// The GEMV path of matmul: one row of x, 16-byte aligned rows whose length is a multiple of 8.
bool dy_cuda_gemv_fits(const dy_view *x, const dy_view *w, const dy_view *out);
void dy_cuda_gemv(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
// The GEMV of a stacked (2 * inter, in) gate/up matrix with the SwiGLU: out[:, :inter] = silu(gate) * up.
void dy_cuda_gemv_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
// matmul through cuBLASLt whatever the shape (the GEMV comparison in `dysco bench`).
void dy_cuda_matmul_cublaslt(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
void dy_cuda_attention_inputs(dy_backend *b, const dy_attention_inputs *a);
void dy_cuda_attention(dy_backend *b, const dy_attention_args *a);
// Query `row` of a alone, split over its keys; also writes the capture rows.
void dy_cuda_attention_decode(dy_backend *b, const dy_attention_args *a, int row);
// out may be gate or up itself (MoE experts run it in place).
void dy_cuda_swiglu(dy_backend *b, const dy_view *gate, const dy_view *up, dy_view *out);
void dy_cuda_gate_up_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
void dy_cuda_moe(dy_backend *b, const dy_view *x, const dy_view *router, const dy_mlp_weights *experts, int n_experts,
                 int experts_per_token, bool norm_topk, dy_view *out);
void dy_cuda_pick(dy_backend *b, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out);
void dy_cuda_dysco_update(dy_backend *b, const dy_dysco_update_args *a);
void dy_cuda_dysco_head_sum(dy_backend *b, const dy_dysco_head_sum_args *a);
void dy_cuda_accumulate_rows(dy_backend *b, const float *rows, int64_t stride, int n_rows, int64_t n_cols,
                             double weight, double *acc);
void dy_cuda_dysco_select(dy_backend *b, const dy_dysco_select_args *a);

#endif

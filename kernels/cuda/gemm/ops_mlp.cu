// The token embedding, SwiGLU and the Qwen3-MoE sparse block.
//
// MoE, simplest correct form: the router logits come from the matmul (fp32 output), one thread
// per token turns its row into dense expert weights on the device (fp32 softmax, top-k by
// kernels/moe_route.h, so ties go to the lower index as on the CPU, optional renormalisation
// over an fp32 sum; 0 for experts not chosen), and then EVERY expert runs on EVERY token in
// ascending index order, its fp32 output added to an fp32 accumulator with the token's weight
// where the token chose it.
// No host sync anywhere. The cost: n_experts / experts_per_token times the routed FLOPs (16x for
// Qwen3-30B-A3B) and 3 * n_experts matmuls per layer even for one token; a routed kernel that
// reads the choices on the device replaces this when speed matters.
#include "kernels/cuda/common/ops_cuda.h"
#include "kernels/moe_route.h"

static constexpr int kThreads = 256;

// Block (r, cb): row r, columns cb * kThreads + threadIdx.x.
static __global__ void embedding_kernel(const __nv_bfloat16 *table, int64_t table_stride, const int32_t *ids,
                                        __nv_bfloat16 *out, int64_t out_stride, int64_t cols) {
    dy_cuda_wait_previous();
    const int64_t c = (int64_t)blockIdx.y * kThreads + threadIdx.x;
    if (c < cols) out[blockIdx.x * out_stride + c] = table[(int64_t)ids[blockIdx.x] * table_stride + c];
}

void dy_cuda_embedding(dy_backend *b, const dy_view *table, const int32_t *ids, dy_view *out) {
    assert(table->cols == out->cols);
    if (out->rows == 0) return;
    const dim3 grid((unsigned)out->rows, dy_cuda_blocks(out->cols, kThreads));
    dy_cuda_launch(embedding_kernel, grid, kThreads, dy_cuda_stream(b), (const __nv_bfloat16 *)dy_bf16_data(table),
                   table->stride, ids, dy_bf16_data(out), out->stride, out->cols);
}


// Block (r, cb) as in embedding. Each element is read before it is written by the same thread,
// so out may be gate or up.
static __global__ void swiglu_kernel(const __nv_bfloat16 *gate, int64_t gate_stride, const __nv_bfloat16 *up,
                                     int64_t up_stride, __nv_bfloat16 *out, int64_t out_stride, int64_t cols) {
    dy_cuda_wait_previous();
    const int64_t c = (int64_t)blockIdx.y * kThreads + threadIdx.x;
    if (c >= cols) return;
    const float g = __bfloat162float(gate[blockIdx.x * gate_stride + c]);
    const float u = __bfloat162float(up[blockIdx.x * up_stride + c]);
    out[blockIdx.x * out_stride + c] = __float2bfloat16(dy_cuda_silu(g) * u);
}

void dy_cuda_swiglu(dy_backend *b, const dy_view *gate, const dy_view *up, dy_view *out) {
    assert(gate->rows == out->rows && up->rows == out->rows && gate->cols == out->cols && up->cols == out->cols);
    if (out->rows == 0) return;
    const dim3 grid((unsigned)out->rows, dy_cuda_blocks(out->cols, kThreads));
    dy_cuda_launch(swiglu_kernel, grid, kThreads, dy_cuda_stream(b), (const __nv_bfloat16 *)dy_bf16_data(gate),
                   gate->stride, (const __nv_bfloat16 *)dy_bf16_data(up), up->stride, dy_bf16_data(out), out->stride,
                   out->cols);
}

void dy_cuda_gate_up_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    assert(out->cols == w->rows && w->rows % 2 == 0);
    if (dy_cuda_gemv_fits(x, w, out)) {  // one row: one launch, gate and up never stored
        dy_cuda_gemv_swiglu(b, x, w, out);
        return;
    }
    dy_cuda_matmul(b, x, w, out);
    const int64_t inter = w->rows / 2;
    dy_view gate = *out, up = *out;
    gate.cols = up.cols = inter;
    up.data = dy_bf16_data(out) + inter;
    dy_cuda_swiglu(b, &gate, &up, &gate);
}

// ---- MoE -------------------------------------------------------------------------------------

static constexpr int kMaxExpertsPerToken = 32;

// Thread t: token t's router logits (n_experts) become its dense expert weights in place.
static __global__ void route_kernel(float *logits, int64_t n, int n_experts, int experts_per_token, bool norm_topk) {
    const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n) return;
    float *p = logits + t * n_experts;
    float max = p[0], sum = 0.0f;
    for (int e = 1; e < n_experts; e++) max = fmaxf(max, p[e]);
    for (int e = 0; e < n_experts; e++) sum += expf(p[e] - max);
    for (int e = 0; e < n_experts; e++) p[e] = expf(p[e] - max) / sum;
    int32_t chosen[kMaxExpertsPerToken];
    float weight[kMaxExpertsPerToken], picked = 0.0f;
    dy_moe_choose(p, n_experts, experts_per_token, chosen, weight);
    for (int k = 0; k < experts_per_token; k++) picked += weight[k];
    for (int e = 0; e < n_experts; e++) p[e] = 0.0f;
    for (int k = 0; k < experts_per_token; k++) p[chosen[k]] = norm_topk ? weight[k] / picked : weight[k];
}

// acc (n, hidden) += weights[:, e] * y (n, hidden), skipping tokens that did not choose e (so an
// expert's output never reaches a token that did not pick it, not even as 0 * inf).
static __global__ void accumulate_kernel(float *acc, const float *y, const float *weights, int n_experts, int e,
                                         int64_t hidden) {
    const int64_t c = (int64_t)blockIdx.y * kThreads + threadIdx.x, t = blockIdx.x;
    const float w = weights[t * n_experts + e];
    if (c < hidden && w != 0.0f) acc[t * hidden + c] += w * y[t * hidden + c];
}

static __global__ void store_kernel(const float *acc, __nv_bfloat16 *out, int64_t out_stride, int64_t hidden) {
    const int64_t c = (int64_t)blockIdx.y * kThreads + threadIdx.x, t = blockIdx.x;
    if (c < hidden) out[t * out_stride + c] = __float2bfloat16(acc[t * hidden + c]);
}

// Scratch for n tokens, each part 256-byte aligned (cuBLASLt's preferred alignment): router
// logits / weights (n, n_experts) fp32, gate and up (n, inter) bf16, one expert's output and the
// accumulator (n, hidden) fp32.
static size_t part(size_t bytes) { return (bytes + 255) / 256 * 256; }

size_t dy_cuda_moe_scratch_bytes(int64_t n, int64_t hidden, int64_t inter, int n_experts) {
    return part((size_t)(n * n_experts) * 4) + 2 * part((size_t)(n * inter) * 2) + 2 * part((size_t)(n * hidden) * 4);
}

void dy_cuda_moe(dy_backend *b, const dy_view *x, const dy_view *router, const dy_mlp_weights *experts, int n_experts,
                 int experts_per_token, bool norm_topk, dy_view *out) {
    const int64_t n = x->rows, hidden = x->cols, inter = experts[0].gate.rows;
    assert(router->rows == n_experts && router->cols == hidden && out->rows == n && out->cols == hidden);
    assert(experts_per_token >= 1 && experts_per_token <= n_experts && experts_per_token <= kMaxExpertsPerToken);
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    assert(dy_cuda_moe_scratch_bytes(n, hidden, inter, n_experts) <= impl->moe_scratch_bytes);  // prepare() sized it
    if (n == 0) return;
    char *s = (char *)impl->moe_scratch;
    float *weights = (float *)s;
    s += part((size_t)(n * n_experts) * 4);
    dy_view gate = {s, DY_BF16, n, inter, inter};
    s += part((size_t)(n * inter) * 2);
    dy_view up = {s, DY_BF16, n, inter, inter};
    s += part((size_t)(n * inter) * 2);
    dy_view y = {s, DY_F32, n, hidden, hidden};
    float *acc = (float *)(s + part((size_t)(n * hidden) * 4));

    dy_view logits = {weights, DY_F32, n, n_experts, n_experts};
    dy_cuda_matmul(b, x, router, &logits);
    route_kernel<<<dy_cuda_blocks(n, 128), 128, 0, dy_cuda_stream(b)>>>(weights, n, n_experts, experts_per_token, norm_topk);
    CUDA_CHECK_LAUNCH();
    CUDA_CHECK(cudaMemsetAsync(acc, 0, (size_t)(n * hidden) * sizeof(float), dy_cuda_stream(b)));
    const dim3 grid((unsigned)n, dy_cuda_blocks(hidden, kThreads));
    for (int e = 0; e < n_experts; e++) {
        dy_cuda_matmul(b, x, &experts[e].gate, &gate);
        dy_cuda_matmul(b, x, &experts[e].up, &up);
        dy_cuda_swiglu(b, &gate, &up, &gate);
        dy_cuda_matmul(b, &gate, &experts[e].down, &y);
        accumulate_kernel<<<grid, kThreads, 0, dy_cuda_stream(b)>>>(acc, (const float *)y.data, weights, n_experts, e, hidden);
        CUDA_CHECK_LAUNCH();
    }
    store_kernel<<<grid, kThreads, 0, dy_cuda_stream(b)>>>(acc, dy_bf16_data(out), out->stride, hidden);
    CUDA_CHECK_LAUNCH();
}

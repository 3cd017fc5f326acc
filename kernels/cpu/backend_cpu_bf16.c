// The CPU backend with bf16 storage (dy_backend_cpu_bf16_create): the twin the CUDA backend's
// outputs are compared with, since bf16 storage alone moves a random-weight model's logits by a
// few tenths of a percent and flips its near-ties. It is the CPU backend with some entries of its
// vtable replaced: each runs the fp32 CPU op, then rounds to bf16 (round to nearest even, as
// cuda_upload_weight and __float2bfloat16 do) what the CUDA op stores in bf16. The memory stays
// fp32 (act_dtype DY_F32), holding bf16 values. Where the CUDA backend stores bf16 (kernels/cuda):
//   upload_weight     every weight (common/backend_cuda.cu)
//   embedding         the rows, copies of the bf16 table (gemm/ops_mlp.cu)
//   add_rmsnorm       the residual after += delta, which the norm then reads; the norm (norm/ops_norm.cu)
//   matmul            the output (GEMV and cuBLASLt into a bf16 view); lm_head keeps the fp32 logits
//   attention_inputs  q and k after norm + RoPE, and the k and v rows in the cache (attention/attention_inputs.cu)
//   attention         the output; the captured probabilities stay fp32 (attention/*.cu)
//   gate_up_swiglu    silu(gate) * up; with several rows also the gate and up products, which the
//                     GPU's cuBLASLt GEMM stores before its SwiGLU kernel (one row: the fused GEMV
//                     keeps them in registers) (gemm/ops_mlp.cu, gemm/ops_gemv.cu)
//   moe               each expert's gate, up and SwiGLU values (inside the CPU op, through
//                     dy_cpu_impl.bf16_storage; the GPU stores them on its one-row GEMV path and
//                     its cuBLASLt path alike) and the output, rounded once; the router logits,
//                     probabilities and routing weights, the expert down products and their
//                     weighted sum (the GPU's fp32 accumulator, experts in index order) stay fp32
//                     (gemm/ops_mlp.cu)
// Not reproduced: the tensor-core prefill attention (head_dim 64 or 128) rounds its softmax
// probabilities to bf16 before multiplying them with V, inside one CPU loop that keeps them in
// double (the tiny presets' head_dim 32 takes the GPU's fp32 kernel instead). The arithmetic
// inside the ops differs too (the GPU sums in fp32 in its own order, the CPU in double; the MoE
// router's softmax and renormalisation likewise; the GPU's MoE accumulator adds w * y as one fused
// multiply-add, the CPU rounds the product first). A MoE routing whose margin
// (dy_backend.moe_record_margins) is below those differences can go another way on the GPU.
#include <string.h>

#include "ops_cpu.h"
#include "scratch.h"

// The first cols values of each row of v, rounded to bf16 in place.
static void round_cols(const dy_view *v, int64_t cols) {
    for (int64_t r = 0; r < v->rows; r++) {
        float *row = (float *)v->data + r * v->stride;
        for (int64_t c = 0; c < cols; c++) row[c] = dy_bf16_round(row[c]);
    }
}

static void round_view(const dy_view *v) { round_cols(v, v->cols); }

static void upload_weight(dy_backend *b, const dy_view *dst, const float *host_src) {
    dy_cpu_upload_weight(b, dst, host_src);
    round_view(dst);
}

// bf16 values widened into the fp32 memory: exact, so nothing is left to round. Rows in
// parallel, as the CPU backend's raw upload does.
static void upload_weight_raw(dy_backend *b, const dy_view *dst, const void *host_src, int64_t src_stride) {
    (void)b;
    const uint8_t *src = host_src;
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < dst->rows; r++) {
        float *row = (float *)dst->data + r * dst->stride;
        const uint8_t *from = src + r * src_stride * 2;
        for (int64_t c = 0; c < dst->cols; c++) {
            uint16_t h;
            memcpy(&h, from + 2 * c, 2);  // the mapping gives no alignment guarantee
            row[c] = dy_bf16_to_f32(h);
        }
    }
}

static void embedding(dy_backend *b, const dy_view *table, const int32_t *ids, dy_view *out) {
    dy_cpu_embedding(b, table, ids, out);
    round_view(out);
}

// The CPU op adds and normalises in one pass, so with a delta it runs twice: the first call's
// sum is rounded as the GPU stores it, and the second normalises that stored residual.
static void add_rmsnorm(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                        dy_view *out) {
    if (delta) {
        dy_cpu_add_rmsnorm(b, residual, delta, w, eps, out);
        round_view(residual);
    }
    dy_cpu_add_rmsnorm(b, residual, NULL, w, eps, out);
    round_view(out);
}

static void matmul(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    dy_cpu_matmul(b, x, w, out);
    round_view(out);
}

// The K or V rows of every KV head at the pass's positions in one layer's cache.
static void round_cache_rows(const dy_attention_inputs *a, void *cache) {
    for (int64_t r = 0; r < a->k->rows; r++)
        for (int h = 0; h < a->n_kv_heads; h++) {
            const dy_view row = {(float *)cache + ((int64_t)h * a->max_ctx + a->positions[r]) * a->head_dim, DY_F32,
                                 1, a->head_dim, a->head_dim};
            round_view(&row);
        }
}

static void attention_inputs(dy_backend *b, const dy_attention_inputs *a) {
    dy_cpu_attention_inputs(b, a);
    if (a->n_heads) round_cols(a->q, (int64_t)a->n_heads * a->head_dim);
    if (!a->n_kv_heads) return;
    round_cols(a->k, (int64_t)a->n_kv_heads * a->head_dim);
    round_cache_rows(a, a->k_cache);
    round_cache_rows(a, a->v_cache);
}

static void attention(dy_backend *b, const dy_attention_args *a) {
    dy_cpu_attention(b, a);
    round_view(a->out);
}

// Whether the CUDA backend's gate_up_swiglu takes its fused GEMV: the shape test of
// dy_cuda_gemv_fits (its 16-byte address test holds for the model's buffers, which each start an
// allocation).
static bool gpu_fuses_gate_up(const dy_view *x, const dy_view *w) {
    return x->rows == 1 && x->cols % 8 == 0 && w->stride % 8 == 0;
}

static void gate_up_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out) {
    if (gpu_fuses_gate_up(x, w)) {
        dy_cpu_gate_up_swiglu(b, x, w, out);
    } else {
        matmul(b, x, w, out);  // the gate and up products, stored
        dy_cpu_swiglu_gate_up(out);
    }
    round_cols(out, out->cols / 2);  // the SwiGLU half; the other is scratch
}

static void moe(dy_backend *b, const dy_view *x, const dy_view *router, const dy_mlp_weights *experts, int n_experts,
                int experts_per_token, bool norm_topk, dy_view *out) {
    dy_cpu_moe(b, x, router, experts, n_experts, experts_per_token, norm_topk, out);
    round_view(out);
}

dy_backend *dy_backend_cpu_bf16_create(void) {
    dy_backend *b = dy_backend_cpu_create();
    if (!b) return NULL;
    ((dy_cpu_impl *)b->impl)->bf16_storage = true;
    b->name = "cpu-bf16";
    b->upload_weight = upload_weight;
    b->weight_dtype = DY_BF16;
    b->upload_weight_raw = upload_weight_raw;
    b->embedding = embedding;
    b->add_rmsnorm = add_rmsnorm;
    b->matmul = matmul;  // lm_head stays the CPU's: fp32 logits
    b->attention_inputs = attention_inputs;
    b->attention = attention;
    b->gate_up_swiglu = gate_up_swiglu;
    b->moe = moe;
    return b;
}

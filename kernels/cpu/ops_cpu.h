// The CPU backend's ops, wired into the dy_backend vtable by backend_cpu.c. Every view and
// pointer is fp32 (or int32) host memory; an output never aliases an input unless the op says so.
// Reductions that are cheap to widen (norms, dot products, softmax) run in double, so these ops
// are the reference the GPU backend and Hugging Face fp32 dumps are measured against.
#ifndef DYSCO_OPS_CPU_H
#define DYSCO_OPS_CPU_H

#include "kernels/backend.h"

// What moe needs for n rows.
size_t dy_cpu_moe_scratch_bytes(int64_t n, int64_t hidden, int64_t inter, int n_experts, int experts_per_token);
// What pick needs for vocab logits (a sortable copy).
size_t dy_cpu_pick_scratch_bytes(int64_t vocab);

// 1 / sqrt(mean(x^2) + eps) for x (n): the mean of squares summed in double, then rounded to
// fp32 and finished in fp32 as torch does (variance + eps, rsqrt).
float dy_cpu_rms_scale(const float *x, int64_t n, float eps);

// out (n, out_features) = x (n, in) @ w (out_features, in)^T on raw rows (strides in elements);
// each dot product accumulates in double in index order.
void dy_cpu_matmul_rows(const float *x, int64_t x_stride, const float *w, int64_t w_stride, float *out,
                        int64_t out_stride, int64_t n, int64_t in, int64_t out_features);

// Stores a host fp32 matrix (rows, cols) at dst's stride.
void dy_cpu_upload_weight(dy_backend *b, const dy_view *dst, const float *host_src);
void dy_cpu_embedding(dy_backend *b, const dy_view *table, const int32_t *ids, dy_view *out);
void dy_cpu_add_rmsnorm(dy_backend *b, dy_view *residual, const dy_view *delta, const dy_view *w, float eps,
                        dy_view *out);
void dy_cpu_matmul(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
void dy_cpu_attention_inputs(dy_backend *b, const dy_attention_inputs *a);
void dy_cpu_attention(dy_backend *b, const dy_attention_args *a);
// out may be gate or up itself (the model runs it in place).
void dy_cpu_gate_up_swiglu(dy_backend *b, const dy_view *x, const dy_view *w, dy_view *out);
// gate_up_swiglu's second half, in place: gate_up (n, 2 * inter) holds the gate product over the
// up product per row; its first inter columns become silu(gate) * up, the rest is left as it is.
void dy_cpu_swiglu_gate_up(dy_view *gate_up);
void dy_cpu_moe(dy_backend *b, const dy_view *x, const dy_view *router, const dy_mlp_weights *experts, int n_experts,
                int experts_per_token, bool norm_topk, dy_view *out);
// Where dy_cpu_moe records its routing margins (dy_backend.moe_record_margins); the twin's moe
// runs the same op, so both CPU backends record the same way.
void dy_cpu_moe_record_margins(dy_backend *b, float *margins);
void dy_cpu_accumulate_rows(dy_backend *b, const float *rows, int64_t stride, int n_rows, int64_t n_cols, double weight,
                            double *acc);
void dy_cpu_pick(dy_backend *b, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out);

#endif

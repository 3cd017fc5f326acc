// The CPU backend: fp32 activations, weights and KV cache in ordinary host memory, so upload and
// download are copies and every op finishes before it returns.
#include <stdlib.h>
#include <string.h>

#include "kernels/base/huge_pages.h"
#include "ops_cpu.h"
#include "scratch.h"

// 64-byte aligned (a cache line, any SIMD width). A request for 0 bytes gets a valid pointer like
// any other, to release as usual, so NULL always means out of memory. posix_memalign rather than
// aligned_alloc: it takes the exact size, so ASan sees the exact end of each buffer. Huge pages:
// the first touch of a model's weights (gigabytes) is otherwise a page fault per 4 KiB, which
// was most of a CPU load's time.
static void *cpu_alloc(dy_backend *b, size_t bytes) {
    (void)b;
    void *p;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) return NULL;
    dy_advise_huge_pages(p, bytes);
    return p;
}

static void cpu_release(dy_backend *b, void *p) {
    (void)b;
    free(p);
}

// memcpy needs valid pointers even for 0 bytes, which callers may not pass.
static void cpu_copy(dy_backend *b, void *dst, const void *src, size_t bytes) {
    (void)b;
    if (bytes) memcpy(dst, src, bytes);
}

// Every CPU op has finished when it returns.
static void cpu_finish(dy_backend *b) { (void)b; }

void dy_cpu_upload_weight(dy_backend *b, const dy_view *dst, const float *host_src) {
    (void)b;
    for (int64_t r = 0; r < dst->rows; r++)
        memcpy((float *)dst->data + r * dst->stride, host_src + r * dst->cols, (size_t)dst->cols * sizeof(float));
}

// Rows in parallel: the first touch of a fresh weight allocation (its page faults) is most of a
// CPU load's time, and it spreads over the threads.
static void cpu_upload_weight_raw(dy_backend *b, const dy_view *dst, const void *host_src, int64_t src_stride) {
    (void)b;
    const float *src = host_src;  // only memcpy reads it: any alignment
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < dst->rows; r++)
        memcpy((float *)dst->data + r * dst->stride, src + r * src_stride, (size_t)dst->cols * sizeof(float));
}

static void cpu_destroy(dy_backend *b) {
    dy_cpu_scratch_free(b);
    free(b->impl);
    free(b);
}

// One buffer serves the MoE and pick ops (never running at once).
static size_t cpu_scratch_bytes(dy_backend *b, const dy_op_limits *l) {
    (void)b;
    const size_t moe = l->n_experts ? dy_cpu_moe_scratch_bytes(l->max_rows, l->hidden, l->intermediate, l->n_experts, l->experts_per_token) : 0;
    const size_t pick = dy_cpu_pick_scratch_bytes(l->vocab);
    return moe > pick ? moe : pick;
}

static int cpu_prepare(dy_backend *b, const dy_op_limits *l) { return dy_cpu_scratch_reserve(b, cpu_scratch_bytes(b, l)); }

dy_backend *dy_backend_cpu_create(void) {
    dy_backend *b = calloc(1, sizeof *b);
    dy_cpu_impl *impl = calloc(1, sizeof *impl);
    if (!b || !impl) {
        free(b);
        free(impl);
        return NULL;
    }
    *b = (dy_backend){
        .name = "cpu",
        .prepare = cpu_prepare,
        .scratch_bytes = cpu_scratch_bytes,
        .act_dtype = DY_F32,
        .impl = impl,
        .alloc = cpu_alloc,
        .release = cpu_release,
        .upload = cpu_copy,
        .download = cpu_copy,
        .copy = cpu_copy,
        .finish = cpu_finish,
        .upload_weight = dy_cpu_upload_weight,
        .weight_dtype = DY_F32,
        .upload_weight_raw = cpu_upload_weight_raw,
        .destroy = cpu_destroy,
        .embedding = dy_cpu_embedding,
        .add_rmsnorm = dy_cpu_add_rmsnorm,
        .matmul = dy_cpu_matmul,
        .lm_head = dy_cpu_matmul,
        .attention_inputs = dy_cpu_attention_inputs,
        .accumulate_rows = dy_cpu_accumulate_rows,
        .attention = dy_cpu_attention,
        .gate_up_swiglu = dy_cpu_gate_up_swiglu,
        .moe = dy_cpu_moe,
        .moe_record_margins = dy_cpu_moe_record_margins,
        .pick = dy_cpu_pick,
    };
    return b;
}

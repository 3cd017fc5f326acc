// The CUDA backend: bf16 weights, activations and KV cache in device memory on one GPU, ops on
// one stream of its own (kernels/cuda/ops_*.cu). upload and copy are ordered on that stream;
// download waits for it. create() sets the device and makes the stream, the cuBLASLt handle and
// workspace; prepare() sizes the MoE scratch, decode attention's split results and the DySCO ops'
// scratch (scratch_bytes counts them all for the memory plan). Graphs are recorded by stream capture.
#include <stdlib.h>
#include <string.h>

#include "ops_cuda.h"

static const size_t kWorkspaceBytes = 32u << 20;  // what NVIDIA recommends for cuBLASLt on Hopper

// cudaMalloc has 256-byte alignment. Out of memory is the one failure the caller handles (NULL);
// it is cleared so the next error check does not see it.
static void *cuda_alloc(dy_backend *b, size_t bytes) {
    (void)b;
    void *p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes ? bytes : 1);  // 0 bytes still gets a pointer of its own
    if (e == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return nullptr;
    }
    CUDA_CHECK(e);
    return p;
}

static void cuda_release(dy_backend *b, void *p) {
    (void)b;
    CUDA_CHECK(cudaFree(p));
}

// Callers may pass invalid pointers with 0 bytes. From pageable host memory the copy has taken
// the caller's bytes when it returns, so host_src may change right after.
static void cuda_upload(dy_backend *b, void *dst, const void *host_src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, dy_cuda_stream(b)));
}

static void cuda_download(dy_backend *b, void *host_dst, const void *src, size_t bytes) {
    if (!bytes) return;
    CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, dy_cuda_stream(b)));
    CUDA_CHECK(cudaStreamSynchronize(dy_cuda_stream(b)));
}

static void cuda_finish(dy_backend *b) { CUDA_CHECK(cudaStreamSynchronize(dy_cuda_stream(b))); }

static void cuda_copy(dy_backend *b, void *dst, const void *src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, dy_cuda_stream(b)));
}

// Fills out (nr, nc), packed, with the bf16 values of rows [r0, r0 + nr) x columns [c0, c0 + nc)
// of a host matrix whose rows are src_stride elements apart.
typedef void (*staging_fill)(const void *src, int64_t src_stride, int64_t r0, int64_t nr, int64_t c0, int64_t nc,
                             uint16_t *out);

// fp32 -> bf16, round to nearest even (as torch casts).
static void fill_narrowed(const void *src, int64_t src_stride, int64_t r0, int64_t nr, int64_t c0, int64_t nc,
                          uint16_t *out) {
    const float *f = (const float *)src;
    for (int64_t r = 0; r < nr; r++)
        for (int64_t c = 0; c < nc; c++) out[r * nc + c] = dy_f32_to_bf16(f[(r0 + r) * src_stride + c0 + c]);
}

// bf16 as it is: one memcpy per row (the source may be a checkpoint's unaligned mapping).
static void fill_raw(const void *src, int64_t src_stride, int64_t r0, int64_t nr, int64_t c0, int64_t nc,
                     uint16_t *out) {
    const uint8_t *bytes = (const uint8_t *)src;
    for (int64_t r = 0; r < nr; r++)
        memcpy(out + r * nc, bytes + ((r0 + r) * src_stride + c0) * 2, (size_t)nc * 2);
}

// A host matrix of dst's shape into dst's row stride, through the pinned staging buffers in blocks
// of at most DY_CUDA_STAGING values (whole rows when they fit). The two buffers alternate: the
// host fills one while the other's copy runs, after waiting for that buffer's previous copy.
// Returns once the last copy has finished, so the caller's source may change right after.
static void staged_upload(dy_backend *b, const dy_view *dst, const void *src, int64_t src_stride, staging_fill fill) {
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    uint16_t *base = (uint16_t *)dy_bf16_data(dst);
    const int64_t rows = dst->rows, cols = dst->cols;
    const int64_t block_cols = cols < DY_CUDA_STAGING ? cols : DY_CUDA_STAGING;
    const int64_t block_rows = block_cols ? (DY_CUDA_STAGING / block_cols) : 1;
    int next = 0;
    for (int64_t r0 = 0; r0 < rows; r0 += block_rows)
        for (int64_t c0 = 0; c0 < cols; c0 += block_cols) {
            const int64_t nr = rows - r0 < block_rows ? rows - r0 : block_rows;
            const int64_t nc = cols - c0 < block_cols ? cols - c0 : block_cols;
            CUDA_CHECK(cudaEventSynchronize(impl->staged[next]));  // its previous copy has read it
            fill(src, src_stride, r0, nr, c0, nc, impl->staging[next]);
            CUDA_CHECK(cudaMemcpy2DAsync(base + r0 * dst->stride + c0, (size_t)dst->stride * 2, impl->staging[next],
                                         (size_t)nc * 2, (size_t)nc * 2, (size_t)nr, cudaMemcpyHostToDevice,
                                         impl->stream));
            CUDA_CHECK(cudaEventRecord(impl->staged[next], impl->stream));
            next ^= 1;
        }
    CUDA_CHECK(cudaStreamSynchronize(impl->stream));
}

static void cuda_upload_weight(dy_backend *b, const dy_view *dst, const float *host_src) {
    staged_upload(b, dst, host_src, dst->cols, fill_narrowed);
}

static void cuda_upload_weight_raw(dy_backend *b, const dy_view *dst, const void *host_src, int64_t src_stride) {
    staged_upload(b, dst, host_src, src_stride, fill_raw);
}

// Grows *scratch to at least bytes; -1 when out of memory.
static int grow(dy_backend *b, void **scratch, size_t *have, size_t bytes) {
    if (bytes <= *have) return 0;
    void *grown = cuda_alloc(b, bytes);
    if (!grown) return -1;
    if (*scratch) cuda_release(b, *scratch);
    *scratch = grown;
    *have = bytes;
    return 0;
}

static size_t moe_scratch_bytes(const dy_op_limits *l) {
    return l->n_experts ? dy_cuda_moe_scratch_bytes(l->max_rows, l->hidden, l->intermediate, l->n_experts) : 0;
}

static int cuda_prepare(dy_backend *b, const dy_op_limits *l) {
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    if (grow(b, &impl->moe_scratch, &impl->moe_scratch_bytes, moe_scratch_bytes(l)) ||
        grow(b, (void **)&impl->splits, &impl->splits_bytes, dy_cuda_attention_scratch_bytes(l->n_heads, l->head_dim)) ||
        grow(b, &impl->dysco_update_scratch, &impl->dysco_update_scratch_bytes,
             dy_cuda_dysco_update_scratch_bytes(l->max_ctx)) ||
        grow(b, &impl->dysco_select_scratch, &impl->dysco_select_scratch_bytes,
             dy_cuda_dysco_select_scratch_bytes(l->max_ctx)))
        return -1;
    dy_cuda_attention_scratch_init(b);
    dy_cuda_dysco_select_scratch_init(b);
    return 0;
}

extern "C" size_t dy_backend_cuda_scratch_bytes(const dy_op_limits *l) {
    return kWorkspaceBytes + moe_scratch_bytes(l) + dy_cuda_attention_scratch_bytes(l->n_heads, l->head_dim) +
           dy_cuda_dysco_update_scratch_bytes(l->max_ctx) + dy_cuda_dysco_select_scratch_bytes(l->max_ctx);
}

static size_t cuda_scratch_bytes(dy_backend *b, const dy_op_limits *l) {
    (void)b;
    return dy_backend_cuda_scratch_bytes(l);
}

// A failing query on a device this backend already works with is a device fault.
static void cuda_memory_info(dy_backend *b, size_t *free_bytes, size_t *total_bytes) {
    (void)b;
    CUDA_CHECK(cudaMemGetInfo(free_bytes, total_bytes));
}

// Stream capture; thread-local mode makes a forbidden call from this thread (a cudaMalloc, a
// synchronous copy) fail the capture instead of running.
static void cuda_graph_begin(dy_backend *b) {
    CUDA_CHECK(cudaStreamBeginCapture(dy_cuda_stream(b), cudaStreamCaptureModeThreadLocal));
}

static void *cuda_graph_end(dy_backend *b) {
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    cudaError_t e = cudaStreamEndCapture(dy_cuda_stream(b), &graph);
    if (e == cudaSuccess) e = cudaGraphInstantiate(&exec, graph, 0);
    if (graph) CUDA_CHECK(cudaGraphDestroy(graph));
    if (e == cudaSuccess) return exec;
    cudaGetLastError();  // a failed capture is reported by the NULL; the ops run directly instead
    return nullptr;
}

static void cuda_graph_launch(dy_backend *b, void *graph) {
    CUDA_CHECK(cudaGraphLaunch((cudaGraphExec_t)graph, dy_cuda_stream(b)));
}

static void cuda_graph_free(dy_backend *b, void *graph) {
    (void)b;
    CUDA_CHECK(cudaGraphExecDestroy((cudaGraphExec_t)graph));
}

// Everything create() made, in reverse; parts not made yet are NULL (a failed create uses it too).
static void release_all(dy_backend *b, dy_cuda_impl *impl) {
    if (impl) {
        dy_cuda_matmul_plans_free(impl);
        if (impl->pref) CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(impl->pref));
        if (impl->lt) CUBLAS_CHECK(cublasLtDestroy(impl->lt));
        if (impl->moe_scratch) CUDA_CHECK(cudaFree(impl->moe_scratch));
        if (impl->splits) CUDA_CHECK(cudaFree(impl->splits));
        if (impl->dysco_update_scratch) CUDA_CHECK(cudaFree(impl->dysco_update_scratch));
        if (impl->dysco_select_scratch) CUDA_CHECK(cudaFree(impl->dysco_select_scratch));
        if (impl->stream) CUDA_CHECK(cudaStreamDestroy(impl->stream));
        for (int i = 0; i < 2; i++) {
            if (impl->staged[i]) CUDA_CHECK(cudaEventDestroy(impl->staged[i]));
            if (impl->staging[i]) CUDA_CHECK(cudaFreeHost(impl->staging[i]));
        }
        if (impl->workspace) CUDA_CHECK(cudaFree(impl->workspace));
    }
    free(impl);
    free(b);
}

static void cuda_destroy(dy_backend *b) { release_all(b, dy_cuda_impl_of(b)); }

// Each step of create(): a CUDA or cuBLAS failure becomes err's message and NULL.
#define CREATE_STEP(ok, what)                                                    \
    do {                                                                         \
        if (!(ok)) {                                                             \
            cudaGetLastError(); /* a failed call leaves its error behind */      \
            dy_fail(err, "CUDA device %d: %s", device, what);                    \
            release_all(b, impl);                                                \
            return nullptr;                                                      \
        }                                                                        \
    } while (0)

extern "C" dy_backend *dy_backend_cuda_create(int device, dy_error *err) {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();  // "no driver / no device" is sticky until read
        dy_fail(err, "CUDA device %d: %s", device, cudaGetErrorString(e));
        return nullptr;
    }
    if (device < 0 || device >= count) {
        dy_fail(err, "CUDA device %d: no such device (%d visible)", device, count);
        return nullptr;
    }
    dy_backend *b = (dy_backend *)calloc(1, sizeof *b);
    dy_cuda_impl *impl = (dy_cuda_impl *)calloc(1, sizeof *impl);
    CREATE_STEP(b && impl, "out of host memory");
    b->impl = impl;
    cudaError_t ce = cudaSetDevice(device);
    CREATE_STEP(ce == cudaSuccess, cudaGetErrorString(ce));
    ce = cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking);
    CREATE_STEP(ce == cudaSuccess, cudaGetErrorString(ce));
    ce = cudaDeviceGetAttribute(&impl->n_sms, cudaDevAttrMultiProcessorCount, device);
    CREATE_STEP(ce == cudaSuccess, cudaGetErrorString(ce));
    ce = cudaMalloc(&impl->workspace, kWorkspaceBytes);
    CREATE_STEP(ce == cudaSuccess, cudaGetErrorString(ce));
    impl->workspace_bytes = kWorkspaceBytes;
    for (int i = 0; i < 2; i++) {
        ce = cudaMallocHost(&impl->staging[i], DY_CUDA_STAGING * sizeof(uint16_t));
        if (ce == cudaSuccess) ce = cudaEventCreateWithFlags(&impl->staged[i], cudaEventDisableTiming);
        CREATE_STEP(ce == cudaSuccess, cudaGetErrorString(ce));
    }
    cublasStatus_t cs = cublasLtCreate(&impl->lt);
    CREATE_STEP(cs == CUBLAS_STATUS_SUCCESS, cublasLtGetStatusString(cs));
    cs = cublasLtMatmulPreferenceCreate(&impl->pref);
    if (cs == CUBLAS_STATUS_SUCCESS)
        cs = cublasLtMatmulPreferenceSetAttribute(impl->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                  &impl->workspace_bytes, sizeof impl->workspace_bytes);
    CREATE_STEP(cs == CUBLAS_STATUS_SUCCESS, cublasLtGetStatusString(cs));

    b->name = "cuda";
    b->act_dtype = DY_BF16;
    b->stream = impl->stream;
    b->prepare = cuda_prepare;
    b->scratch_bytes = cuda_scratch_bytes;
    b->memory_info = cuda_memory_info;
    b->alloc = cuda_alloc;
    b->release = cuda_release;
    b->upload = cuda_upload;
    b->download = cuda_download;
    b->finish = cuda_finish;
    b->copy = cuda_copy;
    b->upload_weight = cuda_upload_weight;
    b->weight_dtype = DY_BF16;
    b->upload_weight_raw = cuda_upload_weight_raw;
    b->destroy = cuda_destroy;
    b->graph_begin = cuda_graph_begin;
    b->graph_end = cuda_graph_end;
    b->graph_launch = cuda_graph_launch;
    b->graph_free = cuda_graph_free;
    b->embedding = dy_cuda_embedding;
    b->add_rmsnorm = dy_cuda_add_rmsnorm;
    b->matmul = dy_cuda_matmul;
    b->lm_head = dy_cuda_matmul;  // to an fp32 view: the logits
    b->attention_inputs = dy_cuda_attention_inputs;
    b->attention = dy_cuda_attention;
    b->gate_up_swiglu = dy_cuda_gate_up_swiglu;
    b->moe = dy_cuda_moe;
    b->pick = dy_cuda_pick;
    b->dysco_update = dy_cuda_dysco_update;
    b->dysco_head_sum = dy_cuda_dysco_head_sum;
    b->dysco_select = dy_cuda_dysco_select;
    b->accumulate_rows = dy_cuda_accumulate_rows;
    return b;
}

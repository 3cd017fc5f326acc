// The collectives over NCCL, for ranks computing in device memory (the CUDA backend): one
// communicator for the job, enqueued on the backend's stream, so they run in order with the ops
// and are recorded into the decode graphs like a kernel. The host communicator the job started
// with (MPI) carries the ncclUniqueId, the barrier and the abort.
#include <cuda_runtime.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>

#include "comm.h"

typedef struct {
    ncclComm_t nccl;
    cudaStream_t stream;
} nccl_impl;

// A collective has no way to report an error (comm.h): the call site, NCCL's message and its
// last-error detail go to stderr with the rank, and the host communicator ends the job.
static void nccl_fatal(dy_comm *c, const char *call, ncclResult_t r) {
    const nccl_impl *n = c->impl;
    fprintf(stderr, "dysco[rank %d]: NCCL %s failed: %s (%s)\n", c->rank, call, ncclGetErrorString(r),
            ncclGetLastError(n->nccl));
    fflush(stderr);
    c->host->abort(c->host, 1);
}

#define NCCL_CHECK(c, call)                                           \
    do {                                                              \
        const ncclResult_t nccl_check_result_ = (call);               \
        if (nccl_check_result_ != ncclSuccess) nccl_fatal(c, #call, nccl_check_result_); \
    } while (0)

static void nccl_all_reduce_sum(dy_comm *c, void *data, size_t n, dy_dtype dtype) {
    nccl_impl *m = c->impl;
    if (dtype != DY_F32 && dtype != DY_BF16) {
        fprintf(stderr, "dysco[rank %d]: NCCL all-reduce of %s values: only fp32 and bf16 are summed\n", c->rank,
                dy_dtype_safetensors_name(dtype));
        c->host->abort(c->host, 1);
    }
    NCCL_CHECK(c, ncclAllReduce(data, data, n, dtype == DY_F32 ? ncclFloat32 : ncclBfloat16, ncclSum, m->nccl, m->stream));
}

static void nccl_all_gather(dy_comm *c, const void *send, void *recv, size_t bytes) {
    nccl_impl *m = c->impl;
    NCCL_CHECK(c, ncclAllGather(send, recv, bytes, ncclUint8, m->nccl, m->stream));
}

static void nccl_broadcast(dy_comm *c, void *data, size_t bytes, int root) {
    nccl_impl *m = c->impl;
    NCCL_CHECK(c, ncclBroadcast(data, data, bytes, ncclUint8, root, m->nccl, m->stream));
}

// Every rank's enqueued collectives done, then the host's barrier.
static void nccl_barrier(dy_comm *c) {
    nccl_impl *m = c->impl;
    const cudaError_t e = cudaStreamSynchronize(m->stream);
    if (e != cudaSuccess) {
        fprintf(stderr, "dysco[rank %d]: NCCL barrier: the stream failed: %s\n", c->rank, cudaGetErrorString(e));
        c->host->abort(c->host, 1);
    }
    c->host->barrier(c->host);
}

// NCCL's kernels may wait for peers that will never come: abort them first so this process can
// exit, then end the job through the host communicator.
static void nccl_abort(dy_comm *c, int status) {
    nccl_impl *m = c->impl;
    ncclCommAbort(m->nccl);
    c->host->abort(c->host, status);
}

static void nccl_destroy(dy_comm *c) {
    nccl_impl *m = c->impl;
    NCCL_CHECK(c, ncclCommFinalize(m->nccl));
    NCCL_CHECK(c, ncclCommDestroy(m->nccl));
    free(m);
    free(c);
}

dy_comm *dy_comm_nccl_create(dy_comm *host, void *stream, dy_error *err) {
    // NVLink SHARP needs multicast objects, which the hosts this runs on do not allow; a cluster
    // where it helps sets NCCL_NVLS_ENABLE itself, and that setting is kept.
    setenv("NCCL_NVLS_ENABLE", "0", 0);
    ncclUniqueId id;
    // Every rank takes part in the broadcast whatever rank 0's result, so none waits for the id.
    const ncclResult_t made = host->rank == 0 ? ncclGetUniqueId(&id) : ncclSuccess;
    float failed = made != ncclSuccess;
    host->all_reduce_sum(host, &failed, 1, DY_F32);
    if (failed > 0) {
        dy_fail(err, "NCCL: %s", made != ncclSuccess ? ncclGetErrorString(made) : "rank 0 could not make the unique id");
        return NULL;
    }
    host->broadcast(host, &id, sizeof id, 0);
    dy_comm *c = malloc(sizeof *c);
    nccl_impl *m = calloc(1, sizeof *m);
    if (!c || !m) {
        free(c);
        free(m);
        dy_fail(err, "NCCL: out of memory");
        return NULL;
    }
    m->stream = (cudaStream_t)stream;
    const ncclResult_t r = ncclCommInitRank(&m->nccl, host->size, id, host->rank);
    if (r != ncclSuccess) {
        dy_fail(err, "NCCL: ncclCommInitRank (rank %d of %d): %s (%s)", host->rank, host->size, ncclGetErrorString(r),
                ncclGetLastError(NULL));
        free(m);
        free(c);
        return NULL;
    }
    *c = (dy_comm){.name = "nccl", .rank = host->rank, .size = host->size, .device_memory = true, .host = host,
                   .impl = m, .all_reduce_sum = nccl_all_reduce_sum, .all_gather = nccl_all_gather,
                   .broadcast = nccl_broadcast, .barrier = nccl_barrier, .abort = nccl_abort, .destroy = nccl_destroy};
    return c;
}

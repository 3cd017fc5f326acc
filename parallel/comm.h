// The collectives the tensor-parallel model calls between its ranks (one rank per process),
// on buffers of the memory the ranks compute in: host memory for the CPU backend (MPI), device
// memory on the backend's stream for CUDA (NCCL, comm_nccl.c). Like backend ops they cannot fail:
// a failing call ends the whole job with one line naming the rank and the call, so no rank is
// left waiting in a collective for a peer that stopped.
#ifndef DYSCO_COMM_H
#define DYSCO_COMM_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/base/dtype.h"
#include "kernels/base/error.h"
#include "launch_env.h"

typedef struct dy_comm dy_comm;
struct dy_comm {
    const char *name;  // "self", "mpi" or "nccl"
    int rank, size;
    // Whether the buffers live in device memory (NCCL: the collectives are enqueued on the
    // backend's stream and may be recorded into its graphs) or in host memory (self, MPI).
    bool device_memory;
    // The same ranks over host memory, for what the host exchanges (the ranks' pick summaries, a
    // selection hash, whether every rank loaded): the communicator itself for self and MPI.
    dy_comm *host;
    void *impl;
    // data (n values of dtype) becomes the sum over the ranks, the same bits on every rank. MPI
    // adds in rank order (rank 0 first), so the result does not depend on its algorithm's tree
    // either, and takes DY_F32 only; NCCL adds in its ring's or tree's order (every rank receives
    // the one reduced copy) and takes DY_F32 and DY_BF16 (each partial sum rounded to bf16, as
    // the activations are stored).
    void (*all_reduce_sum)(dy_comm *c, void *data, size_t n, dy_dtype dtype);
    // recv (size * bytes) receives each rank's send (bytes) in rank order.
    void (*all_gather)(dy_comm *c, const void *send, void *recv, size_t bytes);
    // data (bytes) becomes root's on every rank.
    void (*broadcast)(dy_comm *c, void *data, size_t bytes, int root);
    void (*barrier)(dy_comm *c);
    // Ends every process of the job with status; does not return.
    void (*abort)(dy_comm *c, int status);
    // Frees it; for MPI the last call of the process (MPI_Finalize). NCCL's leaves its host.
    void (*destroy)(dy_comm *c);
};

// The one-process job: rank 0 of 1, each collective the identity.
dy_comm *dy_comm_self_create(void);
// MPI over the processes of the job (MPI_COMM_WORLD), initialised here; NULL with err set when
// MPI cannot start or its world disagrees with the launcher's environment.
dy_comm *dy_comm_mpi_create(const dy_launch_env *env, dy_error *err);
// The job's communicator: MPI when a launcher started more than one process, else self.
dy_comm *dy_comm_create(const dy_launch_env *env, dy_error *err);
// The communicator for collectives on a backend's memory, over host's ranks: host itself when the
// backend computes in host memory (stream NULL) or the job has one process and force_nccl is
// not set; otherwise NCCL on the backend's stream (stream: its cudaStream_t), which a one-process
// job takes only when asked (force_nccl: the NCCL path's own cost, measured at TP1). NULL with
// err set when NCCL cannot start or the build has none. Destroy it before host when it is not host.
dy_comm *dy_comm_for_backend(dy_comm *host, void *stream, bool force_nccl, dy_error *err);
#ifdef DYSCO_HAVE_CUDA
// NCCL over host's ranks on the calling thread's current CUDA device (the backend's, set by its
// create()), enqueued on stream: one communicator for the job, its ncclUniqueId made by rank 0
// and broadcast over host. barrier goes through host; abort ends NCCL's work, then the job.
dy_comm *dy_comm_nccl_create(dy_comm *host, void *stream, dy_error *err);
#endif

#endif

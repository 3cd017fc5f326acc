// The collectives the tensor-parallel model calls between its ranks (one rank per process),
// on buffers of the memory the ranks compute in: host memory for the CPU backend (MPI), device
// memory on the backend's stream for CUDA (NCCL). Like backend ops they cannot fail: a failing
// call ends the whole job with one line naming the rank and the call, so no rank is left
// waiting in a collective for a peer that stopped.
#ifndef DYSCO_COMM_H
#define DYSCO_COMM_H

#include <stddef.h>

#include "kernels/base/error.h"
#include "launch_env.h"

typedef struct dy_comm dy_comm;
struct dy_comm {
    const char *name;  // "self" or "mpi"
    int rank, size;
    void *impl;
    // data (n fp32 values) becomes the sum over the ranks, added in rank order (rank 0 first), so
    // every rank holds the same bits and the result does not depend on the algorithm's tree.
    void (*all_reduce_sum)(dy_comm *c, float *data, size_t n);
    // recv (size * bytes) receives each rank's send (bytes) in rank order.
    void (*all_gather)(dy_comm *c, const void *send, void *recv, size_t bytes);
    // data (bytes) becomes root's on every rank.
    void (*broadcast)(dy_comm *c, void *data, size_t bytes, int root);
    void (*barrier)(dy_comm *c);
    // Ends every process of the job with status; does not return.
    void (*abort)(dy_comm *c, int status);
    // Frees it; for MPI the last call of the process (MPI_Finalize).
    void (*destroy)(dy_comm *c);
};

// The one-process job: rank 0 of 1, each collective the identity.
dy_comm *dy_comm_self_create(void);
// MPI over the processes of the job (MPI_COMM_WORLD), initialised here; NULL with err set when
// MPI cannot start or its world disagrees with the launcher's environment.
dy_comm *dy_comm_mpi_create(const dy_launch_env *env, dy_error *err);
// The job's communicator: MPI when a launcher started more than one process, else self.
dy_comm *dy_comm_create(const dy_launch_env *env, dy_error *err);

#endif

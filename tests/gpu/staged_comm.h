// Collectives on a CUDA backend's memory staged through the host over a host communicator (MPI):
// what lets the ranks of a test share the one GPU of a test host, where NCCL takes one rank per
// GPU. Each collective downloads, runs the host's collective (bf16 widened to fp32, summed in rank
// order, rounded back) and uploads. Downloads cannot be recorded into a graph, so the test turns
// its backend's graphs off (graph_begin NULL): the ops are the same, launched one by one.
#ifndef DYSCO_TEST_STAGED_COMM_H
#define DYSCO_TEST_STAGED_COMM_H

#include "kernels/backend.h"
#include "parallel/comm.h"

dy_comm *staged_comm_create(dy_comm *host, dy_backend *be);

#endif

// Return-code check for MPI calls inside the communicator. A collective has no way to report an
// error (comm.h), and a failing one means a peer or the network is gone: the call site and MPI's
// message go to stderr with the rank, and MPI_Abort ends every process of the job.
#ifndef DYSCO_MPI_CHECK_H
#define DYSCO_MPI_CHECK_H

#include <mpi.h>

_Noreturn void dy_mpi_fatal(const char *file, int line, int code);

#define MPI_CHECK(call)                                                          \
    do {                                                                         \
        const int check_status_ = (call);                                        \
        if (check_status_ != MPI_SUCCESS) dy_mpi_fatal(__FILE__, __LINE__, check_status_); \
    } while (0)

#endif

// Return-code checks for CUDA runtime and cuBLASLt calls inside the backend. An op has no way to
// report an error (backend.h: ops cannot fail), and a failing call there is a device fault or a
// bug, not bad user input, so it ends the process with one line naming the call site. Only
// create() and alloc() turn failures into return values, and they do not use these macros.
#ifndef DYSCO_CUDA_CHECK_H
#define DYSCO_CUDA_CHECK_H

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>

[[noreturn]] static inline void dy_cuda_fatal(const char *file, int line, const char *message) {
    fprintf(stderr, "dysco: CUDA error at %s:%d: %s\n", file, line, message);
    exit(1);
}

#define CUDA_CHECK(call)                                                              \
    do {                                                                              \
        const cudaError_t check_status_ = (call);                                     \
        if (check_status_ != cudaSuccess)                                             \
            dy_cuda_fatal(__FILE__, __LINE__, cudaGetErrorString(check_status_));     \
    } while (0)

#define CUBLAS_CHECK(call)                                                            \
    do {                                                                              \
        const cublasStatus_t check_status_ = (call);                                  \
        if (check_status_ != CUBLAS_STATUS_SUCCESS)                                   \
            dy_cuda_fatal(__FILE__, __LINE__, cublasLtGetStatusString(check_status_)); \
    } while (0)

// After a kernel launch: a bad launch configuration is reported here; faults inside the kernel
// surface at the next synchronising call (download).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#endif

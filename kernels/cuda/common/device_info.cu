#include <cuda_runtime.h>

#include <string.h>

#include "kernels/device_info.h"

extern "C" int dy_cuda_device_count(void) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();  // clear the sticky "no driver / no device" error
        return 0;
    }
    return n;
}

extern "C" int dy_cuda_device_info(int device, dy_device_info *info, dy_error *err) {
    // An ordinal past the last is the caller's mistake, answered without a failing CUDA call
    // (which compute-sanitizer would report as an error of the program).
    const int n = dy_cuda_device_count();
    if (device < 0 || device >= n) return dy_fail(err, "CUDA device %d: no such device (%d visible)", device, n);
    cudaDeviceProp prop;
    size_t free_b = 0, total_b = 0;
    cudaError_t e = cudaGetDeviceProperties(&prop, device);
    if (e == cudaSuccess) e = cudaSetDevice(device);
    if (e == cudaSuccess) e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) return dy_fail(err, "CUDA device %d: %s", device, cudaGetErrorString(e));
    strncpy(info->name, prop.name, sizeof info->name - 1);
    info->name[sizeof info->name - 1] = '\0';
    info->free_bytes = free_b;
    info->total_bytes = total_b;
    return 0;
}

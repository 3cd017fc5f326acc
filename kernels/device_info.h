// What CUDA devices this process sees and how much memory they have free. Built only with CUDA.
#ifndef DYSCO_DEVICE_INFO_H
#define DYSCO_DEVICE_INFO_H

#include <stdint.h>

#include "kernels/base/error.h"

typedef struct {
    char name[256];
    uint64_t free_bytes, total_bytes;
} dy_device_info;

#ifdef __cplusplus
extern "C" {
#endif

// Visible devices; 0 when there is no device or no driver (not an error: CPU-only machines).
int dy_cuda_device_count(void);
int dy_cuda_device_info(int device, dy_device_info *info, dy_error *err);

#ifdef __cplusplus
}
#endif

#endif

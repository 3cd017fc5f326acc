#include <string.h>

#include "backend.h"

dy_backend *dy_backend_create(const char *device, dy_error *err) {
    if (strcmp(device, "cuda") == 0) {
#ifdef DYSCO_HAVE_CUDA
        return dy_backend_cuda_create(0, err);
#else
        dy_fail(err, "--device cuda: this dysco was built without CUDA (DYSCO_CUDA=OFF)");
        return NULL;
#endif
    }
    const bool bf16_storage = strcmp(device, "cpu-bf16") == 0;
    if (!bf16_storage && strcmp(device, "cpu") != 0) {
        dy_fail(err, "--device: expected cpu, cpu-bf16 or cuda, got '%s'", device);
        return NULL;
    }
    dy_backend *be = bf16_storage ? dy_backend_cpu_bf16_create() : dy_backend_cpu_create();
    if (!be) dy_fail(err, "%s backend: out of memory", device);
    return be;
}

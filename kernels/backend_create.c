#include <stdlib.h>
#include <string.h>

#include "backend.h"
#ifdef DYSCO_HAVE_CUDA
#include "device_info.h"
#endif

#ifdef DYSCO_HAVE_CUDA
// A rank takes the GPU of its place on the node. A launcher or launch/gpu-bind.sh that bound the
// rank to one GPU (CUDA_VISIBLE_DEVICES) leaves it that one alone to see.
static dy_backend *create_cuda(int local_rank, dy_error *err) {
    const int count = dy_cuda_device_count();
    const bool bound = count == 1 && getenv("CUDA_VISIBLE_DEVICES") != NULL;
    if (count >= 1 && !bound && local_rank >= count) {
        dy_fail(err, "--device cuda: local rank %d has no GPU of its own: this node shows %d (run at most one rank "
                     "per GPU, or bind each rank with launch/gpu-bind.sh)", local_rank, count);
        return NULL;
    }
    return dy_backend_cuda_create(bound ? 0 : local_rank, err);
}
#endif

dy_backend *dy_backend_create(const char *device, int local_rank, dy_error *err) {
    if (strcmp(device, "cuda") == 0) {
#ifdef DYSCO_HAVE_CUDA
        return create_cuda(local_rank, err);
#else
        (void)local_rank;
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

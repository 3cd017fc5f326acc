// The CUDA device query inspect uses: on a GPU host it must report every device with a name and
// plausible memory figures. Without a GPU it exits 77, which ctest shows as skipped.
#include <stdio.h>
#include <string.h>

#include "kernels/device_info.h"

int main(void) {
    int n = dy_cuda_device_count();
    if (n == 0) {
        printf("SKIPPED: no CUDA device visible\n");
        return 77;
    }
    for (int d = 0; d < n; d++) {
        dy_device_info info;
        dy_error err;
        if (dy_cuda_device_info(d, &info, &err)) {
            fprintf(stderr, "FAIL: %s\n", err.msg);
            return 1;
        }
        printf("GPU %d: %s, %.1f of %.1f GiB free\n", d, info.name, info.free_bytes / 1073741824.0,
               info.total_bytes / 1073741824.0);
        if (strlen(info.name) == 0 || info.total_bytes < (1ull << 30) || info.free_bytes > info.total_bytes) {
            fprintf(stderr, "FAIL: implausible device %d\n", d);
            return 1;
        }
    }
    if (dy_cuda_device_info(n, &(dy_device_info){0}, &(dy_error){0}) == 0) {
        fprintf(stderr, "FAIL: device %d (past the last) did not fail\n", n);
        return 1;
    }
    printf("1 passed, 0 failed\n");
    return 0;
}

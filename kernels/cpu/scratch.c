#include <assert.h>

#include "scratch.h"

int dy_cpu_scratch_reserve(dy_backend *b, size_t bytes) {
    dy_cpu_impl *impl = b->impl;
    if (bytes <= impl->scratch_bytes) return 0;
    void *grown = b->alloc(b, bytes);
    if (!grown) return -1;
    b->release(b, impl->scratch);
    impl->scratch = grown;
    impl->scratch_bytes = bytes;
    return 0;
}

void *dy_cpu_scratch(dy_backend *b, size_t bytes) {
    dy_cpu_impl *impl = b->impl;
    assert(bytes <= impl->scratch_bytes);  // prepare() sized it for the largest op
    (void)bytes;
    return impl->scratch;
}

void dy_cpu_scratch_free(dy_backend *b) {
    dy_cpu_impl *impl = b->impl;
    b->release(b, impl->scratch);
    impl->scratch = NULL;
    impl->scratch_bytes = 0;
}

// The CPU backend's state: one scratch buffer that the MoE and pick ops share (they never run at
// once), sized by prepare() for the largest op, whether the ops' intermediate values are stored
// in bf16 (the bf16-storage twin), and where the MoE op records its routing margins.
#ifndef DYSCO_CPU_SCRATCH_H
#define DYSCO_CPU_SCRATCH_H

#include "kernels/backend.h"

typedef struct {
    void *scratch;
    size_t scratch_bytes;
    bool bf16_storage;  // the twin (backend_cpu_bf16.c): ops round the intermediates the GPU stores in bf16
    float *moe_margins;  // dy_backend.moe_record_margins: per row of the next moe ops, or NULL
} dy_cpu_impl;  // what dy_backend.impl points to

// Grows the scratch to at least bytes (through b->alloc like any backend memory, so a wrapper
// that counts allocations sees it too); -1 when out of memory.
int dy_cpu_scratch_reserve(dy_backend *b, size_t bytes);
// Backend-owned scratch of at least bytes, valid until the next call (ops run one at a time);
// prepare() sized it for the largest op, so this cannot fail.
void *dy_cpu_scratch(dy_backend *b, size_t bytes);
void dy_cpu_scratch_free(dy_backend *b);

#endif

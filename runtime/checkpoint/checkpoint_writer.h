// Writes random-weight safetensors for a model config: one model.safetensors, or shards
// model-0000i-of-0000n.safetensors plus model.safetensors.index.json when the weights exceed
// the shard size. Files are written under a temporary name and renamed when complete, so a
// failed or interrupted run never leaves a file that looks whole.
#ifndef DYSCO_CHECKPOINT_WRITER_H
#define DYSCO_CHECKPOINT_WRITER_H

#include <stdint.h>

#include "weight_init.h"

typedef struct {
    dy_dtype dtype;        // DY_BF16 or DY_F32
    dy_init_params init;
    uint64_t shard_bytes;  // largest shard (tensors are never split)
    // Called after each tensor with bytes written so far and in total; may be NULL.
    void (*progress)(uint64_t done, uint64_t total, void *ctx);
    void *progress_ctx;
} dy_writer_options;

int dy_write_random_weights(const char *dir, const dy_model_config *cfg, const dy_writer_options *o, dy_error *err);

#endif

// A Hugging Face checkpoint folder: config.json plus model.safetensors or shards listed by
// model.safetensors.index.json. Opening validates every header and checks that each tensor the
// architecture needs is present with the right shape; no tensor bytes are read until asked for.
#ifndef DYSCO_CHECKPOINT_H
#define DYSCO_CHECKPOINT_H

#include "model_config.h"
#include "safetensors.h"

typedef struct {
    char *dir;
    char *listing;  // the file that names the tensors: model.safetensors or the index
    dy_model_config config;
    int n_files;
    dy_mapped_file *files;
    dy_tensor_list tensors;  // sorted by name
} dy_checkpoint;

int dy_checkpoint_open(const char *dir, dy_checkpoint *ck, dy_error *err);
void dy_checkpoint_close(dy_checkpoint *ck);
const dy_tensor *dy_checkpoint_find(const dy_checkpoint *ck, const char *name);

#endif

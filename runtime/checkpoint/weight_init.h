// Deterministic random weights for make-model (test fixtures and real-shape benchmark models).
//
// Element i of tensor NAME is a pure function of (seed, NAME, i): a 64-bit key is made from the
// seed and the FNV-1a hash of the name, and splitmix64(key + i * golden ratio) gives 24 random
// bits u in [0, 1). Then
//   embeddings, linear weights, router, LM head:  w = (2u - 1) * sqrt(3) * std   (uniform, std `std`;
//                                                 q_proj and k_proj use qk_std when it is set, so
//                                                 test models can have peaked attention)
//   RMSNorm weights (incl. Qwen3 q/k norms):      w = 1 + (2u - 1) * norm_jitter
// so any shard, slice or device can regenerate any element without the others.
#ifndef DYSCO_WEIGHT_INIT_H
#define DYSCO_WEIGHT_INIT_H

#include <stdint.h>

#include "model_tensors.h"

typedef struct {
    uint64_t seed;
    double std;          // default 0.02, the initializer_range of the Qwen3 and Llama configs
    double qk_std;       // 0: same as std
    double norm_jitter;  // default 0.1
} dy_init_params;

uint64_t dy_init_key(uint64_t seed, const char *tensor_name);

// Writes elements [first, first + n) of the tensor as fp32.
void dy_init_fill(const dy_tensor_spec *s, const dy_init_params *p, uint64_t first, uint64_t n, float *out);

#endif

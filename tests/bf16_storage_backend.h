// The CPU backend storing what the CUDA backend stores in bf16 (activations, the KV cache and
// weights) rounded to bf16, in its fp32 memory; every op still computes in fp32/double. It is
// the twin the GPU's end-to-end outputs are compared with by argmax: against the fp32 CPU the
// GPU's logits differ by bf16 storage error (~0.5% on the tiny models), which swaps the top two
// tokens wherever they are that close; against this twin only the ops' arithmetic differs.
//
// Each op's outputs are rounded as the CUDA kernel stores them; add_rmsnorm normalises the
// rounded residual, as the CUDA kernel does. Where a CUDA op rounds an intermediate as well
// (prefill's gate/up product before SwiGLU, the MoE experts' hidden values) this twin does not.
// A matmul whose output has logits_cols columns is the LM head: its fp32 logits are kept as
// they are, as on the GPU.
#ifndef DYSCO_TEST_BF16_STORAGE_BACKEND_H
#define DYSCO_TEST_BF16_STORAGE_BACKEND_H

#include "../kernels/backend.h"

dy_backend *bf16_storage_backend_create(int64_t logits_cols);

#endif

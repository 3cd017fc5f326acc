// RoPE frequencies as Hugging Face transformers computes them (default, YaRN, llama3), in fp32.
// The backend's attention_inputs op turns them into angles position * inv_freq[i].
#ifndef DYSCO_ROPE_H
#define DYSCO_ROPE_H

#include "runtime/checkpoint/model_config.h"

// inv_freq: (head_dim / 2) floats. *attn_factor multiplies cos and sin (YaRN's attention scaling;
// 1 otherwise).
void dy_rope_frequencies(const dy_model_config *cfg, float *inv_freq, float *attn_factor);

#endif

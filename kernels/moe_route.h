// The MoE router's expert choice, one definition for the CPU backend (kernels/cpu/ops_mlp.c) and
// the CUDA backend's route kernel (kernels/cuda/gemm/ops_mlp.cu), so both break ties alike. The
// softmax before it and the renormalisation after it stay with each backend: the CPU sums in
// double and the GPU in fp32, and sharing them would change one backend's numbers.
#ifndef DYSCO_MOE_ROUTE_H
#define DYSCO_MOE_ROUTE_H

#include <stdint.h>

#ifdef __CUDACC__
#define DY_HOST_DEVICE __host__ __device__
#else
#define DY_HOST_DEVICE
#endif

// The experts_per_token most probable of probs (n_experts fp32 probabilities) into chosen and
// weights (their probabilities), most probable first: repeated scans with a strict '>', so of
// equal probabilities the lower expert index wins. Each pick is then set to -1 (below any
// probability) so no scan takes it again: probs is consumed.
static inline DY_HOST_DEVICE void dy_moe_choose(float *probs, int n_experts, int experts_per_token, int32_t *chosen,
                                                float *weights) {
    for (int k = 0; k < experts_per_token; k++) {
        int best = 0;
        for (int e = 1; e < n_experts; e++)
            if (probs[e] > probs[best]) best = e;
        chosen[k] = best;
        weights[k] = probs[best];
        probs[best] = -1.0f;
    }
}

#endif

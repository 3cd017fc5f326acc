// Choosing the next token, the reference for every backend: argmax and log-softmax in double as
// torch's fp32 results are checked against, and the kept set built the obvious way (a full sort
// by probability), so the GPU's sort-free thresholds are measured against a plain definition.
#include <math.h>

#include "kernels/pick_candidates.h"
#include "ops_cpu.h"
#include "scratch.h"

size_t dy_cpu_pick_scratch_bytes(int64_t vocab) { return (size_t)vocab * sizeof(dy_pick_candidate); }

void dy_cpu_pick(dy_backend *b, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out) {
    int32_t best = 0;
    for (int i = 1; i < vocab; i++)
        if (logits[i] > logits[best]) best = i;  // strict: the first index wins ties, as torch.argmax
    const double max = logits[best];
    double sum = 0;
    for (int i = 0; i < vocab; i++) sum += exp((double)logits[i] - max);
    int32_t token = best;
    if (p->forced >= 0) token = p->forced;
    else if (p->temperature > 0) {
        dy_pick_candidate *c = dy_cpu_scratch(b, dy_cpu_pick_scratch_bytes(vocab));
        for (int i = 0; i < vocab; i++) c[i] = (dy_pick_candidate){(float)exp(((double)logits[i] - max) / p->temperature), i};
        token = dy_pick_sample_candidates(c, vocab, -1, p);
    }
    *out = (dy_pick){.token = token, .argmax = best, .logprob = (float)((double)logits[token] - max - log(sum))};
}

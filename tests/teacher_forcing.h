// Teacher-forced logits of a model, for end-to-end comparisons between backends.
#ifndef DYSCO_TEST_TEACHER_FORCING_H
#define DYSCO_TEST_TEACHER_FORCING_H

#include <stdint.h>

#include "model.h"

// Logits (prompt + steps, vocab) of every position of tokens (prompt + steps ids), malloc'd. A
// prompt position p gets a fresh prefill of tokens [0, p] (odd p in two chunks, so prefill on top
// of cached positions runs too); each later position is one decode step on the cache the prompt's
// last prefill left. The model needs max_ctx >= prompt + steps and max_chunk >= prompt.
float *teacher_forced_logits(dy_model *m, const int32_t *tokens, int prompt, int steps);

#endif

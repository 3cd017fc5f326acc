// Backend memory of a dy_model, internal to runtime/model: loading allocates the weights and
// workspace through it, and the forward grows the capture buffers after loading. Every block is
// listed in m->allocations, so dy_model_free releases them together.
#ifndef DYSCO_MODEL_ALLOC_H
#define DYSCO_MODEL_ALLOC_H

#include <stddef.h>

#include "model.h"

// NULL when out of memory (backend or host).
void *dy_model_alloc(dy_model *m, size_t bytes);

#endif

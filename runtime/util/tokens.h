// A growable vector of token ids: prompts, generated continuations, stop lists.
#ifndef DYSCO_TOKENS_H
#define DYSCO_TOKENS_H

#include <stdint.h>

typedef struct {
    int32_t *ids;
    int n, cap;
} dy_tokens;

// Appends id; -1 when out of memory (t is unchanged then).
int dy_tokens_push(dy_tokens *t, int32_t id);
void dy_tokens_free(dy_tokens *t);

#endif

#include <stdlib.h>
#include <string.h>

#include "tokens.h"

int dy_tokens_push(dy_tokens *t, int32_t id) {
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 256;
        int32_t *grown = realloc(t->ids, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
        t->ids = grown;
        t->cap = cap;
    }
    t->ids[t->n++] = id;
    return 0;
}

void dy_tokens_free(dy_tokens *t) {
    free(t->ids);
    memset(t, 0, sizeof *t);
}

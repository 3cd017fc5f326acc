#include "teacher_forcing.h"

#include "test_util.h"

static int logits_at(dy_model *m, const int32_t *tokens, int prompt, int pos, float *logits, dy_error *err) {
    const dy_forward_opts with_logits = {.logits = logits}, without = {0};
    if (pos >= prompt) return dy_model_forward(m, tokens + pos, 1, pos, &with_logits, err);
    const int first = pos % 2 ? (pos + 1) / 2 : 0;
    if (first && dy_model_forward(m, tokens, first, 0, &without, err)) return -1;
    return dy_model_forward(m, tokens + first, pos + 1 - first, first, &with_logits, err);
}

float *teacher_forced_logits(dy_model *m, const int32_t *tokens, int prompt, int steps) {
    const int64_t vocab = m->cfg.vocab_size;
    float *logits = xmalloc((size_t)(prompt + steps) * (size_t)vocab * sizeof(float));
    dy_error err;
    for (int p = 0; p < prompt + steps; p++)
        if (logits_at(m, tokens, prompt, p, logits + p * vocab, &err)) die(err.msg);
    return logits;
}

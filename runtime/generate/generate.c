#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "generate_run.h"
#include "kernels/base/timing.h"

int dy_method_parse(const char *name, dy_method *m) {
    static const char *const names[] = {[DY_METHOD_VANILLA] = "vanilla", [DY_METHOD_DYSCO] = "dysco",
                                        [DY_METHOD_ATTNSHARP] = "attnsharp"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *m = (dy_method)i;
            return 0;
        }
    return -1;
}

// vanilla and attnsharp: the whole prompt, then one token per step.
static int run_plain(dy_run *g, dy_error *err) {
    const float temperature = g->o->method == DY_METHOD_ATTNSHARP ? g->o->attn_temperature : 1.0f;
    dy_forward_opts f = {.temperature = temperature, .picked = &g->picked};
    double t0 = dy_now();
    if (dy_run_prefill(g, g->n_prompt, &f, true, err)) return -1;
    g->r->prefill_seconds = dy_now() - t0;
    t0 = dy_now();
    for (;;) {
        dy_run_produce(g);
        if (dy_run_trace(g, g->len - 2, "decode", NULL, false, true, err)) return -1;
        if (g->done) break;
        f.pick = dy_run_next_pick(g);
        if (dy_model_forward(g->m, g->seq + g->len - 1, 1, g->len - 1, &f, err)) return -1;
    }
    g->r->decode_seconds = dy_now() - t0;
    return 0;
}

int dy_generate(dy_model *m, const int32_t *prompt, int n_prompt, const dy_generate_opts *o, dy_generate_result *r,
                dy_error *err) {
    memset(r, 0, sizeof *r);
    const int most = o->forced ? o->n_forced : o->max_new_tokens;
    if (n_prompt < 1) return dy_fail(err, "prompt: empty");
    if (n_prompt + most > m->kv.max_ctx)
        return dy_fail(err, "prompt: %d tokens + %d new exceed the context of %d positions", n_prompt, most,
                       m->kv.max_ctx);
    for (int i = 0; i < o->n_forced; i++)  // pick reads the forced token's logit; a negative id would mean "not forced"
        if (o->forced[i] < 0 || o->forced[i] >= m->cfg.vocab_size)
            return dy_fail(err, "continuation: token id %d is outside the model's vocabulary (%d)", o->forced[i], m->cfg.vocab_size);
    dy_run g = {.m = m, .o = o, .r = r, .n_prompt = n_prompt, .len = n_prompt};
    g.seq = malloc((size_t)(n_prompt + most) * sizeof(int32_t));
    r->logprobs = malloc((size_t)most * sizeof(float));
    r->argmax = malloc((size_t)most * sizeof(int32_t));
    // Every fed position is below m->kv.max_ctx, which the model's recording indexes.
    if (o->router_margins) r->router_margins = malloc((size_t)m->kv.max_ctx * sizeof(float));
    int rc = g.seq && r->logprobs && r->argmax && (r->router_margins || !o->router_margins)
                 ? 0
                 : dy_fail(err, "generate: out of memory");
    dy_sampler_init(&g.sampler, o->temperature, o->sample_top_p, o->sample_top_k, o->seed);
    if (rc == 0) {
        memcpy(g.seq, prompt, (size_t)n_prompt * sizeof(int32_t));
        if (o->router_margins) {
            for (int p = 0; p < m->kv.max_ctx; p++) r->router_margins[p] = INFINITY;
            dy_model_record_router_margins(m, r->router_margins);
        }
        rc = o->method == DY_METHOD_DYSCO ? dy_run_dysco(&g, err) : run_plain(&g, err);
        if (o->router_margins) dy_model_record_router_margins(m, NULL);
        r->n_router_margins = o->router_margins ? g.len - 1 : 0;  // the last token produced is never fed
    }
    free(g.seq);
    if (rc) dy_generate_result_free(r);
    return rc;
}

void dy_generate_result_free(dy_generate_result *r) {
    dy_tokens_free(&r->output);
    free(r->logprobs);
    free(r->argmax);
    free(r->router_margins);
    memset(r, 0, sizeof *r);
}

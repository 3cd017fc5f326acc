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

const dy_pick_params *dy_run_next_pick(dy_run *g) {
    g->params = dy_sampler_next(&g->sampler, g->o->forced ? g->o->forced[g->r->output.n] : -1);
    return &g->params;
}

int32_t dy_run_produce(dy_run *g) {
    dy_generate_result *r = g->r;
    const int i = r->output.n;
    const int32_t t = g->picked.token;
    r->logprobs[i] = g->picked.logprob;
    r->argmax[i] = g->picked.argmax;
    dy_tokens_push(&r->output, t);
    g->seq[g->len++] = t;
    if (g->o->on_token) g->o->on_token(t, g->o->on_token_ctx);
    if (g->o->forced) g->done = r->output.n == g->o->n_forced;
    else {
        g->done = r->output.n >= g->o->max_new_tokens;
        for (int k = 0; k < g->o->n_stop; k++) g->done |= t == g->o->stop_ids[k];
    }
    return t;
}

void dy_run_trace(dy_run *g, int pos, const char *phase, const dy_dysco_state *st, bool selection, bool produced) {
    FILE *f = g->o->trace;
    if (!f) return;
    fprintf(f, "{\"pos\": %d, \"phase\": \"%s\"", pos, phase);
    if (st && selection) fprintf(f, ", \"n_selected\": %d", dy_dysco_last_n_selected(st));
    if (st) {
        int top[DY_TRACE_TOP_POSITIONS];
        const int n_top = dy_dysco_top_positions(st, top, DY_TRACE_TOP_POSITIONS);
        fputs(", \"top_positions\": [", f);
        for (int i = 0; i < n_top; i++) fprintf(f, i ? ", %d" : "%d", top[i]);
        fputc(']', f);
    }
    if (st && selection && g->o->trace_selected) {
        fputs(", \"selected\": [", f);
        for (int j = 0, n = 0; j <= pos; j++)
            if (st->selected[j]) fprintf(f, n++ ? ", %d" : "%d", j);
        fputc(']', f);
    }
    if (produced) {
        int i = g->r->output.n - 1;
        fprintf(f, ", \"token\": %d, \"logprob\": %.9g", g->r->output.ids[i], g->r->logprobs[i]);
    }
    fputs("}\n", f);
}

int dy_run_prefill(dy_run *g, int n, const dy_forward_opts *base, bool pick, dy_error *err) {
    const int chunk = g->o->prefill_chunk > 0 ? g->o->prefill_chunk : g->m->max_chunk;
    for (int p = 0; p < n; p += chunk) {
        int k = n - p < chunk ? n - p : chunk;
        dy_forward_opts f = *base;
        f.pick = pick && p + k == n ? dy_run_next_pick(g) : NULL;
        if (dy_model_forward(g->m, g->seq + p, k, p, &f, err)) return -1;
    }
    return 0;
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
        dy_run_trace(g, g->len - 2, "decode", NULL, false, true);
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
    int rc = g.seq && r->logprobs && r->argmax ? 0 : dy_fail(err, "generate: out of memory");
    dy_sampler_init(&g.sampler, o->temperature, o->sample_top_p, o->sample_top_k, o->seed);
    if (rc == 0) {
        memcpy(g.seq, prompt, (size_t)n_prompt * sizeof(int32_t));
        rc = o->method == DY_METHOD_DYSCO ? dy_run_dysco(&g, err) : run_plain(&g, err);
    }
    free(g.seq);
    if (rc) dy_generate_result_free(r);
    return rc;
}

void dy_generate_result_free(dy_generate_result *r) {
    dy_tokens_free(&r->output);
    free(r->logprobs);
    free(r->argmax);
    memset(r, 0, sizeof *r);
}

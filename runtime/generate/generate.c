#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/base/timing.h"
#include "runtime/dysco/dysco_controller.h"
#include "sampling.h"

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

typedef struct {
    dy_model *m;
    const dy_generate_opts *o;
    dy_generate_result *r;
    dy_sampler sampler;
    dy_pick_params params;  // how the pass that produces the next token chooses it
    dy_pick picked;         // what it chose
    int32_t *seq;           // prompt, then produced tokens
    int len, n_prompt;
    bool done;
} run;

// Pick parameters for the pass whose last position yields the next token: the forced token when
// scoring, else a fresh draw from the sampler (none when greedy).
static const dy_pick_params *next_pick(run *g) {
    g->params = dy_sampler_next(&g->sampler, g->o->forced ? g->o->forced[g->r->output.n] : -1);
    return &g->params;
}

// The pass at position len-1 picked the next token (g->picked): record it, stream it, and decide
// whether generation is over.
static int32_t produce(run *g) {
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

static void trace_line(run *g, int pos, const char *phase, int n_selected, const int *top, int n_top, bool produced) {
    FILE *f = g->o->trace;
    if (!f) return;
    fprintf(f, "{\"pos\": %d, \"phase\": \"%s\"", pos, phase);
    if (n_selected >= 0) fprintf(f, ", \"n_selected\": %d", n_selected);
    if (top) {
        fputs(", \"top_positions\": [", f);
        for (int i = 0; i < n_top; i++) fprintf(f, i ? ", %d" : "%d", top[i]);
        fputc(']', f);
    }
    if (produced) {
        int i = g->r->output.n - 1;
        fprintf(f, ", \"token\": %d, \"logprob\": %.9g", g->r->output.ids[i], g->r->logprobs[i]);
    }
    fputs("}\n", f);
}

// Prompt tokens [0, n) through the model in chunks; the last one picks the next token when asked.
static int prefill(run *g, int n, const dy_forward_opts *base, bool pick, dy_error *err) {
    const int chunk = g->o->prefill_chunk > 0 ? g->o->prefill_chunk : g->m->max_chunk;
    for (int p = 0; p < n; p += chunk) {
        int k = n - p < chunk ? n - p : chunk;
        dy_forward_opts f = *base;
        f.pick = pick && p + k == n ? next_pick(g) : NULL;
        if (dy_model_forward(g->m, g->seq + p, k, p, &f, err)) return -1;
    }
    return 0;
}

// vanilla and attnsharp: the whole prompt, then one token per step.
static int run_plain(run *g, dy_error *err) {
    const float temperature = g->o->method == DY_METHOD_ATTNSHARP ? g->o->attn_temperature : 1.0f;
    dy_forward_opts f = {.temperature = temperature, .picked = &g->picked};
    double t0 = dy_now();
    if (prefill(g, g->n_prompt, &f, true, err)) return -1;
    g->r->prefill_seconds = dy_now() - t0;
    t0 = dy_now();
    for (;;) {
        produce(g);
        trace_line(g, g->len - 2, "decode", -1, NULL, 0, true);
        if (g->done) break;
        f.pick = next_pick(g);
        if (dy_model_forward(g->m, g->seq + g->len - 1, 1, g->len - 1, &f, err)) return -1;
    }
    g->r->decode_seconds = dy_now() - t0;
    return 0;
}

// A DySCO config's head list is what its passes capture.
_Static_assert((int)DY_DYSCO_MAX_HEADS <= (int)DY_MODEL_MAX_CAPTURE, "a DySCO head list must fit one capture");

// DySCO (runtime/dysco/README.md §1-§6): the last T = Wc + Wi prompt tokens are held back and fed
// one at a time; context warmup steps only update the importance, intervention steps run the
// speculative pass (dynamic), select, and run the real pass with the bias. The speculative
// pass writes its K/V at the fed position like any pass; the real pass that follows overwrites
// them, so the cache ends as if the speculative K/V had never been kept (dysco/README §1).
static int run_dysco(run *g, dy_error *err) {
    const dy_dysco_config *cfg = g->o->dysco;
    const int N = g->n_prompt, Wi = g->o->interv_warmup, pairs = cfg->n_heads, max_ctx = g->m->kv.max_ctx;
    dy_dysco_state st;
    if (dy_dysco_init(&st, cfg, g->seq, N, Wi, max_ctx, err)) return -1;
    int layer[DY_DYSCO_MAX_HEADS], head[DY_DYSCO_MAX_HEADS], top[DY_TRACE_TOP_POSITIONS];
    for (int i = 0; i < pairs; i++) {
        layer[i] = cfg->heads[i].layer;
        head[i] = cfg->heads[i].head;
    }
    float *probs = malloc((size_t)pairs * (size_t)max_ctx * sizeof(float)), *bias = malloc((size_t)max_ctx * sizeof(float));
    int rc = probs && bias ? 0 : dy_fail(err, "dysco: out of memory");
    const dy_forward_opts plain = {0};
    double t0 = dy_now();
    if (rc == 0) rc = prefill(g, dy_dysco_prefill_len(N, cfg->ctx_warmup, Wi), &plain, false, err);
    g->m->be->finish(g->m->be);  // no token comes back from this prefill to wait for
    g->r->prefill_seconds = dy_now() - t0;
    t0 = dy_now();
    // Iteration k feeds seq[p], p = cur_len - 1, starting right after the prefill.
    for (int p = dy_dysco_prefill_len(N, cfg->ctx_warmup, Wi); rc == 0 && !g->done; p++) {
        const int c = p + 1;
        const dy_forward_opts capture = {.n_capture = pairs, .capture_layer = layer, .capture_head = head, .capture_out = probs};
        if (dy_dysco_phase_at(c, N, Wi) == DY_DYSCO_WARMUP) {
            rc = dy_model_forward(g->m, g->seq + p, 1, p, &capture, err);
            if (rc) break;
            dy_dysco_update(&st, probs, pairs, c);
            trace_line(g, p, "context_warmup", -1, top, dy_dysco_top_positions(&st, top, DY_TRACE_TOP_POSITIONS), false);
            continue;
        }
        if (cfg->dynamic) {
            dy_forward_opts speculative = capture;
            speculative.n_layers = dy_dysco_max_layer(cfg) + 1;
            rc = dy_model_forward(g->m, g->seq + p, 1, p, &speculative, err);
            if (rc) break;
            dy_dysco_update(&st, probs, pairs, c);
        }
        dy_dysco_select_and_bias(&st, c, bias);
        const bool produces = dy_dysco_step_produces(c, N);
        const dy_forward_opts real = {.bias = bias, .pick = produces ? next_pick(g) : NULL, .picked = &g->picked};
        rc = dy_model_forward(g->m, g->seq + p, 1, p, &real, err);
        if (rc) break;
        if (produces) produce(g);
        trace_line(g, p, "intervention", dy_dysco_last_n_selected(&st), top, dy_dysco_top_positions(&st, top, DY_TRACE_TOP_POSITIONS), produces);
    }
    g->r->decode_seconds = dy_now() - t0;
    g->r->has_logging = true;
    dy_dysco_logging(&st, g->r->logging);
    dy_dysco_free(&st);
    free(probs);
    free(bias);
    return rc;
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
    run g = {.m = m, .o = o, .r = r, .n_prompt = n_prompt, .len = n_prompt};
    g.seq = malloc((size_t)(n_prompt + most) * sizeof(int32_t));
    r->logprobs = malloc((size_t)most * sizeof(float));
    r->argmax = malloc((size_t)most * sizeof(int32_t));
    int rc = g.seq && r->logprobs && r->argmax ? 0 : dy_fail(err, "generate: out of memory");
    dy_sampler_init(&g.sampler, o->temperature, o->sample_top_p, o->sample_top_k, o->seed);
    if (rc == 0) {
        memcpy(g.seq, prompt, (size_t)n_prompt * sizeof(int32_t));
        rc = o->method == DY_METHOD_DYSCO ? run_dysco(&g, err) : run_plain(&g, err);
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

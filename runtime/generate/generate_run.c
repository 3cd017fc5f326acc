// The steps every decoding loop shares (generate_run.h): the next pick, recording a produced
// token, a --trace line, the chunked prefill.
#include "generate_run.h"

#include <errno.h>
#include <string.h>

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

int dy_run_trace(dy_run *g, int pos, const char *phase, const dy_dysco_state *st, bool selection, bool produced,
                 dy_error *err) {
    FILE *f = g->o->trace;
    if (!f) return 0;
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
    // The caller's file is line-buffered, so the line has reached the file or failed by now.
    if (ferror(f)) return dy_fail(err, "%s: write failed: %s", g->o->trace_name, strerror(errno));
    return 0;
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

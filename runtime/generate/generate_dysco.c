// DySCO's decoding loop (runtime/dysco/README.md §1-§7), in two forms with one timeline. On a
// backend with the device DySCO ops every step stays on the device: the speculative pass, the
// importance update, the selection and bias and the real pass are recorded once as a graph per
// kind of step and relaunched at each position (only the token comes back, and the trace when
// asked). Elsewhere (the CPU) the host controller runs between the passes, on downloaded rows.
#include <stdio.h>
#include <stdlib.h>

#include "generate_run.h"
#include "kernels/base/timing.h"
#include "runtime/dysco/dysco_controller.h"
#include "runtime/dysco/dysco_device.h"

// A DySCO config's head list is what its passes capture.
_Static_assert((int)DY_DYSCO_MAX_HEADS <= (int)DY_MODEL_MAX_CAPTURE, "a DySCO head list must fit one capture");

// The timeline (dysco/README §1): the last T = Wc + Wi prompt tokens are held back and fed one at
// a time; context warmup steps only update the importance, intervention steps run the
// speculative pass (dynamic), select, and run the real pass with the bias. The speculative pass
// writes its K/V at the fed position like any pass; the real pass that follows overwrites them,
// so the cache ends as if the speculative K/V had never been kept (dysco/README §1).

// Under tensor parallelism each rank captured the selected heads it holds (zeros in the rows of
// the others): its partial head sum over the context is all-gathered and every rank adds the
// partials in rank order, so importance, selection and bias are the same bits on every rank.
// (The device form does the same on the device: runtime/dysco/dysco_device.h.)
typedef struct {
    dy_comm *comm;      // over host memory; NULL at tp 1
    double *gathered;   // (tp, max_ctx)
    bool check;         // compare a hash of every selection across the ranks
} tp_relevance;

static void update_importance(tp_relevance *t, dy_dysco_state *st, const float *probs, int pairs, int c) {
    if (!t->comm) {
        dy_dysco_update(st, probs, pairs, c);
        return;
    }
    dy_dysco_head_sum(st, probs, pairs, c);
    t->comm->all_gather(t->comm, st->head_sum, t->gathered, (size_t)c * sizeof(double));
    for (int j = 0; j < c; j++) {
        double sum = t->gathered[j];
        for (int r = 1; r < t->comm->size; r++) sum += t->gathered[(size_t)r * (size_t)c + (size_t)j];
        st->head_sum[j] = sum;
    }
    dy_dysco_update_from_sum(st, pairs, c);
}

// FNV-1a over the selection and the bias of a step.
static uint64_t selection_hash(const dy_dysco_state *st, const float *bias, int c) {
    uint64_t h = 0xcbf29ce484222325ull;
    const unsigned char *parts[2] = {(const unsigned char *)st->selected, (const unsigned char *)bias};
    const size_t bytes[2] = {(size_t)c * sizeof *st->selected, (size_t)c * sizeof *bias};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < bytes[k]; i++) h = (h ^ parts[k][i]) * 0x100000001b3ull;
    return h;
}

// The debug check of --tp-check-selection: every rank's hash against rank 0's; a difference is a
// bug that would let the ranks' tokens diverge, so it ends the job naming the position.
static void check_selection(tp_relevance *t, const dy_dysco_state *st, const float *bias, int c, int pos) {
    if (!t->comm || !t->check) return;
    uint64_t mine = selection_hash(st, bias, c), all[t->comm->size];
    t->comm->all_gather(t->comm, &mine, all, sizeof mine);
    if (mine == all[0]) return;
    fprintf(stderr, "dysco: rank %d of %d: DySCO selection at position %d differs from rank 0's (hash %016llx, rank 0 %016llx)\n",
            t->comm->rank, t->comm->size, pos, (unsigned long long)mine, (unsigned long long)all[0]);
    t->comm->abort(t->comm, 1);
}

// The host form: the controller between passes whose capture rows come back to the host.
static int decode_on_host(dy_run *g, dy_dysco_state *st, const int *layer, const int *head, dy_error *err) {
    const dy_dysco_config *cfg = g->o->dysco;
    const int N = g->n_prompt, Wi = g->o->interv_warmup, pairs = cfg->n_heads, max_ctx = g->m->kv.max_ctx;
    const dy_model_shard *shard = &g->m->shard;
    tp_relevance tp = {.comm = shard->tp > 1 ? shard->comm->host : NULL, .check = g->o->tp_check_selection};
    float *probs = malloc((size_t)pairs * (size_t)max_ctx * sizeof(float)), *bias = malloc((size_t)max_ctx * sizeof(float));
    if (tp.comm) tp.gathered = malloc((size_t)shard->tp * (size_t)max_ctx * sizeof(double));
    int rc = probs && bias && (!tp.comm || tp.gathered) ? 0 : dy_fail(err, "dysco: out of memory");
    // Iteration k feeds seq[p], p = cur_len - 1, starting right after the prefill.
    for (int p = dy_dysco_prefill_len(N, cfg->ctx_warmup, Wi); rc == 0 && !g->done; p++) {
        const int c = p + 1;
        const dy_forward_opts capture = {.n_capture = pairs, .capture_layer = layer, .capture_head = head, .capture_out = probs};
        if (dy_dysco_phase_at(c, N, Wi) == DY_DYSCO_WARMUP) {
            rc = dy_model_forward(g->m, g->seq + p, 1, p, &capture, err);
            if (rc) break;
            update_importance(&tp, st, probs, pairs, c);
            rc = dy_run_trace(g, p, "context_warmup", st, false, false, err);
            continue;
        }
        if (cfg->dynamic) {
            dy_forward_opts speculative = capture;
            speculative.n_layers = dy_dysco_max_layer(cfg) + 1;
            rc = dy_model_forward(g->m, g->seq + p, 1, p, &speculative, err);
            if (rc) break;
            update_importance(&tp, st, probs, pairs, c);
        }
        dy_dysco_select_and_bias(st, c, bias);
        check_selection(&tp, st, bias, c, p);
        const bool produces = dy_dysco_step_produces(c, N);
        const dy_forward_opts real = {.bias = bias, .pick = produces ? dy_run_next_pick(g) : NULL, .picked = &g->picked};
        rc = dy_model_forward(g->m, g->seq + p, 1, p, &real, err);
        if (rc) break;
        if (produces) dy_run_produce(g);
        rc = dy_run_trace(g, p, "intervention", st, true, produces, err);
    }
    free(probs);
    free(bias);
    free(tp.gathered);
    return rc;
}

// ---- the device form ---------------------------------------------------------------------------

typedef struct {
    dy_run *g;
    dy_dysco_device dev;
    void *graph[2];   // [warmup], the recorded step of each kind; NULL: run its ops directly
    bool tried[2];    // whether recording it was attempted
} device_loop;

// The ops of one step at the position dy_model_step_inputs gave, none of them a host transfer.
static void enqueue_step(device_loop *d, bool warmup) {
    dy_model *m = d->g->m;
    const dy_dysco_config *cfg = d->g->o->dysco;
    const dy_forward_opts capture = {.n_capture = cfg->n_heads};
    if (warmup || cfg->dynamic) {
        dy_forward_opts pass = capture;
        if (!warmup) pass.n_layers = dy_dysco_max_layer(cfg) + 1;  // the speculative pass: no LM head
        dy_model_step_ops(m, &pass, false);
        dy_dysco_device_update(&d->dev);
    }
    if (warmup) return;
    dy_dysco_device_select(&d->dev);
    const dy_forward_opts real = {.bias_on_device = true};
    dy_model_step_ops(m, &real, true);
}

static void run_step(device_loop *d, bool warmup) {
    dy_backend *be = d->g->m->be;
    if (!d->tried[warmup] && be->graph_begin) {
        be->graph_begin(be);
        enqueue_step(d, warmup);
        d->graph[warmup] = be->graph_end(be);
    }
    d->tried[warmup] = true;
    if (d->graph[warmup]) be->graph_launch(be, d->graph[warmup]);
    else enqueue_step(d, warmup);
}

const char *const dy_dysco_phase_names[DY_DYSCO_PHASE_N] = {
    [DY_DYSCO_PHASE_STEP] = "step", [DY_DYSCO_PHASE_SPECULATIVE] = "speculative",
    [DY_DYSCO_PHASE_SPEC_NO_CAPTURE] = "speculative_without_capture", [DY_DYSCO_PHASE_UPDATE] = "update",
    [DY_DYSCO_PHASE_SELECT] = "select", [DY_DYSCO_PHASE_REAL] = "real", [DY_DYSCO_PHASE_PLAIN] = "plain",
};

// The ops of one phase (dysco_phases), enqueued at the position the last step left.
static void enqueue_phase(device_loop *d, int phase) {
    dy_model *m = d->g->m;
    const dy_dysco_config *cfg = d->g->o->dysco;
    const int spec_layers = dy_dysco_max_layer(cfg) + 1;
    switch (phase) {
    case DY_DYSCO_PHASE_STEP: enqueue_step(d, false); break;
    case DY_DYSCO_PHASE_SPECULATIVE:
        dy_model_step_ops(m, &(dy_forward_opts){.n_capture = cfg->n_heads, .n_layers = spec_layers}, false);
        break;
    case DY_DYSCO_PHASE_SPEC_NO_CAPTURE: dy_model_step_ops(m, &(dy_forward_opts){.n_layers = spec_layers}, false); break;
    case DY_DYSCO_PHASE_UPDATE: dy_dysco_device_update(&d->dev); break;
    case DY_DYSCO_PHASE_SELECT: dy_dysco_device_select(&d->dev); break;
    case DY_DYSCO_PHASE_REAL: dy_model_step_ops(m, &(dy_forward_opts){.bias_on_device = true}, true); break;
    case DY_DYSCO_PHASE_PLAIN: dy_model_step_ops(m, &(dy_forward_opts){0}, true); break;
    }
}

// Each phase recorded alone (as the step is) and launched back to back: the mean interval is
// what the phase adds to a step. Run after the last token: the repeated updates change the
// importance, which nothing reads any more.
static void time_phases(device_loop *d, double *ms) {
    enum { kReps = 10 };
    dy_backend *be = d->g->m->be;
    for (int phase = 0; phase < DY_DYSCO_PHASE_N; phase++) {
        void *graph = NULL;
        if (be->graph_begin) {
            be->graph_begin(be);
            enqueue_phase(d, phase);
            graph = be->graph_end(be);
        }
        for (int warm = 0; warm < 2; warm++) {  // the first round pays the first launch's setup
            be->finish(be);
            const double t0 = dy_now();
            for (int r = 0; r < kReps; r++) {
                if (graph) be->graph_launch(be, graph);
                else enqueue_phase(d, phase);
            }
            be->finish(be);
            ms[phase] = 1e3 * (dy_now() - t0) / kReps;
        }
        if (graph) be->graph_free(be, graph);
    }
}

static int decode_on_device(dy_run *g, dy_dysco_state *st, dy_error *err) {
    const dy_dysco_config *cfg = g->o->dysco;
    dy_model *m = g->m;
    const int N = g->n_prompt, Wi = g->o->interv_warmup;
    device_loop d = {.g = g};
    // The gather runs whenever the model's collectives are NCCL's, TP1 through NCCL included.
    dy_comm *comm = m->shard.comm && m->shard.comm->device_memory ? m->shard.comm : NULL;
    if (dy_dysco_device_init(&d.dev, m->be, st, m->positions, m->capture, m->n_capture_owned, cfg->n_heads, comm,
                             m->bias, err))
        return -1;
    tp_relevance tp = {.comm = m->shard.tp > 1 ? m->shard.comm->host : NULL, .check = g->o->tp_check_selection};
    float *bias = tp.comm && tp.check ? malloc((size_t)m->kv.max_ctx * sizeof(float)) : NULL;
    int rc = !tp.comm || !tp.check || bias ? 0 : dy_fail(err, "dysco: out of memory");
    const bool tracing = g->o->trace != NULL;
    for (int p = dy_dysco_prefill_len(N, cfg->ctx_warmup, Wi); rc == 0 && !g->done; p++) {
        const int c = p + 1;
        const bool warmup = dy_dysco_phase_at(c, N, Wi) == DY_DYSCO_WARMUP, produces = !warmup && dy_dysco_step_produces(c, N);
        if ((rc = dy_model_step_inputs(m, g->seq[p], p, err))) break;
        run_step(&d, warmup);
        if (bias && !warmup) {  // the debug check: this step's selection and bias to the host
            dy_dysco_device_read(&d.dev, st, c, false, true);
            m->be->download(m->be, bias, m->bias, (size_t)c * sizeof(float));
            check_selection(&tp, st, bias, c, p);
        }
        if (produces) {
            dy_model_pick(m, dy_run_next_pick(g), &g->picked);
            dy_run_produce(g);
        }
        if (!tracing) continue;
        dy_dysco_device_read(&d.dev, st, c, true, !warmup && g->o->trace_selected);
        rc = dy_run_trace(g, p, warmup ? "context_warmup" : "intervention", st, !warmup, produces, err);
    }
    m->be->finish(m->be);
    dy_dysco_device_read(&d.dev, st, st->len, false, false);  // the logging sums
    if (rc == 0 && g->o->dysco_phases) {
        time_phases(&d, g->r->phase_ms);
        g->r->has_phases = true;
    }
    for (int k = 0; k < 2; k++)
        if (d.graph[k]) m->be->graph_free(m->be, d.graph[k]);
    dy_dysco_device_free(&d.dev);
    free(bias);
    return rc;
}

int dy_run_dysco(dy_run *g, dy_error *err) {
    const dy_dysco_config *cfg = g->o->dysco;
    dy_model *m = g->m;
    const int N = g->n_prompt, Wi = g->o->interv_warmup, pairs = cfg->n_heads;
    dy_dysco_state st;
    if (dy_dysco_init(&st, cfg, g->seq, N, Wi, m->kv.max_ctx, err)) return -1;
    int layer[DY_DYSCO_MAX_HEADS], head[DY_DYSCO_MAX_HEADS];
    for (int i = 0; i < pairs; i++) {
        layer[i] = cfg->heads[i].layer;
        head[i] = cfg->heads[i].head;
    }
    const bool on_device = m->be->dysco_update && m->be->dysco_head_sum && m->be->dysco_select;
    const dy_forward_opts plain = {0};
    double t0 = dy_now();
    int rc = dy_model_set_capture(m, pairs, layer, head, err);
    if (rc == 0) rc = dy_run_prefill(g, dy_dysco_prefill_len(N, cfg->ctx_warmup, Wi), &plain, false, err);
    m->be->finish(m->be);  // no token comes back from this prefill to wait for
    g->r->prefill_seconds = dy_now() - t0;
    t0 = dy_now();
    if (rc == 0) rc = on_device ? decode_on_device(g, &st, err) : decode_on_host(g, &st, layer, head, err);
    g->r->decode_seconds = dy_now() - t0;
    g->r->has_logging = true;
    dy_dysco_logging(&st, g->r->logging);
    dy_dysco_free(&st);
    return rc;
}

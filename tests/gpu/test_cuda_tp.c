// Tensor parallelism on one GPU: run under `mpirun -np 1`, `-np 2` and `-np 4`, every rank on the
// same GPU. Each rank loads the tiny Qwen3, Llama-3 and Qwen3-MoE checkpoints of tp_fixture.h
// whole (one process's model, graphs on) and as its shard, whose all-reduces and gathers are
// staged through the host over MPI (staged_comm.h: NCCL takes one rank per GPU), so the shards'
// partial sums are added as an all-reduce adds them. Checks, per preset and rank:
// - the logits of the shard's vocabulary slice at every position of a prompt in two prefill
//   chunks and 24 one-token steps against the whole model's: relative error within the bf16
//   tolerance of the GPU tests, and the slice's top id the same wherever the whole model's top two
//   are not a near-tie;
// - DySCO (hybrid selection over heads spread across the ranks, so every rank contributes to the
//   gathered relevance): the whole model's greedy tokens, teacher-forced through the shard with
//   the cross-rank selection check on (a rank whose selection or bias differs ends the job): the
//   log-probabilities of the forced tokens within a bf16 tolerance, the argmax the same except at
//   near-ties;
// - with one process, the NCCL communicator of one rank (what --nccl runs): the same logits and
//   DySCO tokens bit for bit as without it, as a one-rank sum and gather leave the data as it is.
// Without a GPU it prints SKIPPED and exits 77 (ctest: skipped).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_util.h"
#include "../tp_fixture.h"
#include "kernels/device_info.h"
#include "runtime/generate/generate.h"
#include "staged_comm.h"

// bf16 storage makes each rank's partial sum, and then their sum, round where one matmul rounds
// once: the GPU tests' tolerance (tests/gpu/test_cuda_ops.c) bounds the difference.
static const double REL_TOL = 2e-2;
// Top-two gaps below this (logits rms about 0.2 here) are ties at bf16 precision.
static const double NEAR_TIE = 0.02;
// Log-probabilities of forced tokens under DySCO: bf16 noise, plus a selection that may differ
// where two importances are within rounding of each other.
static const double LOGPROB_TOL = 0.05;

static const char *dysco_bin;
static dy_comm *comm;

static dy_backend *gpu(bool graphs) {
    dy_error err;
    dy_backend *be = dy_backend_cuda_create(0, &err);
    if (!be) setup_die(err.msg);
    if (!graphs) be->graph_begin = NULL;  // the staged collectives download: not recordable
    return be;
}

// The gap between the top value of v (n) and v[i].
static double gap_to(const float *v, int64_t n, int64_t i) { return (double)v[argmax_f32(v, n)] - v[i]; }

static void check_logits(const char *preset, const char *how, dy_model *whole, dy_model *shard, bool exact) {
    dy_error err;
    const dy_model_shard *s = &shard->shard;
    int32_t tokens[TP_PROMPT + TP_STEPS];
    tp_tokens(tokens);
    const int64_t positions = TP_PROMPT + TP_STEPS;
    float *want = xmalloc((size_t)(positions * TP_VOCAB) * sizeof(float)),
          *got = xmalloc((size_t)(positions * s->vocab) * sizeof(float));
    if (tp_run_positions(whole, tokens, want, TP_VOCAB, &err) || tp_run_positions(shard, tokens, got, s->vocab, &err))
        setup_die(err.msg);
    double worst = 0, worst_tie = 0;
    int agree = 0, ties = 0, compared = 0, identical = 0;
    for (int64_t p = TP_PROMPT - 1; p < positions; p++) {
        const float *w = want + p * TP_VOCAB + s->vocab0, *g = got + p * s->vocab;
        const double e = tp_rel_error(g, w, s->vocab);
        worst = e > worst ? e : worst;
        identical += memcmp(g, w, (size_t)s->vocab * sizeof(float)) == 0;
        const int top = argmax_f32(g, s->vocab);
        if (top == argmax_f32(w, s->vocab)) {
            agree++;
        } else {  // a miss counts only as a tie of the whole model's own top two
            const double gap = gap_to(w, s->vocab, top);
            ties += gap < NEAR_TIE;
            worst_tie = gap > worst_tie ? gap : worst_tie;
        }
        compared++;
    }
    if (exact) {
        check(identical == compared, "%s %s rank %d/%d: logits identical to the whole model's at %d of %d positions",
              preset, how, comm->rank, comm->size, identical, compared);
    } else {
        check(worst < REL_TOL, "%s %s rank %d/%d: logits of vocabulary [%lld, %lld) at %d positions: worst relative error %.3g",
              preset, how, comm->rank, comm->size, (long long)s->vocab0, (long long)(s->vocab0 + s->vocab), compared, worst);
        check(agree + ties == compared, "%s %s rank %d/%d: the slice's top id agrees at %d of %d positions, %d near-ties (largest gap %.4f)",
              preset, how, comm->rank, comm->size, agree, compared, ties, worst_tie);
    }
    free(want);
    free(got);
}

// Heads of every rank at np 2 and 4 (8 query heads: rank r of 4 holds 2r, 2r + 1).
static void dysco_config(dy_dysco_config *c) {
    static const dy_dysco_head heads[] = {{1, 0}, {1, 5}, {2, 3}, {3, 7}, {2, 6}, {0, 2}};
    dy_dysco_config_defaults(c);
    c->n_heads = (int)(sizeof heads / sizeof *heads);
    memcpy(c->heads, heads, sizeof heads);
    c->has_select_top_k = c->has_select_top_p = true;
    c->select_top_k = 12;
    c->select_top_p = 0.6;
    c->strength = 3.0;
    c->decay = 0.75;
    c->ctx_warmup = 8;
    c->interv_auto = false;
    c->interv_warmup = 2;
    c->scale_template_tokens = true;
}

static void run_dysco(dy_model *m, const dy_dysco_config *cfg, const int32_t *forced, dy_generate_result *r) {
    dy_error err;
    int32_t tokens[TP_PROMPT + TP_STEPS];
    tp_tokens(tokens);
    const dy_generate_opts o = {.method = DY_METHOD_DYSCO, .dysco = cfg, .interv_warmup = cfg->interv_warmup,
                                .max_new_tokens = TP_STEPS, .sample_top_p = 1.0f, .forced = forced,
                                .n_forced = forced ? TP_STEPS : 0, .prefill_chunk = TP_PROMPT / 2,
                                .tp_check_selection = true};
    if (dy_generate(m, tokens, TP_PROMPT, &o, r, &err)) setup_die(err.msg);
}

static void check_dysco(const char *preset, const char *how, dy_model *whole, dy_model *shard, bool exact) {
    dy_dysco_config cfg;
    dysco_config(&cfg);
    dy_generate_result want = {0}, got = {0};
    run_dysco(whole, &cfg, NULL, &want);
    if (exact) {
        run_dysco(shard, &cfg, NULL, &got);
        const bool same = got.output.n == want.output.n &&
                          memcmp(got.output.ids, want.output.ids, (size_t)want.output.n * sizeof(int32_t)) == 0 &&
                          memcmp(got.logprobs, want.logprobs, (size_t)want.output.n * sizeof(float)) == 0;
        check(same, "%s %s: DySCO's %d greedy tokens and their logprobs identical to the whole model's", preset, how,
              want.output.n);
    } else {
        run_dysco(shard, &cfg, want.output.ids, &got);
        double worst = 0;
        int agree = 0;
        for (int i = 0; i < want.output.n && i < got.output.n; i++) {
            const double d = fabs((double)got.logprobs[i] - want.logprobs[i]);
            worst = d > worst ? d : worst;
            agree += got.argmax[i] == want.output.ids[i];
        }
        check(got.output.n == want.output.n && worst < LOGPROB_TOL,
              "%s %s rank %d/%d: DySCO, %d forced tokens: worst logprob difference %.4f", preset, how, comm->rank,
              comm->size, got.output.n, worst);
        // The argmax of a forced step is the whole model's greedy token, up to what bf16 noise moves.
        check(agree >= want.output.n - 2, "%s %s rank %d/%d: DySCO argmax equal to the greedy token at %d of %d steps",
              preset, how, comm->rank, comm->size, agree, want.output.n);
    }
    dy_generate_result_free(&want);
    dy_generate_result_free(&got);
}

static void test_preset(const char *preset) {
    char *dir = tp_checkpoint(comm, dysco_bin, preset);
    dy_checkpoint ck;
    dy_error err;
    if (dy_checkpoint_open(dir, &ck, &err)) setup_die(err.msg);
    const int ctx = TP_PROMPT + TP_STEPS;
    dy_backend *be_whole = gpu(true), *be_shard = gpu(false);  // a backend each: prepare() sizes one model's scratch
    dy_model whole, shard;
    dy_comm *staged = staged_comm_create(comm, be_shard);
    if (dy_model_load(&whole, be_whole, &ck, ctx, TP_PROMPT / 2, &err) ||
        dy_model_load_shard(&shard, be_shard, &ck, staged, ctx, TP_PROMPT / 2, &err))
        setup_die(err.msg);
    check(shard.shard.tp == comm->size && shard.shard.n_heads == 8 / comm->size &&
              shard.shard.n_kv_heads == (comm->size == 1 ? 2 : 1),
          "%s rank %d/%d: %d query heads, %d KV heads", preset, comm->rank, comm->size, shard.shard.n_heads,
          shard.shard.n_kv_heads);
    check_logits(preset, "staged", &whole, &shard, false);
    check_dysco(preset, "staged", &whole, &shard, false);
    dy_model_free(&shard);
    staged->destroy(staged);
    if (comm->size == 1) {  // NCCL of one rank, on the graph path as --nccl runs it
        dy_backend *be_nccl = gpu(true);
        dy_comm *nccl = dy_comm_nccl_create(comm, be_nccl->stream, &err);
        if (!nccl || dy_model_load_shard(&shard, be_nccl, &ck, nccl, ctx, TP_PROMPT / 2, &err)) setup_die(err.msg);
        check_logits(preset, "nccl", &whole, &shard, true);
        check_dysco(preset, "nccl", &whole, &shard, true);
        dy_model_free(&shard);
        nccl->destroy(nccl);
        be_nccl->destroy(be_nccl);
    }
    dy_model_free(&whole);
    dy_checkpoint_close(&ck);
    be_whole->destroy(be_whole);
    be_shard->destroy(be_shard);
    tp_checkpoint_remove(comm, dir);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO", &dysco_bin, NULL);
    if (dy_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device visible\n");
        return 77;
    }
    return tp_run_presets(&comm, test_preset);
}

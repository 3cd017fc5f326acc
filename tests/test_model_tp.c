// The tensor-parallel model (runtime/model: dy_model_load_shard) against the one-process model,
// on every rank of a job (run under `mpirun -np 2` and `-np 4`; one process is TP1 itself). For
// tiny Qwen3, Llama-3 and Qwen3-MoE checkpoints with 8 query heads and 2 KV heads (np 4
// replicates each KV head on two ranks) and an odd vocabulary (1001: the last rank's slice is
// shorter), each rank loads its shard and the whole model, runs a 40-token prompt in two prefill
// chunks and 24 one-token steps, and compares its slice of the logits at every position with
// the same slice of the whole model's: relative error below 1e-5 (the ranks' partial sums are
// added in another order than one matmul adds them), and the top id of the slice the same. A
// shard on the bf16-storage twin (cpu-bf16) is refused with one line.
// One PASS/FAIL line per check and rank; "N passed, M failed" last.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel/comm.h"
#include "runtime/model/model.h"
#include "test_util.h"
#include "tp_fixture.h"

static const char *dysco_bin;
static dy_comm *comm;

// The bf16-storage twin stands for one GPU (under tensor parallelism it would have to round each
// partial sum as NCCL does), and
// a job asking for it gets one line saying so, before anything is allocated.
static void check_twin_refused(const char *preset, const dy_checkpoint *ck) {
    dy_backend *twin = dy_backend_cpu_bf16_create();
    if (!twin) setup_die("cpu-bf16 backend");
    dy_model m;
    dy_error err;
    const int rc = dy_model_load_shard(&m, twin, ck, comm, TP_PROMPT + TP_STEPS, TP_PROMPT / 2, &err);
    check(rc != 0 && strstr(err.msg, "the cpu-bf16 twin runs as one process"),
          "%s rank %d/%d: a cpu-bf16 shard is refused: %s", preset, comm->rank, comm->size, rc ? err.msg : "loaded");
    if (rc == 0) dy_model_free(&m);
    twin->destroy(twin);
}

static void test_preset(const char *preset) {
    char *dir = tp_checkpoint(comm, dysco_bin, preset);
    dy_checkpoint ck;
    dy_model whole, shard;
    dy_error err;
    // A backend each: prepare() sizes a backend's scratch for one model's shapes.
    dy_backend *be_whole = dy_backend_cpu_create(), *be_shard = dy_backend_cpu_create();
    if (!be_whole || !be_shard) setup_die("CPU backend");
    if (dy_checkpoint_open(dir, &ck, &err)) setup_die(err.msg);
    if (dy_model_load(&whole, be_whole, &ck, TP_PROMPT + TP_STEPS, TP_PROMPT / 2, &err) ||
        dy_model_load_shard(&shard, be_shard, &ck, comm, TP_PROMPT + TP_STEPS, TP_PROMPT / 2, &err))
        setup_die(err.msg);
    if (comm->size > 1) check_twin_refused(preset, &ck);
    const dy_model_shard *s = &shard.shard;
    check(s->tp == comm->size && s->n_heads == 8 / comm->size &&
              s->n_kv_heads == (comm->size == 1 ? 2 : 1),
          "%s rank %d/%d: %d query heads, %d KV heads, vocabulary [%lld, %lld)", preset, comm->rank, comm->size,
          s->n_heads, s->n_kv_heads, (long long)s->vocab0, (long long)(s->vocab0 + s->vocab));
    int32_t tokens[TP_PROMPT + TP_STEPS];
    tp_tokens(tokens);
    const int64_t positions = TP_PROMPT + TP_STEPS;
    float *want = xmalloc((size_t)(positions * TP_VOCAB) * sizeof(float)),
          *got = xmalloc((size_t)(positions * s->vocab) * sizeof(float));
    if (tp_run_positions(&whole, tokens, want, TP_VOCAB, &err) || tp_run_positions(&shard, tokens, got, s->vocab, &err))
        setup_die(err.msg);
    double worst = 0;
    int top_agree = 0, compared = 0;
    for (int64_t p = TP_PROMPT - 1; p < positions; p++) {
        const float *w = want + p * TP_VOCAB + s->vocab0, *g = got + p * s->vocab;
        const double e = tp_rel_error(g, w, s->vocab);
        worst = e > worst ? e : worst;
        top_agree += argmax_f32(g, s->vocab) == argmax_f32(w, s->vocab);
        compared++;
    }
    check(worst < 1e-5, "%s rank %d/%d: logits of vocabulary [%lld, %lld) at %d positions: worst relative error %.3g",
          preset, comm->rank, comm->size, (long long)s->vocab0, (long long)(s->vocab0 + s->vocab), compared, worst);
    check(top_agree == compared, "%s rank %d/%d: the slice's top id agrees at %d of %d positions", preset, comm->rank,
          comm->size, top_agree, compared);
    free(want);
    free(got);
    dy_model_free(&whole);
    dy_model_free(&shard);
    dy_checkpoint_close(&ck);
    be_whole->destroy(be_whole);
    be_shard->destroy(be_shard);
    tp_checkpoint_remove(comm, dir);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO", &dysco_bin, NULL);
    return tp_run_presets(&comm, test_preset);
}

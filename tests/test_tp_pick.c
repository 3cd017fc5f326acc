// The vocabulary-parallel pick (parallel/tp_pick.h) against the CPU pick on the whole vocabulary,
// on every rank of a job (run as one process and under `mpirun -np 2, 3 and 4`). Every rank draws
// the same random logits (vocabulary 1001: uneven slices), keeps its slice and picks; the token
// and argmax must equal the whole-vocabulary pick's and the log-probability be within 1e-6 of it,
// for greedy decoding (with the largest logit planted twice, across a slice boundary: the lower
// id wins), forced tokens in every slice, and sampling (temperature, top-k, top-p, both) at many u.
// One PASS/FAIL line per case and rank; "N passed, M failed" last.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/backend.h"
#include "parallel/comm.h"
#include "parallel/tp_pick.h"
#include "runtime/model/tp_shard.h"
#include "test_util.h"

enum { VOCAB = 1001 };

static dy_comm *comm;
static dy_backend *cpu;

// Whether this rank's pick of its slice agrees with the whole-vocabulary pick; every rank
// reports its own result.
static bool same_pick(const float *logits, const dy_pick_params *p, const char *what) {
    dy_model_config cfg = {.vocab_size = VOCAB};
    int64_t first, n;
    dy_tp_vocab_range(&cfg, comm->size, comm->rank, &first, &n);
    dy_pick want, got;
    cpu->pick(cpu, logits, VOCAB, p, &want);
    dy_tp_pick(comm, logits + first, first, (int)n, p, &got);
    return check(got.token == want.token && got.argmax == want.argmax && fabsf(got.logprob - want.logprob) <= 1e-6f,
                 "rank %d/%d %s: token %d (want %d), argmax %d (want %d), logprob %.7f (want %.7f)", comm->rank,
                 comm->size, what, got.token, want.token, got.argmax, want.argmax, got.logprob, want.logprob);
}

int main(void) {
    dy_launch_env env;
    dy_error err;
    if (dy_launch_env_read(&env, &err) || !(comm = dy_comm_create(&env, &err))) setup_die(err.msg);
    if (!(cpu = dy_backend_create("cpu", 0, &err))) setup_die(err.msg);
    const dy_op_limits limits = {.max_rows = 1, .hidden = 1, .intermediate = 1, .vocab = VOCAB};
    if (cpu->prepare(cpu, &limits)) setup_die("the CPU backend's scratch");
    float *logits = xmalloc(VOCAB * sizeof(float));
    uint64_t state = 0x5eed;
    for (int i = 0; i < VOCAB; i++) logits[i] = uniform_f32(&state, -6.0f, 6.0f);
    // Greedy: the largest logit at id 600 and again at 250 (slices of 1001: 501/500, 334/334/333,
    // 251/251/251/248): the lower id must win wherever the boundary falls.
    logits[600] = logits[250] = 9.5f;
    same_pick(logits, &(dy_pick_params){.forced = -1}, "greedy, tie across slices");
    logits[250] = 9.0f;
    same_pick(logits, &(dy_pick_params){.forced = -1}, "greedy");
    const int32_t forced[] = {0, 250, 251, 500, 501, 600, 752, 1000};
    for (int i = 0; i < (int)(sizeof forced / sizeof *forced); i++) {
        char what[64];
        snprintf(what, sizeof what, "forced %d", forced[i]);
        same_pick(logits, &(dy_pick_params){.forced = forced[i]}, what);
    }
    // Sampling: a flatter distribution, so top-k and top-p keep many tokens of every slice.
    for (int i = 0; i < VOCAB; i++) logits[i] = uniform_f32(&state, -2.0f, 2.0f);
    const struct { float temperature, top_p; int top_k; } modes[] = {
        {1.0f, 1.0f, 0}, {0.7f, 1.0f, 0}, {1.0f, 1.0f, 5}, {0.8f, 1.0f, 200}, {1.0f, 0.5f, 0},
        {1.3f, 0.9f, 0}, {0.9f, 0.8f, 50}, {1.0f, 1.0f, 1}, {1.0f, 1.0f, VOCAB + 5},
    };
    for (int m = 0; m < (int)(sizeof modes / sizeof *modes); m++)
        for (int k = 0; k < 8; k++) {
            const dy_pick_params p = {.temperature = modes[m].temperature, .sample_top_p = modes[m].top_p,
                                      .sample_top_k = modes[m].top_k, .u = uniform_f32(&state, 0.0f, 1.0f),
                                      .forced = -1};
            char what[128];
            snprintf(what, sizeof what, "sample T %.1f top-k %d top-p %.1f u %.4f", p.temperature, p.sample_top_k,
                     p.sample_top_p, p.u);
            same_pick(logits, &p, what);
        }
    free(logits);
    cpu->destroy(cpu);
    const int status = check_summary();
    comm->destroy(comm);
    return status;
}

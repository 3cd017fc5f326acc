#include "tp_fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

enum { PATH_BYTES = 4096 };

char *tp_checkpoint(dy_comm *comm, const char *dysco_bin, const char *preset) {
    char path[PATH_BYTES] = {0};
    if (comm->rank == 0) {
        char *dir = make_temp_dir("model-tp");
        snprintf(path, sizeof path, "%s/%s", dir, preset);
        free(dir);
        // A child of a rank: without the launcher's variables it is a process of its own.
        cmd_result r = run_cmd("env -u OMPI_COMM_WORLD_RANK -u OMPI_COMM_WORLD_SIZE '%s' make-model '%s' --preset %s "
                               "--heads 8 --kv-heads 2 --head-dim 32 --vocab %d --dtype fp32 --qk-std 0.08 --seed 5",
                               dysco_bin, path, preset, TP_VOCAB);
        if (r.status != 0) {
            fprintf(stderr, "make-model failed: %s", r.err);
            comm->abort(comm, 99);
        }
        cmd_result_free(&r);
    }
    comm->broadcast(comm, path, sizeof path, 0);
    return strdup(path);
}

void tp_checkpoint_remove(dy_comm *comm, char *dir) {
    comm->barrier(comm);  // every rank is done with the files
    if (comm->rank == 0) {
        *strrchr(dir, '/') = '\0';
        rm_rf(dir);
    }
    free(dir);
}

void tp_tokens(int32_t *tokens) {
    uint64_t rng = 0xC0FFEEull;
    for (int i = 0; i < TP_PROMPT + TP_STEPS; i++) tokens[i] = (int32_t)(uniform_f32(&rng, 0, TP_VOCAB)) % TP_VOCAB;
}

double tp_rel_error(const float *got, const float *want, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        den += (double)want[i] * want[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

int tp_run_positions(dy_model *m, const int32_t *tokens, float *logits, int64_t stride, dy_error *err) {
    const dy_forward_opts none = {0};
    dy_forward_opts with = {.logits = logits + (int64_t)(TP_PROMPT - 1) * stride};
    if (dy_model_forward(m, tokens, TP_PROMPT / 2, 0, &none, err)) return -1;
    if (dy_model_forward(m, tokens + TP_PROMPT / 2, TP_PROMPT / 2, TP_PROMPT / 2, &with, err)) return -1;
    for (int p = TP_PROMPT; p < TP_PROMPT + TP_STEPS; p++) {
        with.logits = logits + (int64_t)p * stride;
        if (dy_model_forward(m, tokens + p, 1, p, &with, err)) return -1;
    }
    return 0;
}

int tp_run_presets(dy_comm **comm, void (*test)(const char *preset)) {
    dy_launch_env env;
    dy_error err;
    if (dy_launch_env_read(&env, &err) || !(*comm = dy_comm_create(&env, &err))) setup_die(err.msg);
    test("tiny-qwen3");
    test("tiny-llama");
    test("tiny-qwen3-moe");
    const int status = check_summary();
    (*comm)->destroy(*comm);
    return status;
}

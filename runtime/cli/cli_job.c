#include "cli_job.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static dy_launch_env job_env = {DY_LAUNCHER_NONE, 0, 1, 0};

int dy_cli_job_init(dy_error *err) { return dy_launch_env_read(&job_env, err); }

const dy_launch_env *dy_cli_job_env(void) { return &job_env; }

int dy_cli_job_single(const char *verb, dy_error *err) {
    if (job_env.world_size == 1) return 0;
    return dy_fail(err, "%s: runs as one process, but %s started %d (tensor parallelism is for generate, score and bench)",
                   verb, dy_launcher_name(job_env.launcher), job_env.world_size);
}

int dy_cli_job_check_tp(const char *verb, int64_t tp, dy_error *err) {
    if (tp == 0 || tp == job_env.world_size) return 0;
    if (job_env.world_size == 1)
        return dy_fail(err, "%s: --tp %lld needs %lld processes: start it with mpirun -np %lld or srun -n %lld", verb,
                       (long long)tp, (long long)tp, (long long)tp, (long long)tp);
    return dy_fail(err, "%s: --tp %lld differs from the %d processes %s started (the world size is the degree)", verb,
                   (long long)tp, job_env.world_size, dy_launcher_name(job_env.launcher));
}

int dy_cli_job_agree(dy_comm *c, int rc, bool *quiet) {
    float failed = rc != 0;
    c->all_reduce_sum(c, &failed, 1, DY_F32);
    *quiet = rc == 0 && failed > 0;
    return failed > 0 ? -1 : 0;
}

int dy_cli_job_fail(dy_comm *c, int status, const dy_error *err) {
    dy_report(status, err);
    if (c->size > 1) c->abort(c, status);
    return status;
}

int dy_cli_job_check_nccl(bool nccl, const char *device, dy_error *err) {
    return nccl && strcmp(device, "cuda") != 0 ? dy_fail(err, "--nccl: NCCL carries a GPU's collectives: needs --device cuda, not %s", device) : 0;
}

int dy_cli_job_backend(dy_comm *c, const char *device, bool force_nccl, int rc, dy_backend **be, dy_comm **ops,
                       dy_error *err) {
    *be = NULL;
    *ops = NULL;
    if (rc == 0 && !(*be = dy_backend_create(device, job_env.local_rank, err))) rc = -1;
    bool quiet;
    if (dy_cli_job_agree(c, rc, &quiet)) return quiet ? DY_EXIT_FAIL : dy_report(DY_EXIT_FAIL, err);
    // Collective: every rank is here, so none waits in NCCL's setup for a rank that stopped before.
    if (!(*ops = dy_comm_for_backend(c, (*be)->stream, force_nccl, err))) return dy_cli_job_fail(c, DY_EXIT_FAIL, err);
    return DY_EXIT_OK;
}

int dy_report(int status, const dy_error *err) {
    const dy_launch_env *env = dy_cli_job_env();
    if (env->world_size > 1) fprintf(stderr, "dysco: rank %d of %d: %s\n", env->rank, env->world_size, err->msg);
    else fprintf(stderr, "dysco: %s\n", err->msg);
    fflush(stderr);
    return status;
}

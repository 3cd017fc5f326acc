#include "cli_job.h"

#include <stdio.h>

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
    c->all_reduce_sum(c, &failed, 1);
    *quiet = rc == 0 && failed > 0;
    return failed > 0 ? -1 : 0;
}

int dy_cli_job_fail(dy_comm *c, int status, const dy_error *err) {
    dy_report(status, err);
    if (c->size > 1) c->abort(c, status);
    return status;
}

int dy_report(int status, const dy_error *err) {
    const dy_launch_env *env = dy_cli_job_env();
    if (env->world_size > 1) fprintf(stderr, "dysco: rank %d of %d: %s\n", env->rank, env->world_size, err->msg);
    else fprintf(stderr, "dysco: %s\n", err->msg);
    fflush(stderr);
    return status;
}

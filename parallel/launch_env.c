#include "launch_env.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

// The variable as a non-negative int; *out is untouched when it is not set.
static int read_count(const char *name, int *out, dy_error *err) {
    const char *s = getenv(name);
    if (!s) return 0;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > INT_MAX)
        return dy_fail(err, "environment: %s: expected a non-negative integer, got '%s'", name, s);
    *out = (int)v;
    return 0;
}

typedef struct {
    dy_launcher launcher;
    const char *rank, *world_size, *local_rank;
} launcher_vars;

static const launcher_vars LAUNCHERS[] = {
    {DY_LAUNCHER_MPIRUN, "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
    {DY_LAUNCHER_SLURM, "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID"},
};

int dy_launch_env_read(dy_launch_env *env, dy_error *err) {
    *env = (dy_launch_env){DY_LAUNCHER_NONE, 0, 1, 0};
    for (size_t i = 0; i < sizeof LAUNCHERS / sizeof *LAUNCHERS; i++) {
        const launcher_vars *l = &LAUNCHERS[i];
        // SLURM_STEP_NUM_TASKS exists only inside an srun step, not in the batch script itself.
        if (!getenv(l->rank) || !getenv(l->world_size)) continue;
        env->launcher = l->launcher;
        if (read_count(l->rank, &env->rank, err) || read_count(l->world_size, &env->world_size, err) ||
            read_count(l->local_rank, &env->local_rank, err))
            return -1;
        if (env->world_size < 1) return dy_fail(err, "environment: %s: a job has at least one process", l->world_size);
        if (env->rank >= env->world_size)
            return dy_fail(err, "environment: %s %d is outside %s %d", l->rank, env->rank, l->world_size,
                           env->world_size);
        if (env->local_rank > env->rank)
            return dy_fail(err, "environment: %s %d exceeds %s %d", l->local_rank, env->local_rank, l->rank,
                           env->rank);
        return 0;
    }
    return 0;
}

const char *dy_launcher_name(dy_launcher l) {
    switch (l) {
    case DY_LAUNCHER_MPIRUN: return "mpirun";
    case DY_LAUNCHER_SLURM: return "slurm";
    default: return "none";
    }
}

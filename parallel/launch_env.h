// Where this process sits in a multi-process job, as its launcher tells it through the
// environment: Open MPI's mpirun (OMPI_COMM_WORLD_*), or a SLURM job step started by srun
// (SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID). The local rank picks the GPU of a rank.
// mpirun wins where both are set (mpirun inside an sbatch script); a batch script's own shell
// has SLURM job variables but no step, so it counts as a single process.
#ifndef DYSCO_LAUNCH_ENV_H
#define DYSCO_LAUNCH_ENV_H

#include "kernels/base/error.h"

typedef enum { DY_LAUNCHER_NONE, DY_LAUNCHER_MPIRUN, DY_LAUNCHER_SLURM } dy_launcher;

typedef struct {
    dy_launcher launcher;
    int rank, world_size;  // 0 and 1 without a launcher
    int local_rank;        // rank among the processes of this node
} dy_launch_env;

// Reads the variables; a malformed or inconsistent value (not a number, rank outside the world)
// fails with one line naming the variable.
int dy_launch_env_read(dy_launch_env *env, dy_error *err);
// "mpirun", "slurm" or "none".
const char *dy_launcher_name(dy_launcher l);

#endif

// The launcher environment: mpirun's and srun's variables give rank, world size and local rank;
// none gives a single process; a batch script's shell (job variables, no step) is a single
// process; malformed or inconsistent values fail with the variable named.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "parallel/launch_env.h"

static const char *const ALL_VARS[] = {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
                                       "SLURM_PROCID",         "SLURM_STEP_NUM_TASKS", "SLURM_LOCALID",
                                       "SLURM_NTASKS",         "SLURM_JOB_ID"};

static int clear_env(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof ALL_VARS / sizeof *ALL_VARS; i++) unsetenv(ALL_VARS[i]);
    return 0;
}

static dy_launch_env read_ok(void) {
    dy_launch_env env;
    dy_error err;
    if (dy_launch_env_read(&env, &err)) fail_msg("unexpected error: %s", err.msg);
    return env;
}

static void assert_error(const char *needle) {
    dy_launch_env env;
    dy_error err;
    assert_int_equal(dy_launch_env_read(&env, &err), -1);
    if (!strstr(err.msg, needle)) fail_msg("'%s' does not name '%s'", err.msg, needle);
}

static void test_no_launcher(void **state) {
    (void)state;
    const dy_launch_env env = read_ok();
    assert_int_equal(env.launcher, DY_LAUNCHER_NONE);
    assert_int_equal(env.rank, 0);
    assert_int_equal(env.world_size, 1);
    assert_int_equal(env.local_rank, 0);
    assert_string_equal(dy_launcher_name(env.launcher), "none");
}

static void test_mpirun(void **state) {
    (void)state;
    setenv("OMPI_COMM_WORLD_RANK", "5", 1);
    setenv("OMPI_COMM_WORLD_SIZE", "8", 1);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
    const dy_launch_env env = read_ok();
    assert_int_equal(env.launcher, DY_LAUNCHER_MPIRUN);
    assert_int_equal(env.rank, 5);
    assert_int_equal(env.world_size, 8);
    assert_int_equal(env.local_rank, 1);
    assert_string_equal(dy_launcher_name(env.launcher), "mpirun");
}

static void test_srun_step(void **state) {
    (void)state;
    setenv("SLURM_JOB_ID", "77", 1);
    setenv("SLURM_PROCID", "3", 1);
    setenv("SLURM_STEP_NUM_TASKS", "4", 1);
    setenv("SLURM_LOCALID", "3", 1);
    const dy_launch_env env = read_ok();
    assert_int_equal(env.launcher, DY_LAUNCHER_SLURM);
    assert_int_equal(env.rank, 3);
    assert_int_equal(env.world_size, 4);
    assert_int_equal(env.local_rank, 3);
}

// sbatch runs the script once with SLURM_PROCID=0 and SLURM_NTASKS of the whole allocation: that
// shell is one process, not rank 0 of a job whose other ranks never start.
static void test_batch_script_is_one_process(void **state) {
    (void)state;
    setenv("SLURM_JOB_ID", "77", 1);
    setenv("SLURM_PROCID", "0", 1);
    setenv("SLURM_NTASKS", "16", 1);
    const dy_launch_env env = read_ok();
    assert_int_equal(env.launcher, DY_LAUNCHER_NONE);
    assert_int_equal(env.world_size, 1);
}

// mpirun inside an sbatch script: the processes carry both sets; mpirun's are theirs.
static void test_mpirun_inside_slurm(void **state) {
    (void)state;
    setenv("SLURM_PROCID", "0", 1);
    setenv("SLURM_STEP_NUM_TASKS", "1", 1);
    setenv("OMPI_COMM_WORLD_RANK", "2", 1);
    setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
    const dy_launch_env env = read_ok();
    assert_int_equal(env.launcher, DY_LAUNCHER_MPIRUN);
    assert_int_equal(env.rank, 2);
    assert_int_equal(env.world_size, 4);
    assert_int_equal(env.local_rank, 0);  // not given: 0
}

static void test_malformed(void **state) {
    (void)state;
    setenv("OMPI_COMM_WORLD_RANK", "two", 1);
    setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
    assert_error("OMPI_COMM_WORLD_RANK: expected a non-negative integer, got 'two'");
    setenv("OMPI_COMM_WORLD_RANK", "-1", 1);
    assert_error("OMPI_COMM_WORLD_RANK: expected a non-negative integer, got '-1'");
    setenv("OMPI_COMM_WORLD_RANK", "4", 1);
    assert_error("OMPI_COMM_WORLD_RANK 4 is outside OMPI_COMM_WORLD_SIZE 4");
    setenv("OMPI_COMM_WORLD_RANK", "0", 1);
    setenv("OMPI_COMM_WORLD_SIZE", "0", 1);
    assert_error("OMPI_COMM_WORLD_SIZE: a job has at least one process");
    setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
    setenv("OMPI_COMM_WORLD_RANK", "1", 1);
    setenv("OMPI_COMM_WORLD_LOCAL_RANK", "2", 1);
    assert_error("OMPI_COMM_WORLD_LOCAL_RANK 2 exceeds OMPI_COMM_WORLD_RANK 1");
    clear_env(NULL);
    setenv("SLURM_PROCID", "1", 1);
    setenv("SLURM_STEP_NUM_TASKS", "2x", 1);
    assert_error("SLURM_STEP_NUM_TASKS: expected a non-negative integer, got '2x'");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_no_launcher, clear_env),
        cmocka_unit_test_setup(test_mpirun, clear_env),
        cmocka_unit_test_setup(test_srun_step, clear_env),
        cmocka_unit_test_setup(test_batch_script_is_one_process, clear_env),
        cmocka_unit_test_setup(test_mpirun_inside_slurm, clear_env),
        cmocka_unit_test_setup(test_malformed, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

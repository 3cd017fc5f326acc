// The collectives over MPI_COMM_WORLD, for ranks computing in host memory (the CPU backend).
// The sum is an all-gather followed by each rank adding the gathered vectors in rank order: MPI's
// own reductions may associate the additions differently on different ranks (and differently
// for different world sizes), and tensor-parallel ranks must hold the same bits after every
// reduction or their tokens could diverge. For the CPU path, which exists to test correctness,
// the extra traffic (size x the vector) is the price of that guarantee.
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "mpi_check.h"

typedef struct {
    float *gathered;  // (size, cap) the all-reduce's scratch
    size_t cap;
} mpi_impl;

void dy_mpi_fatal(const char *file, int line, int code) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0, rank = -1;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", code);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "dysco[rank %d]: MPI error at %s:%d: %s\n", rank, file, line, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);  // MPI_Abort does not return; this keeps _Noreturn honest if it did
}

// MPI counts are ints; the model's collectives are far below 2 GiB, so a larger one is a bug.
static int count_of(const char *what, size_t bytes) {
    if (bytes > INT_MAX) {
        int rank = -1;
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        fprintf(stderr, "dysco[rank %d]: %s of %zu bytes exceeds MPI's 2 GiB message limit\n", rank, what, bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return (int)bytes;
}

static void mpi_all_gather(dy_comm *c, const void *send, void *recv, size_t bytes) {
    (void)c;
    const int n = count_of("all-gather", bytes);
    MPI_CHECK(MPI_Allgather(send, n, MPI_BYTE, recv, n, MPI_BYTE, MPI_COMM_WORLD));
}

static void mpi_all_reduce_sum(dy_comm *c, void *values, size_t n, dy_dtype dtype) {
    mpi_impl *m = c->impl;
    if (dtype != DY_F32) {  // host memory holds fp32 activations (the CPU backend's): another dtype is a bug
        fprintf(stderr, "dysco[rank %d]: MPI all-reduce of %s values: only fp32 is summed on the host\n", c->rank,
                dy_dtype_safetensors_name(dtype));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    float *data = values;
    if (n > m->cap) {
        free(m->gathered);
        m->gathered = malloc((size_t)c->size * n * sizeof(float));
        if (!m->gathered) {
            fprintf(stderr, "dysco[rank %d]: all-reduce of %zu values: out of memory\n", c->rank, n);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        m->cap = n;
    }
    mpi_all_gather(c, data, m->gathered, n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        float s = m->gathered[i];
        for (int r = 1; r < c->size; r++) s += m->gathered[(size_t)r * n + i];
        data[i] = s;
    }
}

static void mpi_broadcast(dy_comm *c, void *data, size_t bytes, int root) {
    (void)c;
    MPI_CHECK(MPI_Bcast(data, count_of("broadcast", bytes), MPI_BYTE, root, MPI_COMM_WORLD));
}

static void mpi_barrier(dy_comm *c) {
    (void)c;
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
}

static void mpi_abort(dy_comm *c, int status) {
    (void)c;
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}

static void mpi_destroy(dy_comm *c) {
    mpi_impl *m = c->impl;
    free(m->gathered);
    free(m);
    free(c);
    MPI_Finalize();
}

dy_comm *dy_comm_mpi_create(const dy_launch_env *env, dy_error *err) {
    int provided = 0, rank = -1, size = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        dy_fail(err, "MPI: MPI_Init_thread failed (launched by %s with %d processes)", dy_launcher_name(env->launcher),
                env->world_size);
        return NULL;
    }
    // Errors come back as codes to MPI_CHECK, which names the call site before aborting the job.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank != env->rank || size != env->world_size) {
        dy_fail(err, "MPI: world of %d with this process as rank %d, but %s set rank %d of %d", size, rank,
                dy_launcher_name(env->launcher), env->rank, env->world_size);
        return NULL;  // the caller exits non-zero, and the launcher ends the job's other processes
    }
    dy_comm *c = malloc(sizeof *c);
    mpi_impl *m = calloc(1, sizeof *m);
    if (!c || !m) {
        free(c);
        free(m);
        dy_fail(err, "MPI: out of memory");
        return NULL;
    }
    *c = (dy_comm){.name = "mpi", .rank = rank, .size = size, .host = c, .impl = m, .all_reduce_sum = mpi_all_reduce_sum,
                   .all_gather = mpi_all_gather, .broadcast = mpi_broadcast, .barrier = mpi_barrier,
                   .abort = mpi_abort, .destroy = mpi_destroy};
    return c;
}

// The communicator (parallel/comm.h) on every rank of a job: run once as a single process (the
// self communicator) and under `mpirun -np 3` (MPI). On fresh random vectors seeded by rank, so
// every rank can compute what every other rank sent:
// - all-reduce: equal bit for bit to the rank-order sum, on every rank (then compared across
//   ranks by all-gathering a hash), for lengths 1, 7 and 100003;
// - all-gather: each rank's block in rank order; broadcast from the last rank; barrier;
// - with --abort RANK: that rank aborts with status 3 while the others wait in a barrier, and
//   the job must end (ctest expects the failure, within its timeout: no rank left hanging).
// One PASS/FAIL line per check on each rank; "N passed, M failed" last.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel/comm.h"
#include "test_util.h"

static float *rank_vector(int rank, size_t n) {
    uint64_t state = 0x9E3779B97F4A7C15ull ^ (uint64_t)(rank + 1) * 0xD1B54A32D192ED03ull;
    float *v = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) v[i] = uniform_f32(&state, -1.0f, 1.0f);
    return v;
}

static uint64_t hash_bytes(const void *p, size_t bytes) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (size_t i = 0; i < bytes; i++) h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

static void test_all_reduce(dy_comm *c, size_t n) {
    float *data = rank_vector(c->rank, n), *want = rank_vector(0, n);
    for (int r = 1; r < c->size; r++) {
        float *v = rank_vector(r, n);
        for (size_t i = 0; i < n; i++) want[i] += v[i];
        free(v);
    }
    c->all_reduce_sum(c, data, n, DY_F32);
    check(memcmp(data, want, n * sizeof(float)) == 0, "rank %d/%d: all-reduce of %zu values equals the rank-order sum",
          c->rank, c->size, n);
    uint64_t h = hash_bytes(data, n * sizeof(float)), *all = xmalloc((size_t)c->size * sizeof h);
    c->all_gather(c, &h, all, sizeof h);
    int same = 0;
    for (int r = 0; r < c->size; r++) same += all[r] == h;
    check(same == c->size, "rank %d/%d: all-reduce of %zu values: every rank holds the same bits (%d of %d)", c->rank,
          c->size, n, same, c->size);
    free(all);
    free(data);
    free(want);
}

static void test_gather_broadcast(dy_comm *c) {
    enum { N = 1001 };
    float *mine = rank_vector(c->rank, N), *all = xmalloc((size_t)c->size * N * sizeof(float));
    c->all_gather(c, mine, all, N * sizeof(float));
    int right = 0;
    for (int r = 0; r < c->size; r++) {
        float *v = rank_vector(r, N);
        right += memcmp(all + (size_t)r * N, v, N * sizeof(float)) == 0;
        free(v);
    }
    check(right == c->size, "rank %d/%d: all-gather: %d of %d blocks in rank order", c->rank, c->size, right, c->size);
    const int root = c->size - 1;
    c->broadcast(c, mine, N * sizeof(float), root);
    float *want = rank_vector(root, N);
    check(memcmp(mine, want, N * sizeof(float)) == 0, "rank %d/%d: broadcast from rank %d", c->rank, c->size, root);
    c->barrier(c);
    free(want);
    free(mine);
    free(all);
}

int main(int argc, char **argv) {
    int abort_rank = -1;
    if (argc == 3 && strcmp(argv[1], "--abort") == 0) abort_rank = atoi(argv[2]);
    else if (argc != 1) {
        fprintf(stderr, "usage: test_comm [--abort RANK]\n");
        return 2;
    }
    dy_launch_env env;
    dy_error err;
    if (dy_launch_env_read(&env, &err)) setup_die(err.msg);
    dy_comm *c = dy_comm_create(&env, &err);
    if (!c) setup_die(err.msg);
    check(c->rank == env.rank && c->size == env.world_size, "rank %d of %d (%s), as %s set it", c->rank, c->size,
          c->name, dy_launcher_name(env.launcher));
    if (abort_rank >= 0) {
        if (c->rank == abort_rank) c->abort(c, 3);
        c->barrier(c);  // the others wait here until the job is ended
        fprintf(stderr, "rank %d passed a barrier that rank %d never reached\n", c->rank, abort_rank);
        return 1;
    }
    test_all_reduce(c, 1);
    test_all_reduce(c, 7);
    test_all_reduce(c, 100003);
    test_gather_broadcast(c);
    const int status = check_summary();
    c->destroy(c);
    return status;
}

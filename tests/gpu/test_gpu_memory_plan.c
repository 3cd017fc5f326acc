// The memory plan on a GPU: Qwen3-8B with a KV cache for 4,000,000 positions (~549 GiB) does not
// fit any GPU, so dy_model_load_random must fail with the one-line plan before it allocates
// anything (free memory unchanged), and `dysco bench` must exit 1 with that line alone on stderr.
// A tiny model still loads. One line per check; the last line is "N passed, M failed". Without a
// GPU it prints SKIPPED and exits 77 (ctest: skipped). argv[1] is the dysco binary.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_util.h"
#include "kernels/device_info.h"
#include "runtime/model/model.h"

static const char PLAN_4M[] = " GiB of cuda memory for 4000000 positions and prefill chunks of 2048 tokens (weights 15.26 "
                              "+ KV cache 549.32 + workspace ";
static const char HINT[] = " GiB free; use a shorter context or prefill chunk";

static void test_load_does_not_fit(dy_backend *gpu) {
    dy_model_config cfg;
    load_preset("qwen3-8b", &cfg, 0);
    const dy_init_params init = {.seed = 1, .std = 0.02, .norm_jitter = 0.1};
    size_t free_before, free_after, total;
    gpu->memory_info(gpu, &free_before, &total);
    dy_model m;
    dy_error err = {{0}};
    const int rc = dy_model_load_random(&m, gpu, &cfg, &init, 4000000, 2048, &err);
    gpu->memory_info(gpu, &free_after, &total);
    const size_t moved = free_before > free_after ? free_before - free_after : free_after - free_before;
    check(rc == -1 && strncmp(err.msg, "model: needs 5", 14) == 0 && strstr(err.msg, PLAN_4M) && strstr(err.msg, HINT) &&
              !strchr(err.msg, '\n'),
          "qwen3-8b at 4,000,000 positions is refused: \"%s\"", err.msg);
    check(moved < (4u << 20), "before allocating: free memory %.1f MiB before, %.1f MiB after",
          free_before / 1048576.0, free_after / 1048576.0);
    if (rc == 0) dy_model_free(&m);

    load_preset("tiny-qwen3", &cfg, 512);
    const bool fits = dy_model_load_random(&m, gpu, &cfg, &init, 4096, 512, &err) == 0;
    check(fits, "tiny-qwen3 at 4096 positions loads%s%s", fits ? "" : ": ", fits ? "" : err.msg);
    if (fits) dy_model_free(&m);
}

static void test_bench_does_not_fit(const char *dysco_bin) {
    char *dir = make_temp_dir("gpu-plan");
    cmd_result r = run_cmd("'%s' make-model '%s/m' --preset qwen3-8b --config-only", dysco_bin, dir);
    check(r.status == 0, "make-model --preset qwen3-8b --config-only: exit %d %s", r.status, r.err);
    cmd_result_free(&r);
    // bench asks for --ctx plus its 32 decode steps
    r = run_cmd("'%s' bench --model '%s/m' --random-weights --ctx 4000000 --prefill-chunk 2048 --device cuda", dysco_bin, dir);
    check(r.status == 1 && count_lines(r.err) == 1 && strstr(r.err, "dysco: model: needs ") &&
              strstr(r.err, " GiB of cuda memory for 4000032 positions and prefill chunks of 2048 tokens (weights 15.26 "
                            "+ KV cache 549.32 + workspace ") && strstr(r.err, HINT) && r.out[0] == '\0',
          "bench --ctx 4000000 --device cuda: exit %d, stderr \"%s\"", r.status, r.err);
    cmd_result_free(&r);
    rm_rf(dir);
    free(dir);
}

int main(int argc, char **argv) {
    const char *dysco_bin;
    test_args(argc, argv, "PATH_TO_DYSCO", &dysco_bin, NULL);
    if (dy_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device visible\n");
        return 77;
    }
    dy_error err;
    dy_backend *gpu = dy_backend_cuda_create(0, &err);
    if (!gpu) {
        fprintf(stderr, "test setup failed: %s\n", err.msg);
        return 99;
    }
    test_load_does_not_fit(gpu);
    gpu->destroy(gpu);
    test_bench_does_not_fit(dysco_bin);
    return check_summary();
}

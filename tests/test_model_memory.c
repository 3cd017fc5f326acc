// The memory plan against what the model really allocates: dy_model_load through a CPU backend
// whose alloc counts bytes must ask for exactly weights + KV cache + workspace (op scratch
// included), and a backend that reports less free memory than the plan needs must get the
// one-line error before anything is allocated, and one whose memory runs out inside the KV cache
// gets its one line with every block released again (the ASan variant checks nothing leaks).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "runtime/model/memory_plan.h"
#include "runtime/model/model.h"
#include "test_util.h"

// The CPU backend under a counting alloc and, when free_bytes is set, a memory_info reporting it.
static dy_backend *cpu;
static uint64_t counted;
static size_t free_bytes;

static void *counting_alloc(dy_backend *b, size_t bytes) {
    (void)b;
    counted += bytes;
    return cpu->alloc(cpu, bytes);
}

static void reporting_memory_info(dy_backend *b, size_t *free_out, size_t *total_out) {
    (void)b;
    *free_out = free_bytes;
    *total_out = 2 * free_bytes;
}

// A fresh CPU backend (no op scratch yet) and its counting copy.
static dy_backend wrap(bool report_free) {
    cpu = dy_backend_cpu_create();
    assert_non_null(cpu);
    counted = 0;
    dy_backend w = *cpu;
    w.alloc = counting_alloc;
    if (report_free) w.memory_info = reporting_memory_info;
    return w;
}

static const dy_init_params INIT = {.seed = 3, .std = 0.02, .norm_jitter = 0.1};

static uint64_t planned(const dy_model_config *cfg, int ctx, int chunk) {
    dy_memory_plan plan;
    dy_error err;
    assert_int_equal(dy_memory_plan_make(cfg, ctx, chunk, 1, DY_F32, &plan, &err), 0);
    plan.scratch_bytes = cpu->scratch_bytes(cpu, &plan.limits);
    return dy_memory_plan_total_bytes(&plan);
}

static void expect_exact(const dy_model_config *cfg, int ctx, int chunk, const char *what) {
    dy_backend w = wrap(false);
    dy_model m;
    dy_error err;
    if (dy_model_load_random(&m, &w, cfg, &INIT, ctx, chunk, &err)) fail_msg("%s: %s", what, err.msg);
    const uint64_t want = planned(cfg, ctx, chunk);
    if (counted != want)
        fail_msg("%s (ctx %d, chunk %d): the model allocated %llu bytes, the plan lists %llu", what, ctx, chunk,
                 (unsigned long long)counted, (unsigned long long)want);
    dy_model_free(&m);
    cpu->destroy(cpu);
}

static void test_plan_is_what_the_model_allocates(void **state) {
    (void)state;
    dy_model_config c;
    load_preset("tiny-qwen3", &c, 512);
    expect_exact(&c, 100, 7, "tiny-qwen3");
    c.tie_word_embeddings = true;  // the LM head shares the embedding: no second matrix
    expect_exact(&c, 33, 33, "tiny-qwen3 tied");
    load_preset("tiny-llama", &c, 300);
    expect_exact(&c, 64, 1, "tiny-llama");
    load_preset("tiny-qwen3-moe", &c, 256);
    expect_exact(&c, 50, 16, "tiny-qwen3-moe");  // the CPU's MoE scratch goes through alloc too

    // The counted total is not vacuous: the MoE plan has op scratch, and the buffers grow with
    // the chunk and the context.
    cpu = dy_backend_cpu_create();
    dy_memory_plan a, b;
    dy_error err;
    assert_int_equal(dy_memory_plan_make(&c, 50, 16, 1, DY_F32, &a, &err), 0);
    assert_true(cpu->scratch_bytes(cpu, &a.limits) > 0);
    assert_int_equal(dy_memory_plan_make(&c, 51, 17, 1, DY_F32, &b, &err), 0);
    assert_true(dy_memory_plan_workspace_bytes(&b) > dy_memory_plan_workspace_bytes(&a) && b.kv_bytes > a.kv_bytes);
    cpu->destroy(cpu);
}

// Blocks of the counting alloc not yet released; alloc fails past budget bytes when it is set.
static int live;
static uint64_t budget;

static void *budget_alloc(dy_backend *b, size_t bytes) {
    if (budget && counted + bytes > budget) return NULL;
    void *p = counting_alloc(b, bytes);
    live += p != NULL;
    return p;
}

static void counting_release(dy_backend *b, void *p) {
    (void)b;
    live--;
    cpu->release(cpu, p);
}

static void test_out_of_memory_in_the_kv_cache(void **state) {
    (void)state;
    dy_model_config c;
    load_preset("tiny-qwen3", &c, 512);
    dy_backend w = wrap(false);
    w.alloc = budget_alloc;
    w.release = counting_release;
    dy_memory_plan plan;
    dy_error err;
    assert_int_equal(dy_memory_plan_make(&c, 100, 7, 1, DY_F32, &plan, &err), 0);
    // The weights and the activation buffers come first, then the cache: half of it fits.
    budget = plan.weight_bytes + dy_memory_plan_workspace_bytes(&plan) + plan.kv_bytes / 2;
    live = 0;
    dy_model m;
    assert_int_equal(dy_model_load_random(&m, &w, &c, &INIT, 100, 7, &err), -1);
    assert_string_equal(err.msg, "model: out of cpu memory for the KV cache of 100 positions");
    assert_true(counted > plan.weight_bytes && live == 0 && m.be == NULL);
    budget = 0;
    cpu->destroy(cpu);
}

static void test_does_not_fit(void **state) {
    (void)state;
    dy_model_config c;
    dy_model m;
    dy_error err;

    // One byte short fails before the first allocation; exactly enough loads.
    load_preset("tiny-qwen3-moe", &c, 256);
    dy_backend w = wrap(true);
    free_bytes = planned(&c, 50, 16) - 1;
    assert_int_equal(dy_model_load_random(&m, &w, &c, &INIT, 50, 16, &err), -1);
    assert_non_null(strstr(err.msg, "model: needs 0.00 GiB of cpu memory for 50 positions and prefill chunks of 16 tokens"));
    assert_true(counted == 0 && m.be == NULL);
    free_bytes++;
    assert_int_equal(dy_model_load_random(&m, &w, &c, &INIT, 50, 16, &err), 0);
    assert_true(counted == free_bytes);
    dy_model_free(&m);
    cpu->destroy(cpu);

    // Qwen3-8B at 128k in fp32 (the CPU backend's dtype) on a backend with 44.2 GiB free: the
    // whole message, one line; nothing of the 67 GiB is allocated.
    load_preset("qwen3-8b", &c, 0);
    w = wrap(true);
    free_bytes = (size_t)(44.2 * 1024 * 1024 * 1024);
    assert_int_equal(dy_model_load_random(&m, &w, &c, &INIT, 131072, 2048, &err), -1);
    assert_string_equal(err.msg, "model: needs 66.87 GiB of cpu memory for 131072 positions and prefill chunks of 2048 "
                                 "tokens (weights 30.51 + KV cache 36.00 + workspace 0.36 GiB), 44.20 GiB free; use a "
                                 "shorter context or prefill chunk");
    assert_true(counted == 0 && m.be == NULL);
    cpu->destroy(cpu);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_is_what_the_model_allocates),
        cmocka_unit_test(test_does_not_fit),
        cmocka_unit_test(test_out_of_memory_in_the_kv_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

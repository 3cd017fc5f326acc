// The loader's direct path (backend upload_weight_raw: a checkpoint tensor already in the
// backend's weight dtype goes up as its bytes) against the fp32 path it replaces (the same
// backend with upload_weight_raw NULL: every tensor widened to fp32 and stored by upload_weight).
// Every weight view must hold the same bits: bf16 checkpoints on the bf16-storage twin (whose
// greedy tokens must then agree too), fp32 ones on the CPU backend, also as tensor-parallel
// slices (rank r of tp 2 and 4, through a communicator the load only reads the rank and size of).
// Every bf16 bit pattern is checked through upload_weight_raw against upload_weight, from an
// unaligned, strided source: the same but for signalling NaNs, which upload_weight's rounding quiets.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/generate/generate.h"
#include "runtime/model/model.h"
#include "test_util.h"

enum { VOCAB = 1001, CTX = 48, PROMPT = 20, NEW_TOKENS = 12 };  // an odd vocabulary: uneven tp slices

static const char *const PRESETS[] = {"tiny-qwen3", "tiny-llama", "tiny-qwen3-moe"};

// A fresh checkpoint of the preset in dtype; the caller removes dir.
static char *checkpoint(const char *preset, dy_dtype dtype, dy_checkpoint *ck) {
    dy_model_config cfg;
    load_preset(preset, &cfg, VOCAB);
    char *json = preset_json(preset, VOCAB), *dir = make_temp_dir("model-load");
    write_checkpoint(dir, json, &cfg, dtype, 1ull << 40, 11);
    free(json);
    dy_error err;
    if (dy_checkpoint_open(dir, ck, &err)) setup_die(err.msg);
    return dir;
}

// Views a and b (host memory: CPU backends) hold the same bits.
static void expect_same(const char *what, const dy_view *a, const dy_view *b) {
    if (!a->data && !b->data) return;  // absent in both (Llama's q/k norms)
    assert_non_null(a->data);
    assert_non_null(b->data);
    if (a->rows != b->rows || a->cols != b->cols || a->dtype != b->dtype)
        fail_msg("%s: (%lld, %lld) against (%lld, %lld)", what, (long long)a->rows, (long long)a->cols,
                 (long long)b->rows, (long long)b->cols);
    const size_t row_bytes = (size_t)a->cols * dy_dtype_size(a->dtype), elem = dy_dtype_size(a->dtype);
    for (int64_t r = 0; r < a->rows; r++)
        if (memcmp((const char *)a->data + r * a->stride * elem, (const char *)b->data + r * b->stride * elem,
                   row_bytes))
            fail_msg("%s: row %lld differs", what, (long long)r);
}

static void expect_same_mlp(const char *what, const dy_mlp_weights *a, const dy_mlp_weights *b) {
    expect_same(what, &a->gate, &b->gate);
    expect_same(what, &a->up, &b->up);
    expect_same(what, &a->down, &b->down);
}

// Every weight view of two loads of one checkpoint.
static void expect_same_weights(const char *what, const dy_model *a, const dy_model *b) {
    expect_same(what, &a->embed, &b->embed);
    expect_same(what, &a->final_norm, &b->final_norm);
    expect_same(what, &a->lm_head, &b->lm_head);
    for (int l = 0; l < a->cfg.n_layers; l++) {
        const dy_layer_weights *x = &a->layers[l], *y = &b->layers[l];
        char name[160];
        snprintf(name, sizeof name, "%s layer %d", what, l);
        expect_same(name, &x->qkv, &y->qkv);
        expect_same(name, &x->attn_norm, &y->attn_norm);
        expect_same(name, &x->o, &y->o);
        expect_same(name, &x->q_norm, &y->q_norm);
        expect_same(name, &x->k_norm, &y->k_norm);
        expect_same(name, &x->mlp_norm, &y->mlp_norm);
        assert_int_equal(x->moe, y->moe);
        if (!x->moe) {
            expect_same(name, &x->gate_up, &y->gate_up);
            expect_same_mlp(name, &x->mlp, &y->mlp);
            continue;
        }
        expect_same(name, &x->router, &y->router);
        for (int e = 0; e < a->cfg.n_experts; e++) expect_same_mlp(name, &x->experts[e], &y->experts[e]);
    }
}

// The backend with the direct path taken away: the loader's fp32 path.
static dy_backend fp32_path(const dy_backend *be) {
    dy_backend b = *be;
    b.upload_weight_raw = NULL;
    return b;
}

static void greedy(dy_model *m, dy_tokens *out) {
    int32_t prompt[PROMPT];
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int32_t)((i * 7919 + 13) % VOCAB);
    const dy_generate_opts o = {.method = DY_METHOD_VANILLA, .max_new_tokens = NEW_TOKENS, .temperature = 0,
                                .sample_top_p = 1};
    dy_generate_result r;
    dy_error err;
    if (dy_generate(m, prompt, PROMPT, &o, &r, &err)) fail_msg("generate: %s", err.msg);
    *out = r.output;
    r.output = (dy_tokens){0};
    dy_generate_result_free(&r);
}

// The backend's direct path, counted: the load must take it for every checkpoint tensor.
static dy_backend *counted_backend;
static int raw_uploads;

static void counting_upload_raw(dy_backend *b, const dy_view *dst, const void *host_src, int64_t src_stride) {
    (void)b;
    raw_uploads++;
    counted_backend->upload_weight_raw(counted_backend, dst, host_src, src_stride);
}

static dy_backend counting(dy_backend *be) {
    counted_backend = be;
    raw_uploads = 0;
    dy_backend b = *be;
    b.upload_weight_raw = counting_upload_raw;
    return b;
}

// bf16 onto the bf16-storage twin: the same weights, and the same greedy tokens.
static void twin_bf16(void **state) {
    (void)state;
    dy_error err;
    dy_backend *twin = dy_backend_create("cpu-bf16", 0, &err);
    assert_non_null(twin);
    assert_non_null(twin->upload_weight_raw);
    assert_int_equal(twin->weight_dtype, DY_BF16);
    dy_backend old = fp32_path(twin), raw = counting(twin);
    for (size_t p = 0; p < sizeof PRESETS / sizeof *PRESETS; p++) {
        dy_checkpoint ck;
        char *dir = checkpoint(PRESETS[p], DY_BF16, &ck);
        dy_model direct, converted;
        raw_uploads = 0;
        if (dy_model_load(&direct, &raw, &ck, CTX, PROMPT, &err)) fail_msg("%s: %s", PRESETS[p], err.msg);
        assert_int_equal(raw_uploads, ck.tensors.n);  // each checkpoint tensor once
        if (dy_model_load(&converted, &old, &ck, CTX, PROMPT, &err)) fail_msg("%s: %s", PRESETS[p], err.msg);
        assert_int_equal(direct.weight_bytes, converted.weight_bytes);
        expect_same_weights(PRESETS[p], &direct, &converted);
        dy_tokens a, b;
        greedy(&direct, &a);
        greedy(&converted, &b);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.ids, b.ids, (size_t)a.n * sizeof *a.ids);
        dy_tokens_free(&a);
        dy_tokens_free(&b);
        dy_model_free(&direct);
        dy_model_free(&converted);
        dy_checkpoint_close(&ck);
        rm_rf(dir);
        free(dir);
    }
    twin->destroy(twin);
}

// fp32 onto the CPU backend, whole and as each rank's slices of tp 2 and 4 (row slices of q, k,
// v, gate, up and the vocabulary; column slices of o and down; replicated KV heads at tp 4).
static void cpu_fp32_shards(void **state) {
    (void)state;
    dy_backend *cpu = dy_backend_cpu_create();
    assert_non_null(cpu);
    assert_int_equal(cpu->weight_dtype, DY_F32);
    dy_backend old = fp32_path(cpu);
    dy_error err;
    for (size_t p = 0; p < sizeof PRESETS / sizeof *PRESETS; p++) {
        dy_checkpoint ck;
        char *dir = checkpoint(PRESETS[p], DY_F32, &ck);
        for (int tp = 1; tp <= 4; tp *= 2)
            for (int rank = 0; rank < tp; rank++) {
                dy_comm comm = {.name = "load-only", .rank = rank, .size = tp};  // no collective is called
                dy_model direct, converted;
                char what[96];
                snprintf(what, sizeof what, "%s rank %d of tp %d", PRESETS[p], rank, tp);
                if (dy_model_load_shard(&direct, cpu, &ck, &comm, CTX, PROMPT, &err) ||
                    dy_model_load_shard(&converted, &old, &ck, &comm, CTX, PROMPT, &err))
                    fail_msg("%s: %s", what, err.msg);
                expect_same_weights(what, &direct, &converted);
                dy_model_free(&direct);
                dy_model_free(&converted);
            }
        dy_checkpoint_close(&ck);
        rm_rf(dir);
        free(dir);
    }
    cpu->destroy(cpu);
}

// Whether the bf16 pattern is a signalling NaN (exponent all ones, fraction non-zero, quiet bit clear).
static bool signalling_nan(uint16_t h) { return (h & 0x7f80) == 0x7f80 && (h & 0x7f) && !(h & 0x40); }

// All 65536 bf16 patterns as a (256, 256) matrix read at a stride of 259 from an odd address.
static void every_bf16_pattern(void **state) {
    (void)state;
    enum { N = 256, STRIDE = 259 };
    dy_backend *twin = dy_backend_cpu_bf16_create();
    assert_non_null(twin);
    uint8_t *bytes = xmalloc((size_t)N * STRIDE * 2 + 1);
    float *wide = xmalloc((size_t)N * N * sizeof(float));
    for (int i = 0; i < N * N; i++) {
        const uint16_t h = (uint16_t)i;
        const int64_t at = (int64_t)(i / N) * STRIDE + i % N;
        memcpy(bytes + 1 + 2 * at, &h, 2);
        wide[i] = dy_bf16_to_f32(h);
    }
    dy_view raw = {twin->alloc(twin, (size_t)N * N * sizeof(float)), DY_F32, N, N, N};
    dy_view converted = {twin->alloc(twin, (size_t)N * N * sizeof(float)), DY_F32, N, N, N};
    twin->upload_weight_raw(twin, &raw, bytes + 1, STRIDE);
    twin->upload_weight(twin, &converted, wide);
    int differ = 0, quieted = 0;
    for (int i = 0; i < N * N; i++) {
        uint32_t a, b;
        memcpy(&a, (float *)raw.data + i, 4);
        memcpy(&b, (float *)converted.data + i, 4);
        if (a != ((uint32_t)i << 16)) fail_msg("raw: pattern 0x%04x stored as 0x%08x", (unsigned)i, (unsigned)a);
        differ += a != b;
        quieted += signalling_nan((uint16_t)i) && b == (((uint32_t)i | 0x40) << 16);
    }
    // 2 signs x 63 non-zero fractions below the quiet bit.
    assert_int_equal(differ, 126);
    assert_int_equal(quieted, 126);
    twin->release(twin, raw.data);
    twin->release(twin, converted.data);
    free(bytes);
    free(wide);
    twin->destroy(twin);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twin_bf16),
        cmocka_unit_test(cpu_fp32_shards),
        cmocka_unit_test(every_bf16_pattern),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

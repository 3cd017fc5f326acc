// The CPU backend and the generation loop against references made with PyTorch + transformers
// (tests/hf_reference_dumps.py, fp32, on the GPU host): make-model rebuilds each fixture's tiny
// checkpoint bit for bit (sha256), the forward's logits match transformers' (relative error
// < 1e-4, including positions past YaRN's and llama3's original context), and for every method
// and selection mode `dysco generate` produces the same 24 tokens and the same trace (phases,
// n_selected, top_positions, tokens; logprobs within 1e-4). argv: PATH_TO_DYSCO FIXTURE_DIR.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reference_fixture.h"
#include "runtime/model/model.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin, *fixtures;

typedef struct {
    int positions, steps;
    double worst;
} logits_summary;

static void check_row(const fixture_row *r, void *ctx) {
    logits_summary *s = ctx;
    const double e = logits_rel_error(r->got, r->want, r->vocab);
    if (!(e < 1e-4)) fail_msg("%s: logits at %s: relative error %g", r->path, r->what, e);
    s->worst = e > s->worst ? e : s->worst;
    if (r->step < 0) s->positions++;
    else s->steps++;
}

static void check_logits(const char *name) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/logits_%s.json", fixtures, name);
    dy_backend *be = dy_backend_cpu_create();
    logits_summary s = {0};
    fixture_run_logits(dysco_bin, path, be, check_row, &s);
    be->destroy(be);
    printf("%s: %d prompt positions and %d steps, worst relative error %.3g\n", name, s.positions, s.steps, s.worst);
}

// A reference-format YAML for the case's settings.
static void write_config(const cJSON *c, const char *path) {
    char yaml[8192] = "selected_heads: \"[";
    const cJSON *h;
    int first = 1;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(c, "selected_heads")) {
        snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml), "%s(%d,%d)", first ? "" : ",", h->child->valueint,
                 h->child->next->valueint);
        first = 0;
    }
    strcat(yaml, "]\"\n");
    const char *numbers[] = {"top_k", "top_p", "strength", "decay_factor", "context_warmup_steps", "intervention_warmup"};
    for (int i = 0; i < 6; i++) {
        const cJSON *v = cJSON_GetObjectItem(c, numbers[i]);
        if (cJSON_IsNumber(v)) snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml), "%s: %.17g\n", numbers[i], v->valuedouble);
    }
    snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml), "dynamic_rescale: %s\nscale_template_tokens: False\n",
             cJSON_IsTrue(cJSON_GetObjectItem(c, "dynamic_rescale")) ? "True" : "False");
    const cJSON *templates = cJSON_GetObjectItem(c, "template_sequences"), *t, *id;
    if (cJSON_IsArray(templates)) {
        strcat(yaml, "template_sequences:\n");
        cJSON_ArrayForEach(t, templates) {
            strcat(yaml, "  - [");
            first = 1;
            cJSON_ArrayForEach(id, t) {
                snprintf(yaml + strlen(yaml), sizeof yaml - strlen(yaml), "%s%d", first ? "" : ", ", id->valueint);
                first = 0;
            }
            strcat(yaml, "]\n");
        }
    }
    dy_error err;
    if (dy_write_file(path, yaml, strlen(yaml), &err)) fail_msg("%s", err.msg);
}

static void compare_trace(const char *what, const char *trace_path, const cJSON *want) {
    FILE *f = fopen(trace_path, "r");
    assert_non_null(f);
    char line[8192];
    int i = 0;
    const cJSON *w = want->child;
    while (fgets(line, sizeof line, f)) {
        if (!w) fail_msg("%s: trace has more lines than the reference's %d", what, cJSON_GetArraySize(want));
        cJSON *got = cJSON_Parse(line);
        assert_non_null(got);
        const char *keys[] = {"pos", "phase", "n_selected", "top_positions", "token"};
        for (int k = 0; k < 5; k++) {
            const cJSON *a = cJSON_GetObjectItem(got, keys[k]), *b = cJSON_GetObjectItem(w, keys[k]);
            if (cJSON_IsNull(b)) b = NULL;
            if (!a != !b || (a && !cJSON_Compare(a, b, true))) {
                char *sa = a ? cJSON_PrintUnformatted(a) : NULL, *sb = b ? cJSON_PrintUnformatted(b) : NULL;
                fail_msg("%s: trace line %d: %s is %s, the reference has %s", what, i, keys[k], sa ? sa : "(absent)",
                         sb ? sb : "(absent)");
            }
        }
        const cJSON *la = cJSON_GetObjectItem(got, "logprob"), *lb = cJSON_GetObjectItem(w, "logprob");
        if (lb && !cJSON_IsNull(lb) && !(fabs(la->valuedouble - lb->valuedouble) < 1e-4))
            fail_msg("%s: trace line %d: logprob %g, the reference has %g", what, i, la->valuedouble, lb->valuedouble);
        cJSON_Delete(got);
        w = w->next;
        i++;
    }
    fclose(f);
    if (w) fail_msg("%s: trace has %d lines, the reference %d", what, i, cJSON_GetArraySize(want));
}

static void check_generation(const char *name) {
    char path[PATH_MAX], ids_path[PATH_MAX], cfg_path[PATH_MAX], out_path[PATH_MAX], trace_path[PATH_MAX];
    snprintf(path, sizeof path, "%s/dysco_%s.json", fixtures, name);
    cJSON *fx = fixture_load(path);
    char *dir = make_temp_dir("reference-gen");
    snprintf(path, sizeof path, "%s/model", dir);
    fixture_make_checkpoint(dysco_bin, fx, path);
    snprintf(ids_path, sizeof ids_path, "%s/ids.json", dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/dysco.yaml", dir);
    snprintf(out_path, sizeof out_path, "%s/out.json", dir);
    snprintf(trace_path, sizeof trace_path, "%s/trace.jsonl", dir);
    const cJSON *c;
    int n_cases = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(fx, "cases")) {
        const char *case_name = cJSON_GetObjectItem(c, "name")->valuestring, *method = cJSON_GetObjectItem(c, "method")->valuestring;
        const cJSON *cfg = cJSON_GetObjectItem(c, "config"), *want_ids = cJSON_GetObjectItem(c, "output_ids");
        char what[128], extra[4400] = "";
        snprintf(what, sizeof what, "%s/%s", name, case_name);
        char *ids = cJSON_PrintUnformatted(cJSON_GetObjectItem(c, "input_ids"));
        dy_error err;
        assert_int_equal(dy_write_file(ids_path, ids, strlen(ids), &err), 0);
        free(ids);
        if (strcmp(method, "dysco") == 0) {
            write_config(cfg, cfg_path);
            snprintf(extra, sizeof extra, "--dysco-config '%s'", cfg_path);
        } else if (strcmp(method, "attnsharp") == 0) {
            snprintf(extra, sizeof extra, "--attn-temperature %.9g", cJSON_GetObjectItem(cfg, "attn_temperature")->valuedouble);
        }
        cmd_result r = run_cmd("'%s' generate --model '%s' --input-ids '%s' --method %s %s --max-new-tokens %d --output '%s' "
                               "--trace '%s'",
                               dysco_bin, path, ids_path, method, extra, cJSON_GetArraySize(want_ids), out_path, trace_path);
        if (r.status != 0) fail_msg("%s: generate failed: %s", what, r.err);
        cmd_result_free(&r);
        cJSON *out = fixture_load(out_path);
        if (!cJSON_Compare(cJSON_GetObjectItem(out, "output_ids"), want_ids, true)) {
            char *got = cJSON_PrintUnformatted(cJSON_GetObjectItem(out, "output_ids")), *ref = cJSON_PrintUnformatted(want_ids);
            fail_msg("%s: output_ids %s, the reference %s", what, got, ref);
        }
        compare_trace(what, trace_path, cJSON_GetObjectItem(c, "trace"));
        const cJSON *logging = cJSON_GetObjectItem(c, "generation_logging"), *l;
        cJSON_ArrayForEach(l, logging) {
            const cJSON *g = cJSON_GetObjectItem(cJSON_GetObjectItem(out, "generation_logging"), l->string);
            if (!g || !(fabs(g->valuedouble - l->valuedouble) <= 1e-5 * fmax(1, fabs(l->valuedouble))))
                fail_msg("%s: generation_logging.%s %g, the reference %g", what, l->string, g ? g->valuedouble : NAN, l->valuedouble);
        }
        cJSON_Delete(out);
        n_cases++;
    }
    printf("%s: %d cases: same tokens, traces and generation_logging as the reference\n", name, n_cases);
    rm_rf(dir);
    free(dir);
    cJSON_Delete(fx);
}

// --random-weights (dysco bench) builds the same model as make-model --dtype fp32 with the same
// seed: the logits must be identical, bit for bit.
static void test_random_weights_match_checkpoint(void **state) {
    (void)state;
    char *dir = make_temp_dir("random-weights"), *json = preset_json("tiny-qwen3-moe", 1024);
    dy_model_config cfg;
    load_preset("tiny-qwen3-moe", &cfg, 1024);
    write_checkpoint(dir, json, &cfg, DY_F32, 1ull << 40, 5);
    dy_checkpoint ck;
    dy_error err;
    if (dy_checkpoint_open(dir, &ck, &err)) fail_msg("%s", err.msg);
    dy_backend *be = dy_backend_cpu_create();
    dy_model a, b;
    const dy_init_params init = {.seed = 5, .std = 0.02, .norm_jitter = 0.1};
    if (dy_model_load(&a, be, &ck, 16, 16, &err) || dy_model_load_random(&b, be, &cfg, &init, 16, 16, &err)) fail_msg("%s", err.msg);
    const int32_t ids[10] = {3, 900, 17, 256, 1000, 5, 64, 128, 511, 7};
    float *la = malloc(1024 * sizeof(float)), *lb = malloc(1024 * sizeof(float));
    const dy_forward_opts oa = {.logits = la}, ob = {.logits = lb};
    assert_int_equal(dy_model_forward(&a, ids, 10, 0, &oa, &err), 0);
    assert_int_equal(dy_model_forward(&b, ids, 10, 0, &ob, &err), 0);
    assert_memory_equal(la, lb, 1024 * sizeof(float));
    free(la);
    free(lb);
    dy_model_free(&a);
    dy_model_free(&b);
    be->destroy(be);
    dy_checkpoint_close(&ck);
    free(json);
    rm_rf(dir);
    free(dir);
}

static void test_logits_qwen3(void **state) { (void)state; check_logits("qwen3"); }
static void test_logits_llama(void **state) { (void)state; check_logits("llama"); }
static void test_logits_qwen3_moe(void **state) { (void)state; check_logits("qwen3_moe"); }
static void test_generation_qwen3(void **state) { (void)state; check_generation("qwen3"); }
static void test_generation_llama(void **state) { (void)state; check_generation("llama"); }
static void test_generation_qwen3_moe(void **state) { (void)state; check_generation("qwen3_moe"); }

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO FIXTURE_DIR", &dysco_bin, &fixtures, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_weights_match_checkpoint),
        cmocka_unit_test(test_logits_qwen3),     cmocka_unit_test(test_logits_llama),
        cmocka_unit_test(test_logits_qwen3_moe), cmocka_unit_test(test_generation_qwen3),
        cmocka_unit_test(test_generation_llama), cmocka_unit_test(test_generation_qwen3_moe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

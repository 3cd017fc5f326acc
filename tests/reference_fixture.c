#include "reference_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"
#include "test_util.h"

cJSON *fixture_load(const char *path) {
    dy_error err;
    char *text = dy_read_file(path, NULL, &err);
    if (!text) fail_msg("%s", err.msg);
    cJSON *j = cJSON_Parse(text);
    free(text);
    if (!j) fail_msg("%s: not JSON", path);
    return j;
}

void fixture_make_checkpoint(const char *dysco_bin, const cJSON *fixture, const char *dir) {
    char args[4096] = "";
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(fixture, "make_model_args")) {
        snprintf(args + strlen(args), sizeof args - strlen(args), " '%s'", a->valuestring);
    }
    cmd_result r = run_cmd("'%s' make-model '%s'%s", dysco_bin, dir, args);
    if (r.status != 0) fail_msg("make-model failed: %s", r.err);
    cmd_result_free(&r);
    const cJSON *sums = cJSON_GetObjectItem(fixture, "checkpoint_sha256"), *s;
    cJSON_ArrayForEach(s, sums) {
        r = run_cmd("sha256sum '%s/%s'", dir, s->string);
        if (r.status != 0 || strncmp(r.out, s->valuestring, 64) != 0)
            fail_msg("%s: sha256 differs from the fixture's (make-model's output changed?)", s->string);
        cmd_result_free(&r);
    }
}

double logits_rel_error(const float *got, const float *want, int n) {
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        const double d = (double)got[i] - want[i];
        num += d * d;
        den += (double)want[i] * want[i];
    }
    return sqrt(num / den);
}

static const cJSON *array_field(const char *path, const cJSON *obj, const char *name) {
    const cJSON *v = cJSON_GetObjectItem(obj, name);
    if (!cJSON_IsArray(v)) fail_msg("%s: field %s: missing or not an array", path, name);
    return v;
}

// A row of logits from the fixture, which must have exactly vocab numbers.
static void row_values(const char *path, const cJSON *row, int index, float *out, int vocab) {
    if (!row || cJSON_GetArraySize(row) != vocab)
        fail_msg("%s: logits row %d: %d values, the model's vocab_size is %d", path, index, row ? cJSON_GetArraySize(row) : 0,
                 vocab);
    int i = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, row) out[i++] = (float)v->valuedouble;
}

int fixture_run_logits(const char *dysco_bin, const char *path, dy_backend *be, fixture_row_fn fn, void *ctx) {
    cJSON *fx = fixture_load(path);
    char *dir = make_temp_dir("reference");
    fixture_make_checkpoint(dysco_bin, fx, dir);
    dy_checkpoint ck;
    dy_error err;
    if (dy_checkpoint_open(dir, &ck, &err)) fail_msg("%s", err.msg);
    const cJSON *prompt = array_field(path, fx, "prompt_ids"), *steps = cJSON_GetObjectItem(fx, "steps");
    if (!cJSON_IsObject(steps)) fail_msg("%s: field steps: missing or not an object", path);
    const cJSON *step_ids = array_field(path, steps, "ids"), *positions = array_field(path, fx, "positions");
    const int n = cJSON_GetArraySize(prompt), n_steps = cJSON_GetArraySize(step_ids);
    dy_model m;
    if (dy_model_load(&m, be, &ck, n + n_steps, n, &err)) fail_msg("%s", err.msg);
    int32_t *ids = malloc((size_t)(n + n_steps) * sizeof *ids);
    const int vocab = m.cfg.vocab_size;
    float *got = malloc((size_t)vocab * sizeof *got), *want = malloc((size_t)vocab * sizeof *want);
    int k = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, prompt) ids[k++] = v->valueint;
    cJSON_ArrayForEach(v, step_ids) ids[k++] = v->valueint;
    const dy_forward_opts o = {.logits = got};
    char what[64];
    int row = 0, done = 0;
    // Prompt positions: a prefill of the tokens after the last recorded position up to this one.
    const cJSON *pos, *w = array_field(path, fx, "logits")->child;
    cJSON_ArrayForEach(pos, positions) {
        if (pos->valueint < done || pos->valueint >= n)
            fail_msg("%s: positions: %d is not after %d and within the %d-token prompt", path, pos->valueint, done - 1, n);
        if (dy_model_forward(&m, ids + done, pos->valueint + 1 - done, done, &o, &err)) fail_msg("%s", err.msg);
        done = pos->valueint + 1;
        row_values(path, w, row, want, vocab);
        snprintf(what, sizeof what, "position %d", pos->valueint);
        fn(&(fixture_row){path, fx, what, row, -1, got, want, vocab}, ctx);
        w = w->next;
        row++;
    }
    if (done != n) fail_msg("%s: positions: the last is %d, not the prompt's last token %d", path, done - 1, n - 1);
    // Teacher-forced steps after the prompt, one token each.
    w = array_field(path, steps, "logits")->child;
    for (int s = 0; s < n_steps; s++, w = w->next, row++) {
        if (dy_model_forward(&m, ids + n + s, 1, n + s, &o, &err)) fail_msg("%s", err.msg);
        row_values(path, w, row, want, vocab);
        snprintf(what, sizeof what, "step %d (position %d)", s, n + s);
        fn(&(fixture_row){path, fx, what, row, s, got, want, vocab}, ctx);
    }
    free(got);
    free(want);
    free(ids);
    dy_model_free(&m);
    dy_checkpoint_close(&ck);
    rm_rf(dir);
    free(dir);
    cJSON_Delete(fx);
    return row;
}

#include "test_util.h"

#include <cJSON.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "runtime/checkpoint/checkpoint_writer.h"
#include "runtime/checkpoint/presets.h"
#include "runtime/util/file_util.h"

void setup_die(const char *what) {
    fprintf(stderr, "test setup failed: %s\n", what);
    exit(99);
}

void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) setup_die("out of host memory");
    return p;
}

void *backend_upload(dy_backend *be, const void *host, size_t bytes) {
    void *p = be->alloc(be, bytes);
    if (!p) setup_die("backend out of memory");
    be->upload(be, p, host, bytes);
    return p;
}

float uniform_f32(uint64_t *state, float lo, float hi) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    const double u = (double)((*state * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;  // [0, 1)
    return (float)(lo + (hi - lo) * u);
}

int argmax_f32(const float *v, int64_t n) {
    int best = 0;
    for (int64_t j = 1; j < n; j++)
        if (v[j] > v[best]) best = (int)j;
    return best;
}

void gpt2_byte_char(int b, char out[3]) {
    int n = 0, cp = b;
    if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
        for (int k = 0; k < b; k++) n += !((k >= 33 && k <= 126) || (k >= 161 && k <= 172) || k >= 174);
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

void test_args(int argc, char **argv, const char *names, ...) {
    va_list ap;
    va_start(ap, names);
    int i = 1;
    for (const char **out; (out = va_arg(ap, const char **)); i++) *out = i < argc ? argv[i] : NULL;
    va_end(ap);
    if (argc != i) {
        fprintf(stderr, "usage: %s %s\n", argv[0], names);
        exit(2);
    }
}

char *make_temp_dir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char tmpl[PATH_MAX];
    snprintf(tmpl, sizeof tmpl, "%s/dysco-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(tmpl)) setup_die("mkdtemp");
    return strdup(tmpl);
}

void rm_rf(const char *dir) {
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) setup_die("rm -rf");
}

cmd_result run_cmd(const char *fmt, ...) {
    char line[8192], *dir = make_temp_dir("cmd"), full[8192 + 2 * PATH_MAX + 64], out_path[PATH_MAX], err_path[PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    snprintf(out_path, sizeof out_path, "%s/out", dir);
    snprintf(err_path, sizeof err_path, "%s/err", dir);
    snprintf(full, sizeof full, "%s >'%s' 2>'%s' </dev/null", line, out_path, err_path);
    int st = system(full);
    cmd_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, NULL, NULL};
    dy_error err;
    r.out = dy_read_file(out_path, NULL, &err);
    r.err = dy_read_file(err_path, NULL, &err);
    if (!r.out || !r.err) setup_die("reading command output");
    rm_rf(dir);
    free(dir);
    return r;
}

void cmd_result_free(cmd_result *r) {
    free(r->out);
    free(r->err);
}

int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

char *preset_json(const char *name, int vocab) {
    const dy_preset *p = dy_preset_find(name);
    if (!p) setup_die(name);
    cJSON *j = cJSON_Parse(p->config_json);
    if (vocab) cJSON_ReplaceItemInObjectCaseSensitive(j, "vocab_size", cJSON_CreateNumber(vocab));
    dy_preset_fit_token_ids(j);
    char *s = cJSON_Print(j);
    cJSON_Delete(j);
    return s;
}

void load_preset(const char *name, dy_model_config *cfg, int vocab) {
    char *json = preset_json(name, vocab);
    dy_error err;
    if (dy_model_config_parse(json, strlen(json), name, cfg, &err)) setup_die(err.msg);
    free(json);
}

void write_checkpoint(const char *dir, const char *config_json, const dy_model_config *cfg, dy_dtype dtype,
                      unsigned long long shard_bytes, unsigned long long seed) {
    char path[PATH_MAX];
    dy_error err;
    dy_writer_options o = {.dtype = dtype, .init = {.seed = seed, .std = 0.02, .norm_jitter = 0.1},
                           .shard_bytes = shard_bytes};
    if (dy_path_join(path, sizeof path, dir, "config.json", &err) ||
        dy_write_file(path, config_json, strlen(config_json), &err) || dy_write_random_weights(dir, cfg, &o, &err))
        setup_die(err.msg);
}

static int checks_passed, checks_failed;

bool check(bool ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
    ok ? checks_passed++ : checks_failed++;
    return ok;
}

int check_summary(void) {
    printf("%d passed, %d failed\n", checks_passed, checks_failed);
    return checks_failed ? 1 : 0;
}

const char *python_with_numpy(void) {
    static const char *const candidates[] = {"python3", "/usr/bin/python3"};
    for (size_t i = 0; i < 2; i++) {
        cmd_result r = run_cmd("%s -c 'import numpy' 2>/dev/null", candidates[i]);
        const int ok = r.status == 0;
        cmd_result_free(&r);
        if (ok) return candidates[i];
    }
    return NULL;
}

cmd_result run_python(const char *interpreter, const char *code) {
    char path[] = "/tmp/dysco_py_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) setup_die("mkstemp");
    FILE *f = fdopen(fd, "w");
    fputs(code, f);
    fclose(f);
    cmd_result r = run_cmd("%s '%s'", interpreter, path);
    remove(path);
    return r;
}

int example_difference(const cJSON *ours, const cJSON *expected, const char **key) {
    static const char *const keys[] = {"input_prompt", "reference_output", "item"};
    const cJSON *a = ours ? ours->child : NULL, *b = expected ? expected->child : NULL;
    for (int i = 0; a && b; i++, a = a->next, b = b->next)
        for (int k = 0; k < 3; k++)
            if (!cJSON_Compare(cJSON_GetObjectItemCaseSensitive(a, keys[k]), cJSON_GetObjectItemCaseSensitive(b, keys[k]), true)) {
                *key = keys[k];
                return i;
            }
    return -1;
}

static double json_number(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) {
        fprintf(stderr, "config.json: %s: not a number\n", key);
        setup_die("token_bytes_from_config");
    }
    return v->valuedouble;
}

// Counted apart from runtime/model/memory_plan.c, from the names in the file, so that a test
// holds the runtime's sum to an independent one.
double token_bytes_from_config(const char *config_path, double ctx, double elem, bool active) {
    dy_error err;
    char *text = dy_read_file(config_path, NULL, &err);
    cJSON *c = text ? cJSON_Parse(text) : NULL;
    free(text);
    if (!c) setup_die(config_path);
    const double vocab = json_number(c, "vocab_size"), h = json_number(c, "hidden_size"),
                 layers = json_number(c, "num_hidden_layers"), heads = json_number(c, "num_attention_heads"),
                 kv_heads = json_number(c, "num_key_value_heads"), inter = json_number(c, "intermediate_size");
    const double hd = cJSON_GetObjectItem(c, "head_dim") ? json_number(c, "head_dim") : h / heads;
    const bool moe = strcmp(cJSON_GetObjectItem(c, "model_type")->valuestring, "qwen3_moe") == 0,
               qk_norms = strcmp(cJSON_GetObjectItem(c, "model_type")->valuestring, "llama") != 0;
    double weights = 0;
    for (int l = 0; l < (int)layers; l++) {
        weights += 2 * h + (qk_norms ? 2 * hd : 0) + 2 * heads * hd * h + 2 * kv_heads * hd * h;
        const cJSON *step = cJSON_GetObjectItem(c, "decoder_sparse_step"), *dense_layer;
        bool sparse = moe && (l + 1) % (cJSON_IsNumber(step) ? step->valueint : 1) == 0;
        if (moe)
            cJSON_ArrayForEach(dense_layer, cJSON_GetObjectItem(c, "mlp_only_layers")) sparse &= dense_layer->valueint != l;
        if (sparse) {
            const double experts = json_number(c, active ? "num_experts_per_tok" : "num_experts");
            weights += json_number(c, "num_experts") * h + experts * 3 * json_number(c, "moe_intermediate_size") * h;
        } else {
            weights += 3 * inter * h;
        }
    }
    weights += h + vocab * h;
    cJSON_Delete(c);
    return (weights + layers * 2 * kv_heads * hd * ctx) * elem;
}

const char *write_input(const char *dir, const char *name, const char *text) {
    static char paths[4][PATH_MAX];
    static int next;
    char *path = paths[next++ % 4];
    dy_error err;
    if (dy_path_join(path, PATH_MAX, dir, name, &err) || dy_write_file(path, text, strlen(text), &err)) setup_die(err.msg);
    return path;
}

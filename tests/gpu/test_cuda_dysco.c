// The CUDA backend's DySCO ops (dysco_update, dysco_select) against their twins in
// runtime/dysco's controller (dy_dysco_update, dy_dysco_select_and_bias), on fresh random inputs:
// - update at c in {1000, 4096, 33000, 131072}: 16 probability rows laid out with the stride of
//   the largest context (as the attention capture writes them), a random normalised prior over
//   [0, c-1) and garbage past it; importance within 1e-6 relative, then after a second step.
// - select at the same c, top-k (64, 4096, more than c), top-p (0.5, 0.9, 0.975), hybrid (0.975
//   with k 4096 and 64), dynamic and static, strength 2 and 100 (hard mask), with and without a
//   template mask over a prompt shorter than c, on distinct importance values, on values on a
//   coarse grid (thousands of exact ties, at the top-k and nucleus boundaries too) and on all
//   zeros. Each case makes two calls (dynamic: at c and c+1 on fresh importance; static: the
//   freezing call at c, then c+1 on other importance, which must keep the set): the bias equal
//   entry for entry, the selection's Jaccard index with the controller's 1, n_selected and the
//   logging counts equal, the logged mass within 1e-9 relative.
// - a recorded graph of update + select replayed at two positions read from device memory.
// One line per check; the last line is "N passed, M failed".
// Without a GPU it prints SKIPPED and exits 77 (ctest: skipped).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../test_util.h"
#include "kernels/device_info.h"
#include "runtime/dysco/dysco_controller.h"

enum { MAX_CTX = 131072 + 1000, PAIRS = 16 };
static const int ctxs[] = {1000, 4096, 33000, 131072};
static const double DECAY = 0.85;
static const float GARBAGE = 0.25f;  // importance past the candidates: selected if ever read

static dy_backend *gpu;
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(float lo, float hi) { return uniform_f32(&rng, lo, hi); }

// Backend memory shared by the cases.
static struct {
    int32_t *position;
    float *probs, *importance, *bias;
    uint8_t *selected, *template_mask;
    dy_dysco_device_state *state;
} dev;

static void *dev_alloc(size_t bytes) {
    void *p = gpu->alloc(gpu, bytes);
    if (!p) setup_die("backend out of memory");
    return p;
}
static void *zalloc(size_t bytes) {
    void *p = xmalloc(bytes);
    memset(p, 0, bytes);
    return p;
}
static void set_position(int32_t pos) { gpu->upload(gpu, dev.position, &pos, sizeof pos); }
static void reset_device_state(void) {
    dy_dysco_device_state zero;
    memset(&zero, 0, sizeof zero);
    gpu->upload(gpu, dev.state, &zero, sizeof zero);
}

// A controller state set up by hand (dy_dysco_init wants a config and a prompt; only these
// fields matter to update and select: every buffer dy_dysco_init allocates, head_sum included).
// template_mask: NULL or (prompt_len), copied.
static void state_init(dy_dysco_state *s, bool has_k, int k, bool has_p, double p, bool dynamic, double strength,
                       const bool *template_mask, int prompt_len) {
    memset(s, 0, sizeof *s);
    s->has_select_top_k = has_k;
    s->select_top_k = k;
    s->has_select_top_p = has_p;
    s->select_top_p = p;
    s->strength = strength;
    s->decay = DECAY;
    s->dynamic = dynamic;
    s->max_ctx = MAX_CTX;
    const size_t n = MAX_CTX;
    s->importance = zalloc(n * sizeof *s->importance);
    s->attn = zalloc(n * sizeof *s->attn);
    s->head_sum = xmalloc(n * sizeof *s->head_sum);
    s->selected = zalloc(n * sizeof *s->selected);
    s->keys = xmalloc(n * sizeof *s->keys);
    s->keys_tmp = xmalloc(n * sizeof *s->keys_tmp);
    s->order = xmalloc(n * sizeof *s->order);
    s->order_tmp = xmalloc(n * sizeof *s->order_tmp);
    s->prompt_len = prompt_len;
    if (template_mask) {
        s->template_mask = xmalloc((size_t)prompt_len * sizeof *s->template_mask);
        memcpy(s->template_mask, template_mask, (size_t)prompt_len * sizeof *s->template_mask);
    }
}

// ---- update ----------------------------------------------------------------------------------

// PAIRS rows of stride MAX_CTX: positive, each summing to 1 over [0, c); 1e30 past c (read: wrong).
static void fill_probs(float *rows, int c) {
    for (int i = 0; i < PAIRS; i++) {
        float *r = rows + (size_t)i * MAX_CTX;
        double sum = 0;
        for (int j = 0; j < c; j++) sum += r[j] = uniform(0.001f, 1.0f);
        for (int j = 0; j < c; j++) r[j] = (float)(r[j] / sum);
        for (int j = c; j < MAX_CTX; j++) r[j] = 1e30f;
    }
}

static double max_rel_error(const float *got, const float *want, int n) {
    double worst = 0;
    for (int j = 0; j < n; j++) {
        const double e = want[j] != 0 ? fabs((double)got[j] - want[j]) / fabs((double)want[j]) : fabs((double)got[j]);
        if (!(e <= worst)) worst = e;  // NaN counts as worst
    }
    return worst;
}

static dy_dysco_update_args update_args(void) {
    return (dy_dysco_update_args){.probs = dev.probs, .probs_stride = MAX_CTX, .n_pairs = PAIRS,
                                  .position = dev.position, .importance = dev.importance, .max_ctx = MAX_CTX,
                                  .decay = DECAY};
}

// A random normalised prior over [0, c-1) into host (MAX_CTX) and the controller, garbage past it.
static void fill_prior(float *host, dy_dysco_state *s, int c) {
    double sum = 0;
    for (int j = 0; j < c - 1; j++) sum += host[j] = uniform(0.001f, 1.0f);
    for (int j = 0; j < c - 1; j++) host[j] = (float)(host[j] / sum);
    for (int j = c - 1; j < MAX_CTX; j++) host[j] = 3.0f;  // not history: the op must not read it
    memcpy(s->importance, host, (size_t)(c - 1) * sizeof(float));
    s->len = c - 1;
}

static void compact_rows(float *compact, const float *rows, int c) {
    for (int i = 0; i < PAIRS; i++) memcpy(compact + (size_t)i * c, rows + (size_t)i * MAX_CTX, (size_t)c * sizeof(float));
}

static void test_update(void) {
    float *rows = xmalloc((size_t)PAIRS * MAX_CTX * sizeof(float)), *compact = xmalloc((size_t)PAIRS * MAX_CTX * sizeof(float));
    float *host = xmalloc(MAX_CTX * sizeof(float)), *got = xmalloc(MAX_CTX * sizeof(float));
    for (size_t ci = 0; ci < sizeof ctxs / sizeof *ctxs; ci++) {
        const int c = ctxs[ci];
        dy_dysco_state s;
        state_init(&s, true, 64, false, 0, true, 2.0, NULL, 0);
        fill_prior(host, &s, c);
        gpu->upload(gpu, dev.importance, host, MAX_CTX * sizeof(float));
        double err[2];
        for (int step = 0; step < 2; step++) {  // c, then c + 1 on the decayed result
            const int cc = c + step;
            fill_probs(rows, cc);
            compact_rows(compact, rows, cc);
            gpu->upload(gpu, dev.probs, rows, (size_t)PAIRS * MAX_CTX * sizeof(float));
            set_position(cc - 1);
            dy_dysco_update(&s, compact, PAIRS, cc);
            const dy_dysco_update_args a = update_args();
            gpu->dysco_update(gpu, &a);
            gpu->download(gpu, got, dev.importance, (size_t)cc * sizeof(float));
            err[step] = max_rel_error(got, s.importance, cc);
        }
        check(err[0] <= 1e-6 && err[1] <= 1e-6,
              "update c %d (%d pairs, row stride %d, decay %g): importance max relative error %.3g, then %.3g after a "
              "second step at c %d",
              c, PAIRS, MAX_CTX, DECAY, err[0], err[1], c + 1);
        dy_dysco_free(&s);
    }
    free(rows);
    free(compact);
    free(host);
    free(got);
}

// ---- select ----------------------------------------------------------------------------------

typedef struct {
    const char *name;
    bool has_k;
    int k;
    bool has_p;
    double p;
} select_mode;
static const select_mode modes[] = {
    {"top-k 64", true, 64, false, 0},          {"top-k 4096", true, 4096, false, 0},
    {"top-k 200000", true, 200000, false, 0},  {"top-p 0.5", false, 0, true, 0.5},
    {"top-p 0.9", false, 0, true, 0.9},        {"top-p 0.975", false, 0, true, 0.975},
    {"hybrid p 0.975 k 4096", true, 4096, true, 0.975}, {"hybrid p 0.975 k 64", true, 64, true, 0.975},
};

typedef enum { IMP_DISTINCT, IMP_TIES, IMP_ZEROS } imp_kind;
static const char *const imp_names[] = {"distinct", "grid ties", "all zero"};

// host (MAX_CTX): n values summing to 1, GARBAGE past them. Distinct: (perm_j + 1)^3 normalised
// (a skewed distribution; neighbours in value differ by >= 2e-5 relative, far above fp32's
// rounding); ties: 1 .. 16 at random, normalised (n / 16 exact ties per value); zeros: 0.
static void fill_importance(float *host, int32_t *perm, int n, imp_kind kind) {
    if (kind == IMP_ZEROS) memset(host, 0, (size_t)n * sizeof *host);
    else {
        for (int j = 0; j < n; j++) perm[j] = j;
        for (int j = n - 1; j > 0; j--) {
            int r = (int)uniform(0.0f, (float)(j + 1));
            if (r > j) r = j;
            const int32_t t = perm[j];
            perm[j] = perm[r];
            perm[r] = t;
        }
        double sum = 0;
        for (int j = 0; j < n; j++) {
            double g;
            if (kind == IMP_DISTINCT) g = (double)(perm[j] + 1) * (perm[j] + 1) * (perm[j] + 1);
            else g = 1 + perm[j] % 16;  // a random permutation's residues: random, balanced
            sum += g;
        }
        for (int j = 0; j < n; j++) {
            const double g = kind == IMP_DISTINCT ? (double)(perm[j] + 1) * (perm[j] + 1) * (perm[j] + 1) : 1 + perm[j] % 16;
            host[j] = (float)(g / sum);
        }
    }
    for (int j = n; j < MAX_CTX; j++) host[j] = GARBAGE;
}

typedef struct {
    int bias_equal, c;
    double jaccard;
    int n_selected, gpu_n_selected;
    bool logs_ok, ok;
} call_result;

static float *want_bias, *got_bias;
static uint8_t *got_selected;

// One call at KV length c on both, the controller state and the device's as they are: importance
// host (MAX_CTX) goes to both first when given.
static call_result select_call(dy_dysco_state *s, const dy_dysco_select_args *a, int c, const float *host) {
    if (host) {
        memcpy(s->importance, host, MAX_CTX * sizeof(float));
        gpu->upload(gpu, dev.importance, host, MAX_CTX * sizeof(float));
    }
    set_position(c - 1);
    dy_dysco_select_and_bias(s, c, want_bias);
    gpu->dysco_select(gpu, a);
    dy_dysco_device_state st;
    gpu->download(gpu, got_bias, dev.bias, (size_t)c * sizeof(float));
    gpu->download(gpu, got_selected, dev.selected, (size_t)c);
    gpu->download(gpu, &st, dev.state, sizeof st);
    call_result r = {.c = c, .n_selected = s->n_selected, .gpu_n_selected = st.n_selected};
    int inter = 0, uni = 0, first_bias = -1, first_sel = -1;
    for (int j = 0; j < c; j++) {
        const bool eq = memcmp(&want_bias[j], &got_bias[j], sizeof(float)) == 0;
        r.bias_equal += eq;
        if (!eq && first_bias < 0) first_bias = j;
        const bool w = s->selected[j], g = got_selected[j] != 0;
        inter += w && g;
        uni += w || g;
        if (w != g && first_sel < 0) first_sel = j;
    }
    r.jaccard = uni ? (double)inter / uni : 1.0;
    r.logs_ok = true;
    for (int i = 0; i < DY_DYSCO_LOG_N; i++) {
        const double w = s->log[i], g = st.log[i];
        r.logs_ok &= i == DY_DYSCO_LOG_AVG_NUCLEUS_MASS ? fabs(g - w) <= 1e-9 * fabs(w) || g == w : g == w;
    }
    r.ok = r.bias_equal == c && inter == uni && r.n_selected == r.gpu_n_selected && r.logs_ok;
    if (!r.ok) {
        printf("  c %d: first bias mismatch at %d (CPU %g, GPU %g), first selection mismatch at %d; logs", c, first_bias,
               first_bias >= 0 ? want_bias[first_bias] : 0.0, first_bias >= 0 ? got_bias[first_bias] : 0.0, first_sel);
        for (int i = 0; i < DY_DYSCO_LOG_N; i++) printf(" %s %.17g/%.17g", dy_dysco_log_names[i], s->log[i], st.log[i]);
        printf(" (CPU/GPU)\n");
    }
    return r;
}

static dy_dysco_select_args select_args(const dy_dysco_state *s, bool with_template) {
    return (dy_dysco_select_args){.position = dev.position, .importance = dev.importance, .max_ctx = MAX_CTX,
                                  .dynamic = s->dynamic, .has_top_k = s->has_select_top_k,
                                  .has_top_p = s->has_select_top_p,
                                  .top_k = s->has_select_top_k ? s->select_top_k : 1,
                                  .top_p = s->has_select_top_p ? s->select_top_p : 1.0, .strength = s->strength,
                                  .template_mask = with_template ? dev.template_mask : NULL,
                                  .prompt_len = s->prompt_len, .selected = dev.selected, .state = dev.state,
                                  .bias = dev.bias};
}

// Template occurrences over the prompt [0, prompt_len): runs of 1..8 positions, ~30% covered.
static void fill_template(bool *mask, uint8_t *bytes, int prompt_len) {
    memset(mask, 0, (size_t)prompt_len * sizeof *mask);
    for (int j = 0; j < prompt_len; j++)
        if (uniform(0.0f, 1.0f) < 0.07f) {
            const int len = 1 + (int)uniform(0.0f, 8.0f);
            for (int i = j; i < j + len && i < prompt_len; i++) mask[i] = true;
        }
    for (int j = 0; j < prompt_len; j++) bytes[j] = mask[j];
}

static void test_select(void) {
    float *host = xmalloc(MAX_CTX * sizeof(float));
    int32_t *perm = xmalloc(MAX_CTX * sizeof(int32_t));
    bool *mask = xmalloc(MAX_CTX * sizeof(bool));
    uint8_t *mask_bytes = xmalloc(MAX_CTX);
    static const double strengths[] = {2.0, 100.0};
    for (int kind = IMP_DISTINCT; kind <= IMP_ZEROS; kind++)
        for (size_t ci = 0; ci < sizeof ctxs / sizeof *ctxs; ci++)
            for (size_t mi = 0; mi < sizeof modes / sizeof *modes; mi++)
                for (int dynamic = 1; dynamic >= 0; dynamic--)
                    for (int si = 0; si < 2; si++)
                        for (int with_template = 0; with_template < 2; with_template++) {
                            const int c = ctxs[ci], prompt_len = c / 2 + 7;
                            const select_mode *m = &modes[mi];
                            if (with_template) {
                                fill_template(mask, mask_bytes, prompt_len);
                                gpu->upload(gpu, dev.template_mask, mask_bytes, (size_t)prompt_len);
                            }
                            dy_dysco_state s;
                            state_init(&s, m->has_k, m->k, m->has_p, m->p, dynamic, strengths[si],
                                       with_template ? mask : NULL, prompt_len);
                            const dy_dysco_select_args a = select_args(&s, with_template);
                            reset_device_state();
                            // Dynamic: selects on [0, c), then on fresh [0, c+1). Static: freezes on
                            // [0, c-1), then keeps the set at c+1 whatever the importance.
                            fill_importance(host, perm, dynamic ? c : c - 1, (imp_kind)kind);
                            s.len = dynamic ? c : c - 1;
                            const call_result r1 = select_call(&s, &a, c, host);
                            fill_importance(host, perm, dynamic ? c + 1 : c, (imp_kind)kind);
                            s.len = dynamic ? c + 1 : c;
                            const call_result r2 = select_call(&s, &a, c + 1, host);
                            check(r1.ok && r2.ok,
                                  "select %s c %d %s %s s %g %s: bias %d/%d equal, Jaccard %.6f, %d selected (GPU %d); "
                                  "at c+1: bias %d/%d, Jaccard %.6f, %d selected (GPU %d); logs %s",
                                  imp_names[kind], c, m->name, dynamic ? "dynamic" : "static", strengths[si],
                                  with_template ? "templates" : "no templates", r1.bias_equal, r1.c, r1.jaccard,
                                  r1.n_selected, r1.gpu_n_selected, r2.bias_equal, r2.c, r2.jaccard, r2.n_selected,
                                  r2.gpu_n_selected, r1.logs_ok && r2.logs_ok ? "equal" : "DIFFER");
                            dy_dysco_free(&s);
                        }
    free(host);
    free(perm);
    free(mask);
    free(mask_bytes);
}

// ---- graph -----------------------------------------------------------------------------------

// update + select (dynamic hybrid, strength 2, templates) recorded once and replayed at c 4096
// and 33000, each with a fresh prior and fresh rows uploaded before the launch; the position is
// read from device memory. The logs accumulate over both. The controller selects on the
// device's importance (its update is checked within 1e-6; the selection must then be identical).
static void test_graph(void) {
    if (!gpu->graph_begin) {
        check(false, "graph: the CUDA backend records graphs");
        return;
    }
    float *rows = xmalloc((size_t)PAIRS * MAX_CTX * sizeof(float)), *compact = xmalloc((size_t)PAIRS * MAX_CTX * sizeof(float));
    float *host = xmalloc(MAX_CTX * sizeof(float)), *got = xmalloc(MAX_CTX * sizeof(float));
    bool *mask = xmalloc(MAX_CTX * sizeof(bool));
    uint8_t *mask_bytes = xmalloc(MAX_CTX);
    const int prompt_len = 2000;
    fill_template(mask, mask_bytes, prompt_len);
    gpu->upload(gpu, dev.template_mask, mask_bytes, (size_t)prompt_len);
    dy_dysco_state s;
    state_init(&s, true, 4096, true, 0.975, true, 2.0, mask, prompt_len);
    reset_device_state();
    const dy_dysco_update_args ua = update_args();
    const dy_dysco_select_args sa = select_args(&s, true);
    gpu->graph_begin(gpu);
    gpu->dysco_update(gpu, &ua);
    gpu->dysco_select(gpu, &sa);
    void *graph = gpu->graph_end(gpu);
    check(graph != NULL, "graph: update + select recorded");
    static const int steps[] = {4096, 33000};
    for (int i = 0; graph && i < 2; i++) {
        const int c = steps[i];
        fill_prior(host, &s, c);
        gpu->upload(gpu, dev.importance, host, MAX_CTX * sizeof(float));
        fill_probs(rows, c);
        compact_rows(compact, rows, c);
        gpu->upload(gpu, dev.probs, rows, (size_t)PAIRS * MAX_CTX * sizeof(float));
        set_position(c - 1);
        gpu->graph_launch(gpu, graph);
        dy_dysco_update(&s, compact, PAIRS, c);
        gpu->download(gpu, got, dev.importance, (size_t)c * sizeof(float));
        const double err = max_rel_error(got, s.importance, c);
        memcpy(s.importance, got, (size_t)c * sizeof(float));
        dy_dysco_select_and_bias(&s, c, want_bias);
        dy_dysco_device_state st;
        gpu->download(gpu, got_bias, dev.bias, (size_t)c * sizeof(float));
        gpu->download(gpu, &st, dev.state, sizeof st);
        int equal = 0;
        for (int j = 0; j < c; j++) equal += memcmp(&want_bias[j], &got_bias[j], sizeof(float)) == 0;
        bool logs = true;
        for (int l = 0; l < DY_DYSCO_LOG_N; l++)
            logs &= l == DY_DYSCO_LOG_AVG_NUCLEUS_MASS ? fabs(st.log[l] - s.log[l]) <= 1e-9 * fabs(s.log[l]) : st.log[l] == s.log[l];
        check(err <= 1e-6 && equal == c && st.n_selected == s.n_selected && logs,
              "graph replay %d at c %d: importance max relative error %.3g, bias %d/%d equal, %d selected (GPU %d), "
              "logs over %g selections %s",
              i + 1, c, err, equal, c, s.n_selected, st.n_selected, s.log[DY_DYSCO_LOG_NUM_GENERATIONS],
              logs ? "equal" : "DIFFER");
    }
    if (graph) gpu->graph_free(gpu, graph);
    dy_dysco_free(&s);
    free(rows);
    free(compact);
    free(host);
    free(got);
    free(mask);
    free(mask_bytes);
}

int main(void) {
    if (dy_cuda_device_count() == 0) {
        printf("SKIPPED: no CUDA device visible\n");
        return 77;
    }
    dy_error err;
    gpu = dy_backend_cuda_create(0, &err);
    if (!gpu) setup_die(err.msg);
    if (!gpu->dysco_update || !gpu->dysco_select) setup_die("the CUDA backend has no DySCO ops");
    const dy_op_limits limits = {.max_rows = 1, .max_ctx = MAX_CTX};  // no MoE, no attention heads
    if (gpu->prepare(gpu, &limits)) setup_die("backend setup");
    dev.position = dev_alloc(sizeof(int32_t));
    dev.probs = dev_alloc((size_t)PAIRS * MAX_CTX * sizeof(float));
    dev.importance = dev_alloc(MAX_CTX * sizeof(float));
    dev.bias = dev_alloc(MAX_CTX * sizeof(float));
    dev.selected = dev_alloc(MAX_CTX);
    dev.template_mask = dev_alloc(MAX_CTX);
    dev.state = dev_alloc(sizeof(dy_dysco_device_state));
    want_bias = xmalloc((MAX_CTX + 1) * sizeof(float));
    got_bias = xmalloc((MAX_CTX + 1) * sizeof(float));
    got_selected = xmalloc(MAX_CTX + 1);

    test_update();
    test_select();
    test_graph();

    gpu->release(gpu, dev.position);
    gpu->release(gpu, dev.probs);
    gpu->release(gpu, dev.importance);
    gpu->release(gpu, dev.bias);
    gpu->release(gpu, dev.selected);
    gpu->release(gpu, dev.template_mask);
    gpu->release(gpu, dev.state);
    free(want_bias);
    free(got_bias);
    free(got_selected);
    gpu->destroy(gpu);
    return check_summary();
}

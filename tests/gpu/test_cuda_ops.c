// The CUDA backend (bf16) through the op conformance suite (../op_conformance.h: every op on
// odd shapes and strided views against naive double-precision references on the values the GPU
// stores, relative error < 2e-2 and argmax where the reference has a clear winner), its
// long-context attention cases included (decode against up to 40,000 keys in a 128k cache,
// prefill of 513 queries on 8,000 cached positions). Then what only this backend has, against
// the CPU backend: creation on a missing device, pick (next token) on fp32 logits with ties and
// -inf, QRHead's row accumulator, and the tiny presets end to end (decode steps as recorded graphs).
// One line per check; the last line is "N passed, M failed".
// Without a GPU it prints SKIPPED and exits 77 (ctest: skipped).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../op_conformance.h"
#include "../reference_fixture.h"
#include "../test_util.h"
#include "kernels/device_info.h"
#include "runtime/model/model.h"

static const double TOL = 2e-2;

static dy_backend *cpu, *gpu;

// The inputs of the checks here: a stream of their own, so they do not move when the suite changes.
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static float uniform(float lo, float hi) { return uniform_f32(&rng, lo, hi); }

static void test_create(int n_devices) {
    dy_error err = {{0}};
    dy_backend *none = dy_backend_cuda_create(n_devices, &err);
    check(!none && strstr(err.msg, "no such device"), "create(device %d, past the last) fails: \"%s\"", n_devices,
          err.msg);
    if (none) none->destroy(none);
    check(strcmp(gpu->name, "cuda") == 0 && gpu->act_dtype == DY_BF16, "backend \"%s\" stores bf16", gpu->name);
}

// ---- pick ------------------------------------------------------------------------------------

enum { PICK_VOCAB_MAX = 151936 };
typedef enum { PICK_PLAIN, PICK_TIES, PICK_NEG_INF } pick_kind;
static const char *const pick_kind_names[] = {"plain", "exact ties", "-inf entries"};

// Fresh logits (vocab) uniform in [-8, 8); "exact ties" rounds them to a grid of 0.5 (hundreds
// of ties at every value, so also at the top-k and top-p thresholds); "-inf entries" sets about
// a third of them to -inf.
static void pick_logits(float *l, int vocab, pick_kind kind) {
    for (int i = 0; i < vocab; i++) {
        l[i] = uniform(-8.0f, 8.0f);
        if (kind == PICK_TIES) l[i] = roundf(l[i] * 2.0f) / 2.0f;
        if (kind == PICK_NEG_INF && uniform(0.0f, 1.0f) < 0.35f) l[i] = -INFINITY;
    }
}

static dy_pick pick_on(dy_backend *be, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out) {
    dy_pick got;
    be->pick(be, logits, vocab, p, out);
    be->download(be, &got, out, sizeof got);
    return got;
}

// Whether u is within 1e-5 of a boundary of the CPU's cumulative distribution (in units of the
// kept mass, which is what u is): the CPU's own tokens at u -/+ 1e-5 differ.
static bool near_boundary(const float *logits, int vocab, dy_pick_params p, dy_pick *out) {
    const double u = p.u;
    p.u = u - 1e-5 > 0 ? u - 1e-5 : 0;
    const int32_t below = pick_on(cpu, logits, vocab, &p, out).token;
    p.u = u + 1e-5 < 1 ? u + 1e-5 : 1 - 0x1p-53;
    return pick_on(cpu, logits, vocab, &p, out).token != below;
}

static bool logprob_close(float got, float want) { return got == want || fabs((double)got - want) <= 1e-4; }

// The GPU's pick against the CPU's on the same fp32 logits, over temperature {0, 0.7, 1.3} x
// top_k {0, 1, 50} x top_p {1, 0.9, 0.5} x six u, and forced tokens: argmax always equal,
// logprob within 1e-4, the token equal except where u lies within 1e-5 of a CDF boundary (the
// GPU's sums are rounded differently; those cases are counted apart).
static void test_pick(void) {
    static const int vocabs[] = {PICK_VOCAB_MAX, 1000}, top_ks[] = {0, 1, 50};
    static const float temperatures[] = {0.0f, 0.7f, 1.3f}, top_ps[] = {1.0f, 0.9f, 0.5f};
    static const double us[] = {0.0, 0.0421, 0.3, 0.5, 0.77, 0.999};
    float *host = xmalloc(PICK_VOCAB_MAX * sizeof(float));
    dy_pick *cpu_out = cpu->alloc(cpu, sizeof(dy_pick)), *gpu_out = gpu->alloc(gpu, sizeof(dy_pick));
    if (!cpu_out || !gpu_out) setup_die("backend out of memory");
    for (int v = 0; v < 2; v++)
        for (int kind = PICK_PLAIN; kind <= PICK_NEG_INF; kind++) {
            const int vocab = vocabs[v];
            const size_t bytes = (size_t)vocab * sizeof(float);
            pick_logits(host, vocab, (pick_kind)kind);
            float *lc = backend_upload(cpu, host, bytes), *lg = backend_upload(gpu, host, bytes);
            int cases = 0, argmax_equal = 0, token_equal = 0, at_boundary = 0, logprob_ok = 0;
            double worst = 0;
            for (int t = 0; t < 3; t++)
                for (int k = 0; k < 3; k++)
                    for (int p = 0; p < 3; p++)
                        for (int ui = 0; ui < 6; ui++) {
                            const dy_pick_params params = {.temperature = temperatures[t], .sample_top_p = top_ps[p],
                                                           .sample_top_k = top_ks[k], .u = us[ui], .forced = -1};
                            const dy_pick want = pick_on(cpu, lc, vocab, &params, cpu_out);
                            const dy_pick got = pick_on(gpu, lg, vocab, &params, gpu_out);
                            cases++;
                            argmax_equal += got.argmax == want.argmax;
                            logprob_ok += logprob_close(got.logprob, want.logprob);
                            if (fabs((double)got.logprob - want.logprob) > worst) worst = fabs((double)got.logprob - want.logprob);
                            if (got.token == want.token) token_equal++;
                            else if (near_boundary(lc, vocab, params, cpu_out)) at_boundary++;
                            else
                                printf("  vocab %d %s T %g top_k %d top_p %g u %g: token %d on the GPU, %d on the CPU\n",
                                       vocab, pick_kind_names[kind], temperatures[t], top_ks[k], top_ps[p], us[ui],
                                       got.token, want.token);
                        }
            for (int f = 0; f < 8; f++) {  // forced tokens: only the logprob and the argmax
                int32_t id;
                do id = (int32_t)uniform(0.0f, (float)vocab) % vocab;
                while (isinf(host[id]));
                const dy_pick_params params = {.temperature = 0.7f, .sample_top_p = 0.5f, .sample_top_k = 1, .u = 0.5, .forced = id};
                const dy_pick want = pick_on(cpu, lc, vocab, &params, cpu_out), got = pick_on(gpu, lg, vocab, &params, gpu_out);
                cases++;
                argmax_equal += got.argmax == want.argmax;
                logprob_ok += logprob_close(got.logprob, want.logprob);
                token_equal += got.token == id && want.token == id;
            }
            check(argmax_equal == cases, "pick (vocab %d, %s): argmax equal in %d/%d cases", vocab, pick_kind_names[kind],
                  argmax_equal, cases);
            check(token_equal + at_boundary == cases,
                  "pick (vocab %d, %s): token equal in %d/%d cases, %d more with u within 1e-5 of a CDF boundary", vocab,
                  pick_kind_names[kind], token_equal, cases, at_boundary);
            check(logprob_ok == cases, "pick (vocab %d, %s): logprob within 1e-4 in %d/%d cases (worst %.3g)", vocab,
                  pick_kind_names[kind], logprob_ok, cases, worst);
            cpu->release(cpu, lc);
            gpu->release(gpu, lg);
        }
    cpu->release(cpu, cpu_out);
    gpu->release(gpu, gpu_out);
    free(host);
}

// ---- accumulate_rows ---------------------------------------------------------------------------

// QRHead's accumulator on fresh random rows (a capture buffer's stride, rows past n_cols left out)
// and a random starting sum, three weighted steps as a query pass makes them: the GPU's sums
// against the CPU's within 1e-12 relative (both in double; only FMA contraction may differ).
static void test_accumulate_rows(void) {
    enum { ROWS = 37, STRIDE = 5003, COLS = 4321 };
    float *rows = xmalloc((size_t)ROWS * STRIDE * sizeof *rows);
    double *acc = xmalloc((size_t)ROWS * COLS * sizeof *acc), *got = xmalloc((size_t)ROWS * COLS * sizeof *got);
    for (int i = 0; i < ROWS * STRIDE; i++) rows[i] = uniform(0.0f, 1e-3f);
    for (int i = 0; i < ROWS * COLS; i++) acc[i] = uniform(-1e-3f, 1e-3f);
    float *rc = backend_upload(cpu, rows, (size_t)ROWS * STRIDE * sizeof *rows);
    float *rg = backend_upload(gpu, rows, (size_t)ROWS * STRIDE * sizeof *rows);
    double *ac = backend_upload(cpu, acc, (size_t)ROWS * COLS * sizeof *acc);
    double *ag = backend_upload(gpu, acc, (size_t)ROWS * COLS * sizeof *acc);
    static const double weights[] = {1.0 / 29, -1.0 / 31, 0.25};
    for (int s = 0; s < 3; s++) {
        cpu->accumulate_rows(cpu, rc, STRIDE, ROWS, COLS, weights[s], ac);
        gpu->accumulate_rows(gpu, rg, STRIDE, ROWS, COLS, weights[s], ag);
    }
    cpu->download(cpu, acc, ac, (size_t)ROWS * COLS * sizeof *acc);
    gpu->download(gpu, got, ag, (size_t)ROWS * COLS * sizeof *got);
    double worst = 0;
    for (int i = 0; i < ROWS * COLS; i++) worst = fmax(worst, fabs(got[i] - acc[i]) / fmax(fabs(acc[i]), 1e-30));
    check(worst <= 1e-12, "accumulate_rows (%d rows x %d of stride %d, 3 steps): relative error %.3g", ROWS, COLS, STRIDE,
          worst);
    cpu->release(cpu, rc);
    gpu->release(gpu, rg);
    cpu->release(cpu, ac);
    gpu->release(gpu, ag);
    free(rows);
    free(acc);
    free(got);
}

// ---- end to end ------------------------------------------------------------------------------

enum { PROMPT = 40, STEPS = 160, POSITIONS = PROMPT + STEPS };

// Logits (vocab) at token position pos: a fresh prefill of tokens [0, pos] for prompt positions
// (odd ones in two chunks, so prefill on top of cached positions runs too), one decode step
// for the rest (the prompt's K/V are in the cache from the last prefill).
static int logits_at(dy_model *m, const int32_t *tokens, int pos, float *logits, dy_error *err) {
    const dy_forward_opts with_logits = {.logits = logits}, without = {0};
    if (pos >= PROMPT) return dy_model_forward(m, tokens + pos, 1, pos, &with_logits, err);
    const int first = pos % 2 ? (pos + 1) / 2 : 0;
    if (first && dy_model_forward(m, tokens, first, 0, &without, err)) return -1;
    return dy_model_forward(m, tokens + first, pos + 1 - first, first, &with_logits, err);
}

// A tiny preset with vocab 1024 and bf16 weights (exact in both backends) run for PROMPT prompt
// positions and STEPS teacher-forced steps on both: the logits' relative error over all
// positions, and argmax agreement per position (the decode steps run as recorded graphs on the
// GPU). A disagreement must be a tie at bf16 precision: the CPU's two candidates within 2e-2 of
// the logits' rms of each other. The error is taken
// over all positions, not per position: in the MoE model a router near-tie can pick another
// expert under bf16 activations, which moves that one position's logits by several percent (up
// to ~7e-2 in a CPU emulation of bf16 rounding).
static void test_model(const char *preset) {
    dy_model_config cfg;
    load_preset(preset, &cfg, 1024);
    char *json = preset_json(preset, 1024), *dir = make_temp_dir("cuda-ops");
    write_checkpoint(dir, json, &cfg, DY_BF16, 1ull << 40, 7);
    dy_checkpoint ck;
    dy_model mc, mg;
    dy_error err;
    if (dy_checkpoint_open(dir, &ck, &err)) setup_die(err.msg);
    if (dy_model_load(&mc, cpu, &ck, POSITIONS, PROMPT, &err) || dy_model_load(&mg, gpu, &ck, POSITIONS, PROMPT, &err))
        setup_die(err.msg);
    const int vocab = cfg.vocab_size;
    int32_t tokens[POSITIONS];
    for (int i = 0; i < POSITIONS; i++) tokens[i] = (int32_t)uniform(0, (float)vocab) % vocab;
    float *got = xmalloc((size_t)POSITIONS * vocab * sizeof(float)), *want = xmalloc((size_t)POSITIONS * vocab * sizeof(float));
    double worst = 0;
    int worst_pos = 0, agree = 0, ties = 0;
    for (int p = 0; p < POSITIONS; p++) {
        float *g = got + (size_t)p * vocab, *w = want + (size_t)p * vocab;
        if (logits_at(&mc, tokens, p, w, &err) || logits_at(&mg, tokens, p, g, &err)) setup_die(err.msg);
        const double e = logits_rel_error(g, w, vocab);
        if (e > worst) {
            worst = e;
            worst_pos = p;
        }
        const int best = argmax_f32(w, vocab), picked = argmax_f32(g, vocab);
        double rms = 0;
        for (int j = 0; j < vocab; j++) rms += (double)w[j] * w[j] / vocab;
        rms = sqrt(rms);
        if (picked == best) {
            agree++;
            continue;
        }
        const bool tie = w[best] - w[picked] < TOL * rms;
        ties += tie;
        printf("  %s position %d: argmax %d on the GPU, %d on the CPU (CPU logit gap %.3g, rms %.3g%s)\n", preset, p,
               picked, best, w[best] - w[picked], rms, tie ? ": a tie at bf16 precision" : "");
    }
    const double e = logits_rel_error(got, want, POSITIONS * vocab);
    check(e < TOL, "%s (vocab %d): logits relative error %.3g over %d prompt positions and %d steps (worst %.3g at %d)",
          preset, vocab, e, PROMPT, STEPS, worst, worst_pos);
    // A random-weight tiny model has flat logits: 1-2% of its positions have a top-2 gap under
    // bf16's noise (measured 96.5-99.5% raw agreement over runs). That is bf16 storage, not this
    // backend: the CPU itself, with every stored activation and K value rounded to bf16, agrees
    // with the fp32 CPU on 196-199 of these 200 positions (three presets, two seeds), and 1e-6
    // relative noise in its matmul outputs alone moves its logits by 0.15-0.4% (of the ~0.6% that
    // bf16 storage costs), so no bf16 implementation matches another rounding for rounding.
    // Every disagreement must be such a tie, and ties may not pass 5% of the positions.
    check(agree + ties == POSITIONS && agree >= 0.95 * POSITIONS,
          "%s: argmax agreement %d/%d positions (%.1f%%); %d of the %d misses are bf16 ties", preset, agree, POSITIONS,
          100.0 * agree / POSITIONS, ties, POSITIONS - agree);
    free(got);
    free(want);
    dy_model_free(&mc);
    dy_model_free(&mg);
    dy_checkpoint_close(&ck);
    rm_rf(dir);
    free(dir);
    free(json);
}

int main(void) {
    const int n_devices = dy_cuda_device_count();
    if (n_devices == 0) {
        printf("SKIPPED: no CUDA device visible\n");
        return 77;
    }
    dy_error err;
    gpu = dy_backend_cuda_create(0, &err);
    cpu = dy_backend_cpu_create();
    if (!gpu) setup_die(err.msg);
    // The suite's limits, and picks over Qwen3's vocabulary.
    dy_op_limits limits = op_conformance_limits;
    limits.vocab = PICK_VOCAB_MAX;
    if (!cpu || cpu->prepare(cpu, &limits) || gpu->prepare(gpu, &limits)) setup_die("backend setup");

    test_create(n_devices);
    op_conformance_run(gpu, true);
    test_pick();
    test_accumulate_rows();
    test_model("tiny-qwen3");
    test_model("tiny-llama");
    test_model("tiny-qwen3-moe");

    cpu->destroy(cpu);
    gpu->destroy(gpu);
    return check_summary();
}

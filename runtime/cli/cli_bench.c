// dysco bench: prefill and decode speed at given context lengths, next to the roofline of the
// machine measured in the same process (copy bandwidth, GEMM rate), as JSON lines.
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_lists.h"
#include "cli_job.h"
#include "kernels/base/timing.h"
#include "runtime/checkpoint/model_tensors.h"
#include "runtime/generate/generate.h"
#include "runtime/model/memory_plan.h"
#include "runtime/util/file_util.h"
#ifdef DYSCO_HAVE_CUDA
#include "kernels/device_info.h"
#endif

static const char USAGE[] =
    "usage: dysco bench --model DIR [--random-weights] [--ctx N,N,...] [--decode-steps N]\n"
    "                   [--method vanilla|dysco|attnsharp] [--attn-temperature T] [--dysco-config YAML]\n"
    "                   [--device cpu|cpu-bf16|cuda] [--prefill-chunk N] [--seed N] [--tp N] [--nccl]\n"
    "\n"
    "For each context length: prefill that many random tokens, then decode --decode-steps tokens\n"
    "greedily with the method; prints one JSON line per context (prefill seconds and tokens/s,\n"
    "decode ms/token median, GPU memory in use (the device's, so other processes count too), the\n"
    "bytes a decoded token reads (bytes_per_token: every weight but an untied embedding table, and\n"
    "the KV cache; active_bytes_per_token: the same with a MoE layer's routed experts only), and\n"
    "the roofline: active bytes / measured copy bandwidth for decode, FLOPs / measured GEMM rate\n"
    "for prefill), after one line with those measurements and, on a GPU, one line per decode\n"
    "projection shape timing the GEMV against cuBLASLt. --method dysco adds dysco_step_ms, its\n"
    "roofline (the speculative layers' weights, of the last one only its norm and q/k/v, and their\n"
    "KV, then all that vanilla reads) and the ratio,\n"
    "vanilla's decode ms and prefill seconds on the same prompt, and, where DySCO runs on the\n"
    "device, dysco_phases_ms: each part of a step timed alone.\n"
    "\n"
    "Under mpirun -np N or srun -n N it runs tensor-parallel (CPU ranks over MPI, GPU ranks over\n"
    "NCCL) and rank 0 prints: the machine line adds tp, the collectives (self, mpi or nccl) and the\n"
    "memory plan of one rank, and the rooflines are rank 0's share (its weight and KV slices over\n"
    "its own measured bandwidth and GEMM rate).\n";

// Whether be is a CPU backend (cpu, cpu-bf16): host memory, which has no memory_info to check.
static bool on_host(const dy_backend *be) { return !be->memory_info; }

// Bytes per second of a copy within backend memory (read + write) of 1 GiB (64 MiB on the CPU).
static double copy_bandwidth(dy_backend *be) {
    const size_t bytes = on_host(be) ? 64u << 20 : 1u << 30;
    void *a = be->alloc(be, bytes), *b = be->alloc(be, bytes);
    double best = 0;
    if (a && b) {
        be->copy(be, b, a, bytes);  // warm up, and first-touch the pages
        for (int r = 0; r < 5; r++) {
            char probe;
            double t0 = dy_now();
            be->copy(be, b, a, bytes);
            be->download(be, &probe, b, 1);  // waits for the copy
            double rate = 2.0 * (double)bytes / (dy_now() - t0);
            if (rate > best) best = rate;
        }
    }
    be->release(be, a);
    be->release(be, b);
    return best;
}

// FLOP/s of the backend's matmul on an (n, n) x (n, n) product in its weight dtype.
static double gemm_rate(dy_backend *be) {
    const int64_t n = on_host(be) ? 512 : 8192;
    const size_t bytes = (size_t)(n * n) * dy_dtype_size(be->act_dtype);
    dy_view x = {be->alloc(be, bytes), be->act_dtype, n, n, n}, w = x, out = x;
    w.data = be->alloc(be, bytes);
    out.data = be->alloc(be, bytes);
    double best = 0;
    if (x.data && w.data && out.data) {
        float *ones = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n && ones; i++) ones[i] = 1.0f / (float)n;
        for (int64_t r = 0; r < n && ones; r++) {  // defined inputs: no NaN or denormal paths in the timing
            dy_view xr = dy_view_rows(&x, r, 1), wr = dy_view_rows(&w, r, 1);
            be->upload_weight(be, &xr, ones);
            be->upload_weight(be, &wr, ones);
        }
        free(ones);
        be->matmul(be, &x, &w, &out);
        for (int r = 0; r < 3; r++) {
            char probe;
            double t0 = dy_now();
            be->matmul(be, &x, &w, &out);
            be->download(be, &probe, out.data, 1);
            double rate = 2.0 * (double)n * (double)n * (double)n / (dy_now() - t0);
            if (rate > best) best = rate;
        }
    }
    be->release(be, x.data);
    be->release(be, w.data);
    be->release(be, out.data);
    return best;
}

// The decode projections of this model through the GEMV and through cuBLASLt (JSON lines): the
// numbers behind using a hand-written GEMV for one-row matmuls.
static void gemv_lines(dy_backend *be, const dy_model_config *c, double bw) {
#ifdef DYSCO_HAVE_CUDA
    if (strcmp(be->name, "cuda") != 0) return;
    const int64_t hd = c->head_dim, inter = c->intermediate_size;
    const struct {
        const char *name;
        int64_t out, in;
    } shapes[] = {{"qkv", (c->n_heads + 2 * c->n_kv_heads) * hd, c->hidden_size}, {"o", c->hidden_size, c->n_heads * hd},
                  {"gate_up", 2 * inter, c->hidden_size}, {"down", c->hidden_size, inter},
                  {"lm_head", c->vocab_size, c->hidden_size}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        double gemv, lt;
        if (shapes[i].out < 1 || dy_cuda_time_gemv(be, shapes[i].out, shapes[i].in, 25, &gemv, &lt)) continue;
        const double bytes = 2.0 * (double)shapes[i].out * (double)shapes[i].in;
        printf("{\"kind\": \"gemv\", \"matrix\": \"%s\", \"out_features\": %lld, \"in\": %lld, \"bytes\": %.0f, "
               "\"gemv_us\": %.2f, \"cublaslt_us\": %.2f, \"gemv_fraction_of_copy_bw\": %.3f, "
               "\"cublaslt_fraction_of_copy_bw\": %.3f, \"cublaslt_over_gemv\": %.3f}\n",
               shapes[i].name, (long long)shapes[i].out, (long long)shapes[i].in, bytes, gemv * 1e6, lt * 1e6,
               bytes / gemv / bw, bytes / lt / bw, lt / gemv);
    }
    fflush(stdout);
#else
    (void)be, (void)c, (void)bw;
#endif
}

static double gpu_memory_in_use(void) {
#ifdef DYSCO_HAVE_CUDA
    dy_device_info info;
    dy_error err;
    if (dy_cuda_device_count() > 0 && dy_cuda_device_info(0, &info, &err) == 0)
        return (double)(info.total_bytes - info.free_bytes);
#endif
    return -1;
}

typedef struct {
    double *stamps;
    int n;
} stamps;

static void stamp(int32_t token, void *ctx) {
    (void)token;
    stamps *s = ctx;
    s->stamps[s->n++] = dy_now();
}

typedef struct {
    const char *model, *ctx_list, *method, *dysco_config, *device;
    bool random_weights, nccl;
    int64_t decode_steps, prefill_chunk, seed, tp;
    double attn_temperature;
} options;

static bool parse_options(int argc, char **argv, options *o, int *exit_status) {
    *o = (options){.ctx_list = "8192", .method = "vanilla", .device = DY_CLI_DEFAULT_DEVICE, .decode_steps = 32,
                   .prefill_chunk = DY_DEFAULT_PREFILL_CHUNK};
    const dy_option table[] = {
        {"--model", "DIR", "the checkpoint (or only its config.json, with --random-weights)", .string = &o->model},
        {"--random-weights", NULL, "build the model from DIR/config.json alone (make-model's\n"
                                   "initialisation), so real shapes need no checkpoint on disk",
         .flag = &o->random_weights},
        {"--ctx", "N,N,...", "context lengths, each at least 16", .string = &o->ctx_list},
        {"--decode-steps", "N", "tokens decoded after each prefill", .integer = &o->decode_steps, .min = 2,
         .max = 1 << 20},
        {"--method", NULL, "the generation loop", .string = &o->method, .choices = dy_cli_methods},
        {"--attn-temperature", "T", "attnsharp: attention logits divided by T > 0",
         .number = &o->attn_temperature, .default_text = "none"},
        {"--dysco-config", "YAML", "the DySCO config (--method dysco needs one)", .string = &o->dysco_config},
        {"--device", NULL, DY_CLI_DEVICE_HELP, .string = &o->device,
         .choices = dy_cli_devices},
        {"--prefill-chunk", "N", "tokens per prefill pass", .integer = &o->prefill_chunk, .min = 1, .max = 1 << 20},
        {"--seed", "N", "seed of the random prompt and of --random-weights", .integer = &o->seed, .min = 0,
         .max = INT64_MAX},
        {"--tp", "N", "must equal the number of processes the launcher started", .integer = &o->tp, .min = 1,
         .max = 4096, .default_text = "the world size"},
        {"--nccl", NULL, DY_CLI_NCCL_HELP, .flag = &o->nccl},
    };
    const dy_args_spec spec = {.verb = "bench", .usage = USAGE, .options = table, .n_options = DY_COUNT_OF(table)};
    return dy_args_parse_verb(&spec, argc, argv, exit_status);
}

// What the table cannot say: which options are required, and how they combine.
static int check_options(const options *o, dy_error *err) {
    if (!o->model) return dy_fail(err, "bench: needs --model DIR");
    dy_method method;
    dy_method_parse(o->method, &method);  // one of dy_cli_methods
    if (method == DY_METHOD_ATTNSHARP && !(o->attn_temperature > 0))
        return dy_fail(err, "--attn-temperature: attnsharp needs a temperature > 0");
    if (method == DY_METHOD_DYSCO && !o->dysco_config) return dy_fail(err, "bench: --method dysco needs --dysco-config");
    return dy_cli_job_check_nccl(o->nccl, o->device, err);
}

typedef struct {
    size_t elem;             // bytes of one weight or KV element on the backend
    dy_token_bytes token;    // what a decoded token reads (memory_plan.h)
    double spec_weights;     // the weights of the speculative pass's layers (DySCO), active experts only
} step_bytes;

// Whether the speculative pass's last layer reads a tensor of its: only what its attention
// capture needs, the input norm and the q, k, v projections with their norms (model_forward.c
// skips that layer's output projection and MLP).
static bool read_by_capture_layer(const dy_tensor_spec *s) {
    return strstr(s->name, ".input_layernorm.") || (strstr(s->name, ".self_attn.") && !strstr(s->name, ".o_proj."));
}

// What a one-token step reads on rank 0 of tp (its slices; tp 1: the whole model), from
// dy_token_bytes_count, and the layer tensors of the first spec_layers layers for DySCO's
// speculative pass (no LM head there; of its last layer the tensors read_by_capture_layer names).
// The rooflines count a MoE layer's routed experts only: the bound a routed kernel reaches (the
// GPU's MoE block runs every expert today, bytes_per_token).
static int count_step_bytes(const dy_model_config *cfg, dy_dtype dtype, int spec_layers, int tp, step_bytes *out,
                            dy_error *err) {
    if (dy_token_bytes_count(cfg, tp, dtype, &out->token, err)) return -1;
    dy_tensor_spec *specs;
    const int n = dy_model_tensor_specs(cfg, &specs, err);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++)
        if (specs[i].layer >= 0 && specs[i].layer < spec_layers &&
            (specs[i].layer < spec_layers - 1 || read_by_capture_layer(&specs[i])))
            out->spec_weights += (double)dy_tensor_token_bytes(cfg, &specs[i], tp, dtype, true);
    free(specs);
    return 0;
}

typedef struct {
    double prefill_seconds, step_ms;  // step_ms: the median interval between produced tokens
    int steps;
    bool has_phases;
    double phase_ms[DY_DYSCO_PHASE_N];  // DySCO on the device: where a step's time goes
} timed_run;

static int timed_generate(dy_model *m, const int32_t *prompt, int n, dy_generate_opts g, timed_run *out,
                          dy_error *err) {
    double *times = malloc((size_t)(g.max_new_tokens + 1) * sizeof *times);
    if (!times) return dy_fail(err, "bench: out of memory");
    stamps st = {times, 0};
    g.on_token = stamp;
    g.on_token_ctx = &st;
    dy_generate_result r = {0};
    int rc = dy_generate(m, prompt, n, &g, &r, err);
    if (rc == 0) {
        out->steps = st.n - 1;  // intervals between produced tokens: one decode step each
        for (int i = 0; i < out->steps; i++) times[i] = times[i + 1] - times[i];
        out->step_ms = 1e3 * dy_median(times, out->steps);
        out->prefill_seconds = r.prefill_seconds;
        out->has_phases = r.has_phases;
        memcpy(out->phase_ms, r.phase_ms, sizeof out->phase_ms);
    }
    dy_generate_result_free(&r);
    free(times);
    return rc;
}

// Prints one context's line (rank 0): the measurement beside the rooflines of rank 0's share.
static void print_context(const options *o, const dy_model_config *cfg, int tp, int ctx, const step_bytes *bytes,
                          int spec_layers, double bw, double flops, const timed_run *run, const timed_run *vanilla,
                          bool is_dysco, double peak) {
    const double kv = (double)bytes->token.kv_per_position * ctx, active = (double)dy_token_bytes_at(&bytes->token, ctx, true);
    const double roofline_ms = 1e3 * active / bw;
    // The rank's matmuls (every weight it reads, two FLOPs each per token: every expert, as the
    // GPU's multi-row MoE path computes them) and its heads' attention.
    const double prefill_flops = 2.0 * (double)bytes->token.weights / (double)(bytes->elem) * ctx +
                                 2.0 * cfg->n_layers * (cfg->n_heads / tp) * cfg->head_dim * (double)ctx * ctx;
    printf("{\"kind\": \"context\", \"method\": \"%s\", \"ctx\": %d, \"prefill_seconds\": %.4f, "
           "\"prefill_tokens_per_s\": %.1f, \"prefill_roofline_seconds\": %.4f, \"decode_steps\": %d, "
           "\"decode_ms_per_token_median\": %.3f, \"bytes_per_token\": %.0f, \"active_bytes_per_token\": %.0f, "
           "\"decode_roofline_ms\": %.3f, ",
           o->method, ctx, run->prefill_seconds, ctx / run->prefill_seconds, prefill_flops / flops, run->steps,
           run->step_ms, (double)dy_token_bytes_at(&bytes->token, ctx, false), active, roofline_ms);
    if (is_dysco) {
        // The step reads the speculative layers' weights and KV, then all that vanilla reads.
        const double spec = bytes->spec_weights + kv * spec_layers / cfg->n_layers;
        const double dysco_roofline_ms = roofline_ms + 1e3 * spec / bw;
        printf("\"dysco_step_ms\": %.3f, \"dysco_roofline_ms\": %.3f, \"dysco_fraction_of_roofline\": %.3f, "
               "\"vanilla_decode_ms\": %.3f, \"vanilla_prefill_seconds\": %.4f, ",
               run->step_ms, dysco_roofline_ms, dysco_roofline_ms / run->step_ms, vanilla->step_ms,
               vanilla->prefill_seconds);
        if (run->has_phases) {
            printf("\"dysco_phases_ms\": {");
            for (int k = 0; k < DY_DYSCO_PHASE_N; k++)
                printf("%s\"%s\": %.3f", k ? ", " : "", dy_dysco_phase_names[k], run->phase_ms[k]);
            printf("}, ");
        }
    } else {
        printf("\"decode_fraction_of_roofline\": %.3f, ", roofline_ms / run->step_ms);
    }
    if (peak >= 0) printf("\"gpu_memory_in_use_bytes\": %.0f}\n", peak);
    else printf("\"gpu_memory_in_use_bytes\": null}\n");
    fflush(stdout);
}

// One context: a random prompt of ctx tokens, the method's run and, for DySCO, vanilla's on it.
static int bench_context(dy_model *m, const dy_generate_opts *base, int ctx, uint64_t seed, bool is_dysco,
                         timed_run *run, timed_run *vanilla, dy_error *err) {
    int32_t *prompt = malloc((size_t)ctx * sizeof *prompt);
    if (!prompt) return dy_fail(err, "bench: out of memory");
    uint64_t x = seed * 2654435761u + 12345;
    for (int i = 0; i < ctx; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        prompt[i] = (int32_t)((x >> 33) % (uint64_t)m->cfg.vocab_size);
    }
    dy_generate_opts g = *base;
    int rc = timed_generate(m, prompt, ctx, g, run, err);
    if (rc == 0 && is_dysco) {  // the baseline in the same process, on the same prompt
        g.method = DY_METHOD_VANILLA;
        rc = timed_generate(m, prompt, ctx, g, vanilla, err);
    }
    free(prompt);
    return rc;
}

// Returns the exit status. Every rank loads its shard and measures its own machine; the ranks
// agree on success before the first collective, and rank 0 alone prints.
static int bench(const options *o, dy_comm *comm, dy_error *err) {
    const bool root = comm->rank == 0;
    const int tp = comm->size;
    int ctx[DY_CLI_MAX_CONTEXTS], n_ctx = 0, max_ctx = 0;
    dy_checkpoint ck = {0};
    dy_model_config cfg;
    char path[PATH_MAX];
    dy_dysco_config dysco;
    dy_method method;
    dy_method_parse(o->method, &method);  // one of dy_cli_methods
    const bool is_dysco = method == DY_METHOD_DYSCO;
    int rc = dy_cli_parse_ctx_list(o->ctx_list, ctx, &n_ctx, err);
    for (int i = 0; i < n_ctx; i++) max_ctx = ctx[i] > max_ctx ? ctx[i] : max_ctx;
    if (rc == 0 && o->random_weights) {
        rc = dy_path_join(path, sizeof path, o->model, "config.json", err) || dy_model_config_load(path, &cfg, err) ? -1 : 0;
    } else if (rc == 0) {
        rc = dy_checkpoint_open(o->model, &ck, err);
        if (rc == 0) cfg = ck.config;
    }
    if (rc == 0 && is_dysco) {
        dy_dysco_config_defaults(&dysco);
        rc = dy_dysco_config_load(o->dysco_config, &dysco, err) ||
                     dy_dysco_config_validate(&dysco, cfg.n_layers, cfg.n_heads, o->dysco_config, err)
                 ? -1
                 : 0;
    }
    // Random ids have no chat template: 'auto' means 2 then, as in run_eval (dysco/README §8).
    const int interv = is_dysco && rc == 0 ? (dysco.interv_auto ? 2 : dysco.interv_warmup) : 0;
    dy_backend *be;
    dy_comm *ops;
    int status = dy_cli_job_backend(comm, o->device, o->nccl, rc, &be, &ops, err);
    rc = status == DY_EXIT_OK ? 0 : -1;  // reported already
    dy_model m = {0};
    const dy_init_params init = {.seed = (uint64_t)o->seed, .std = 0.02, .norm_jitter = 0.1};
    const int capacity = max_ctx + (int)o->decode_steps, chunk = (int)o->prefill_chunk;
    double t0 = dy_now();
    if (rc == 0)
        rc = o->random_weights ? dy_model_load_random_shard(&m, be, &cfg, &init, ops, capacity, chunk, err)
                               : dy_model_load_shard(&m, be, &ck, ops, capacity, chunk, err);
    const double load_seconds = dy_now() - t0;
    // The whole model's weights, and what one rank holds: weights, KV cache and workspace.
    dy_memory_plan whole, rank_plan;
    if (rc == 0) rc = dy_memory_plan_make(&cfg, 1, 1, 1, be->act_dtype, &whole, err);
    if (rc == 0) rc = dy_memory_plan_make(&cfg, capacity, chunk, tp, be->act_dtype, &rank_plan, err);
    if (rc == 0) rank_plan.scratch_bytes = be->scratch_bytes ? be->scratch_bytes(be, &rank_plan.limits) : 0;
    const int64_t params = rc == 0 ? dy_model_param_count(&cfg, err) : -1;
    if (rc == 0 && params < 0) rc = -1;
    // A decode step reads what dy_token_bytes counts (memory_plan.h); DySCO's speculative pass
    // reads layers 0..Lmax of the weights and KV cache first.
    const int spec_layers = is_dysco && rc == 0 ? dy_dysco_max_layer(&dysco) + 1 : 0;
    const dy_dtype act = be ? be->act_dtype : DY_BF16;
    step_bytes bytes = {.elem = dy_dtype_size(act)};
    if (rc == 0) rc = count_step_bytes(&cfg, act, spec_layers, tp, &bytes, err);
    bool quiet = false;
    if (status == DY_EXIT_OK && dy_cli_job_agree(comm, rc, &quiet))
        status = quiet ? DY_EXIT_FAIL : dy_report(DY_EXIT_FAIL, err);
    if (status == DY_EXIT_OK) {
        double peak = gpu_memory_in_use();
        const double bw = copy_bandwidth(be), flops = gemm_rate(be);
        if (root) {
            printf("{\"kind\": \"machine\", \"device\": \"%s\", \"copy_bandwidth_bytes_per_s\": %.4g, "
                   "\"gemm_flops_per_s\": %.4g, \"model\": \"%s\", \"random_weights\": %s, \"parameters\": %lld, "
                   "\"weight_bytes\": %.0f, \"load_seconds\": %.3f, \"tp\": %d, \"collectives\": \"%s\", "
                   "\"memory_plan_bytes_per_rank\": %.0f}\n",
                   be->name, bw, flops, o->model, o->random_weights ? "true" : "false", (long long)params,
                   (double)whole.weight_bytes, load_seconds, tp, ops->name, (double)dy_memory_plan_total_bytes(&rank_plan));
            fflush(stdout);
            gemv_lines(be, &cfg, bw);
        }
        const dy_generate_opts g = {
            .method = method, .attn_temperature = (float)o->attn_temperature, .dysco = is_dysco ? &dysco : NULL,
            .interv_warmup = interv, .max_new_tokens = (int)o->decode_steps, .sample_top_p = 1.0f, .prefill_chunk = chunk,
            .dysco_phases = is_dysco,
        };
        for (int c = 0; c < n_ctx && status == DY_EXIT_OK; c++) {
            timed_run run = {0}, vanilla = {0};
            if (bench_context(&m, &g, ctx[c], (uint64_t)o->seed, is_dysco, &run, &vanilla, err)) {
                status = dy_cli_job_fail(comm, DY_EXIT_FAIL, err);
                break;
            }
            double used = gpu_memory_in_use();
            peak = used > peak ? used : peak;
            if (root) print_context(o, &cfg, tp, ctx[c], &bytes, spec_layers, bw, flops, &run, &vanilla, is_dysco, peak);
        }
    }
    if (m.be) dy_model_free(&m);
    if (ops && ops != comm) ops->destroy(ops);
    if (be) be->destroy(be);
    dy_checkpoint_close(&ck);
    return status;
}

int dy_cli_bench(int argc, char **argv) {
    options o;
    dy_error err;
    int status;
    if (!parse_options(argc, argv, &o, &status)) return status;
    if (check_options(&o, &err)) return dy_report(DY_EXIT_USAGE, &err);
    if (dy_cli_job_check_tp("bench", o.tp, &err)) return dy_report(DY_EXIT_USAGE, &err);
    dy_comm *comm = dy_comm_create(dy_cli_job_env(), &err);
    if (!comm) return dy_report(DY_EXIT_FAIL, &err);
    status = bench(&o, comm, &err);
    comm->destroy(comm);
    return status;
}

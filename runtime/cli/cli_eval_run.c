// dysco eval --model DIR --dataset NAME ...: run_eval.py's evaluation run. The dataset's examples
// are chosen as it chooses them (cli_eval_examples.h), each is decoded with the method through
// the generate path (runtime/generate, the session of cli_session.h), scored by the reference's
// scorer, journaled (fsync'd line by line) and finally written in its results layout
// (runtime/eval/eval_results.h); a rerun of the same run resumes after the last finished example.
// Under mpirun / srun every rank decodes every example with its shard, and rank 0 alone reads
// the data, writes the files and prints.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_eval_examples.h"
#include "cli_job.h"
#include "cli_progress.h"
#include "cli_session.h"
#include "kernels/base/timing.h"
#include "runtime/eval/eval_results.h"
#include "runtime/eval/py_json.h"
#include "runtime/util/md5.h"

static const char USAGE[] =
    "usage: dysco eval --model DIR --dataset NAME [--method vanilla|dysco|attnsharp] [options]\n"
    "       dysco eval score --dataset NAME --input F.jsonl [--summary]   (dysco eval score --help)\n"
    "\n"
    "run_eval.py's evaluation: the dataset's examples from the reference's layout under --data-dir, its\n"
    "length filter and --test-size selection, each decoded with the method and scored as the reference\n"
    "scores it. Results: RESULTS/METHOD/MODEL/NAME.json as run_eval.py names and lays it out (vanilla's\n"
    "folder is the reference's \"flash\"), NAME.jsonl beside it with one line per finished example\n"
    "(a rerun with the same arguments resumes after the last), and NAMEscores.json. Prints\n"
    "{\"avg_metrics\": ..., \"test_size\": N, \"results\": PATH, \"startup\": {...}} at the end (startup: the seconds\n"
    "of opening the checkpoint and tokenizer, preparing the data, starting the backend, loading the model,\n"
    "and of the first example); progress, the startup line included, goes to stderr.\n";

static void print_notes(FILE *out) {
    fputs("\ndatasets run: path_walking_{4k,8k,16k,32k} (DATA/longproc/path_walking/NAME.json and prompts.yaml),\n"
          "mrcr_{2,4,8}needle_{8k,...,256k} (DATA/mrcr/{N}needle_{L}.json), longbenchv2_* (DATA/lbv2_qr/data_{L}.json),\n"
          "clipper[_sp1|_sp2] (DATA/clipper/test-400[_sp1|_sp2].json); HELMET's (hotpot_*, infbench_*) not yet, their\n"
          "outputs are scored by dysco eval score. tests/eval_synthetic_data.py writes synthetic path_walking\n"
          "and MRCR data.\n",
          out);
}

typedef struct {
    const char *model, *dataset, *data_dir, *results_dir, *filter_tokenizer, *truncation_tokenizer, *device;
    bool no_chat, think, strip_thinking, stop_on_newline;
    int64_t max_tokens, max_model_len, test_size, seed, generation_seed, tp;
    double temperature, top_p;
    dy_cli_method_opts m;
    const char *config;         // --config's path: the parser reads the file itself
    dy_args_config run_config;  // the strings of that file the options point into
} options;

// $DYSCO_HOME/tokenizers/NAME (DYSCO_HOME defaults to ~/.cache/dysco), where
// launch/fetch-tokenizers.sh puts the files it fetches (llama3_1) and where the Llama-2 files a
// user brings go (llama2). path: 4096 bytes.
static const char *home_tokenizer(const char *name, char *path) {
    const char *home = getenv("DYSCO_HOME"), *user = getenv("HOME");
    if (home && *home) snprintf(path, 4096, "%s/tokenizers/%s", home, name);
    else snprintf(path, 4096, "%s/.cache/dysco/tokenizers/%s", user ? user : "", name);
    return path;
}

static bool parse_options(int argc, char **argv, options *o, int *exit_status) {
    static char filter_dir[4096], truncation_dir[4096];
    *o = (options){.data_dir = "data_eval", .results_dir = "results",
                   .filter_tokenizer = home_tokenizer("llama3_1", filter_dir),
                   .truncation_tokenizer = home_tokenizer("llama2", truncation_dir),
                   .device = DY_CLI_DEFAULT_DEVICE, .max_tokens = 1024, .max_model_len = 16384, .test_size = -1,
                   .seed = 42, .generation_seed = 23, .top_p = 1.0, .m.method = "vanilla",
                   .run_config.option = "--config"};
    const dy_option data_rows[] = {
        {.help = "run config:"},
        {"--config", "RUN.yaml", "the options below from a YAML mapping, each key an option's name without\n"
                                 "the leading -- (max_tokens or max-tokens); the command line overrides it",
         .string = &o->config},
        {.help = "data (run_eval.py's flags of the same names):"},
        {"--dataset", "NAME", "the reference's dataset name", .string = &o->dataset},
        {"--data-dir", "D", "the reference's data_eval/ folder", .string = &o->data_dir},
        {"--test-size", "N", "N > 0: random.seed(--seed), shuffle (not CLIPPER) and keep the first N", .integer = &o->test_size,
         .min = -1, .max = INT32_MAX},
        {"--seed", "S", "the --test-size shuffle's seed", .integer = &o->seed, .min = INT64_MIN + 1, .max = INT64_MAX},
        {"--max-model-len", "N", "the length filter keeps prompts of <= N - max_tokens - 16 filter tokens",
         .integer = &o->max_model_len, .min = 1, .max = INT32_MAX},
        {"--filter-tokenizer", "DIR", "tokenizer.json + tokenizer_config.json the filter counts with, rendered\n"
                                      "with Llama-3.1's chat template (the reference: models/Llama-3.1-8B-Instruct)",
         .string = &o->filter_tokenizer},
        {"--truncation-tokenizer", "DIR", "infbench_*: the tokenizer.json HELMET cuts each story with (the reference:\n"
                                          "meta-llama/Llama-2-7b-hf's)",
         .string = &o->truncation_tokenizer},
        {"--no-chat-template", NULL, "tokenize the prompt as is (MRCR's message lists need the template)", .flag = &o->no_chat},
        {.help = "model:"},
        {"--model", "DIR", "the checkpoint", .string = &o->model},
        {"--think", NULL, "Qwen3 thinking mode: sampled at temperature 0.6, top-p 0.95, top-k 20", .flag = &o->think},
        {"--strip-thinking", NULL, "with --think, score the text after the last </think> (thinking_part: the rest)",
         .flag = &o->strip_thinking},
    };
    const dy_option rows[] = {
        {.help = "decoding:"},
        {"--max-tokens", "N", "tokens to generate at most", .integer = &o->max_tokens, .min = 1, .max = 1 << 24},
        {"--temperature", "T", "sampling temperature; 0 is greedy (not with --think)", .number = &o->temperature},
        {"--top-p", "P", "sampling nucleus mass, in (0, 1] (not with --think)", .number = &o->top_p},
        {"--generation-seed", "S", "the sampling seed, the same for every example", .integer = &o->generation_seed,
         .min = 0, .max = INT64_MAX},
        {"--stop-on-newline", NULL, "also stop after a generated \"\\n\" or \"\\n\\n\" token", .flag = &o->stop_on_newline},
        {"--device", NULL, DY_CLI_DEVICE_HELP, .string = &o->device, .choices = dy_cli_devices},
        {.help = "tensor parallelism (mpirun -np N or srun -n N; rank 0 reads the data and writes the results):"},
        {"--tp", "N", "must equal the number of processes the launcher started", .integer = &o->tp, .min = 1,
         .max = 4096, .default_text = "the world size"},
        {.help = "output:"},
        {"--results-dir", "R", "run_eval.py's --output_dir", .string = &o->results_dir},
    };
    dy_option table[DY_COUNT_OF(data_rows) + DY_CLI_METHOD_ROWS + DY_COUNT_OF(rows)];
    memcpy(table, data_rows, sizeof data_rows);
    dy_cli_method_rows(&o->m, table + DY_COUNT_OF(data_rows));
    memcpy(table + DY_COUNT_OF(data_rows) + DY_CLI_METHOD_ROWS, rows, sizeof rows);
    const dy_args_spec spec = {.verb = "eval", .usage = USAGE, .options = table, .n_options = DY_COUNT_OF(table),
                               .print_notes = print_notes, .config = &o->run_config};
    return dy_args_parse_verb(&spec, argc, argv, exit_status);
}

static int check_options(const options *o, dy_method *method, dy_eval_family *family, dy_error *err) {
    if (!o->model || !o->dataset) return dy_fail(err, "eval: needs --model DIR and --dataset NAME (see dysco eval --help)");
    if (dy_eval_dataset_family(o->dataset, family, err) || dy_cli_method_check(&o->m, "eval", method, err)) return -1;
    if (o->top_p <= 0 || o->top_p > 1) return dy_fail(err, "--top-p: expected a value in (0, 1], got %g", o->top_p);
    if (o->strip_thinking && !o->think) return dy_fail(err, "--strip-thinking: needs --think");
    return 0;
}

// A value for args: a raw float (Python's repr) or null when not given.
static cJSON *float_or_null(bool given, double v) { return given ? dy_py_json_float(v) : cJSON_CreateNull(); }
static cJSON *int_or_null(bool given, int64_t v) { return given ? cJSON_CreateNumber((double)v) : cJSON_CreateNull(); }
static cJSON *string_or_null(const char *s) { return s ? cJSON_CreateString(s) : cJSON_CreateNull(); }

// The model path as run_eval.py keeps it (trailing "/" stripped), into out.
static void model_path(const char *model, char *out, size_t n) {
    size_t len = strlen(model);
    while (len > 1 && model[len - 1] == '/') len--;
    snprintf(out, n, "%.*s", (int)len, model);
}

// run_eval.py's decoding_method: its vanilla method is "flash" (the stock model's generate).
static const char *decoding_method(dy_method m) {
    return m == DY_METHOD_DYSCO ? "dysco" : m == DY_METHOD_ATTNSHARP ? "attnsharp" : "flash";
}

// args.__dict__ of run_eval.py in its order (the flags dysco has no use for at their defaults:
// enable_cache, skip_eval, auto_skip), then dysco's own settings that change results.
static cJSON *args_json(const options *o, dy_method method, const char *output_dir) {
    const dy_cli_method_opts *m = &o->m;
    char model[4096];
    model_path(o->model, model, sizeof model);
    cJSON *a = cJSON_CreateObject();
    cJSON_AddNumberToObject(a, "seed", (double)o->seed);
    cJSON_AddNumberToObject(a, "generation_seed", (double)o->generation_seed);
    cJSON_AddStringToObject(a, "dataset", o->dataset);
    cJSON_AddNumberToObject(a, "test_size", (double)o->test_size);
    cJSON_AddBoolToObject(a, "use_chat_template", !o->no_chat);
    cJSON_AddBoolToObject(a, "stop_on_newline", o->stop_on_newline);
    cJSON_AddStringToObject(a, "model", model);
    cJSON_AddNumberToObject(a, "max_tokens", (double)o->max_tokens);
    cJSON_AddItemToObject(a, "temperature", dy_py_json_float(o->temperature));
    cJSON_AddItemToObject(a, "top_p", dy_py_json_float(o->top_p));
    cJSON_AddNumberToObject(a, "max_model_len", (double)o->max_model_len);
    cJSON_AddBoolToObject(a, "think", o->think);
    cJSON_AddBoolToObject(a, "strip_thinking", o->strip_thinking);
    cJSON_AddStringToObject(a, "output_dir", output_dir);
    cJSON_AddTrueToObject(a, "enable_cache");
    cJSON_AddFalseToObject(a, "skip_eval");
    cJSON_AddFalseToObject(a, "auto_skip");
    cJSON_AddStringToObject(a, "decoding_method", decoding_method(method));
    cJSON_AddItemToObject(a, "dysco_cfgs_path", string_or_null(m->dysco_config));
    cJSON_AddItemToObject(a, "dysco_qrheads", string_or_null(m->dysco_heads));
    cJSON_AddItemToObject(a, "dysco_top_k", int_or_null(m->has_select_top_k, m->select_top_k));
    cJSON_AddItemToObject(a, "dysco_top_p", float_or_null(m->has_select_top_p, m->select_top_p));
    cJSON_AddItemToObject(a, "dysco_strength", float_or_null(m->has_strength, m->strength));
    cJSON_AddItemToObject(a, "dysco_decay_factor", float_or_null(m->has_decay, m->decay));
    cJSON_AddItemToObject(a, "dysco_ctx_warmup", int_or_null(m->has_ctx_warmup, m->ctx_warmup));
    cJSON_AddItemToObject(a, "dysco_interv_warmup", string_or_null(m->interv_warmup));
    cJSON_AddBoolToObject(a, "dysco_rescale_template", m->rescale_template);
    cJSON_AddBoolToObject(a, "dysco_static_rescaling", m->dysco_static);
    cJSON_AddItemToObject(a, "attention_logits_temperature", float_or_null(method == DY_METHOD_ATTNSHARP, m->attn_temperature));
    cJSON_AddStringToObject(a, "device", o->device);
    cJSON_AddStringToObject(a, "data_dir", o->data_dir);
    cJSON_AddStringToObject(a, "filter_tokenizer", o->filter_tokenizer);
    if (strstr(o->dataset, "infbench"))  // the only family it changes
        cJSON_AddStringToObject(a, "truncation_tokenizer", o->truncation_tokenizer);
    return a;
}

static void py_float(double v, char *out, size_t n) { dy_py_float_repr(v, out, n); }

// The method's part of run_eval.py's file name: dysco's settings (md5 of str(selected_heads)),
// attnsharp's temperature, nothing for vanilla. Floats as Python's str() writes them.
static void method_tag(const options *o, dy_method method, const dy_cli_session *s, char *out, size_t n) {
    char tau[40], k[24], p[40], strength[40], decay[40];
    out[0] = '\0';
    if (method == DY_METHOD_ATTNSHARP) {
        py_float(o->m.attn_temperature, tau, sizeof tau);
        snprintf(out, n, "_attnsharp%s", tau);
    }
    if (method != DY_METHOD_DYSCO) return;
    const dy_dysco_config *d = &s->dysco;
    char heads[DY_DYSCO_MAX_HEADS * 24] = "[", hash[33];
    for (int i = 0; i < d->n_heads; i++)
        snprintf(heads + strlen(heads), sizeof heads - strlen(heads), "%s(%d, %d)", i ? ", " : "", d->heads[i].layer,
                 d->heads[i].head);
    strcat(heads, "]");
    dy_md5 h;
    dy_md5_init(&h);
    dy_md5_update(&h, heads, strlen(heads));
    dy_md5_hex(&h, hash);
    if (d->has_select_top_k) snprintf(k, sizeof k, "%d", d->select_top_k);
    else snprintf(k, sizeof k, "None");
    if (d->has_select_top_p) py_float(d->select_top_p, p, sizeof p);
    else snprintf(p, sizeof p, "None");
    py_float(d->strength, strength, sizeof strength);
    py_float(d->decay, decay, sizeof decay);
    snprintf(out, n, "_%srescalehead%.8sk%sp%ss%sdf%s_ctxwarm%dintwarm%dscaletemp%s", d->dynamic ? "dynamic" : "static",
             hash, k, p, strength, decay, d->ctx_warmup, s->interv_warmup, o->m.rescale_template ? "True" : "False");
}

// RESULTS/METHOD/MODEL (run_eval.py's args.output_dir) into dir, and the results file into path.
static int results_path(const options *o, dy_method method, const dy_cli_session *s, char *dir, size_t dir_n, char *path,
                        size_t path_n, dy_error *err) {
    char model[4096], results[4096], temperature[40], top_p[40], tag[1024];
    model_path(o->model, model, sizeof model);
    for (char *c = model; *c; c++)
        if (*c == '/') *c = '-';
    model_path(o->results_dir, results, sizeof results);
    py_float(o->temperature, temperature, sizeof temperature);
    py_float(o->top_p, top_p, sizeof top_p);
    method_tag(o, method, s, tag, sizeof tag);
    if (snprintf(dir, dir_n, "%s/%s/%s", results, decoding_method(method), model) >= (int)dir_n ||
        snprintf(path, path_n, "%s/%s_modlen%lld_max%lldt%sp%s%s_think%s_%lldand%lld_testsz%lld.json", dir, o->dataset,
                 (long long)o->max_model_len, (long long)o->max_tokens, temperature, top_p, tag, o->think ? "True" : "False",
                 (long long)o->seed, (long long)o->generation_seed, (long long)o->test_size) >= (int)path_n)
        return dy_fail(err, "%s: the results path is too long", o->results_dir);
    return 0;
}

// What rank 0 alone holds: the examples and the results.
typedef struct {
    dy_cli_eval_examples ex;
    dy_eval_results results;
    cJSON *args;
    bool results_open;
} root_state;

// {"args", "examples": n, "examples_md5"}: the run a journal belongs to.
static cJSON *journal_header(const cJSON *args, const dy_cli_eval_examples *ex) {
    dy_md5 h;
    char hex[33];
    dy_md5_init(&h);
    for (int k = 0; k < ex->n; k++) {
        char *text = dy_py_json_dumps(ex->chosen[k], 0);
        if (text) dy_md5_update(&h, text, strlen(text) + 1);  // the NUL parts them
        free(text);
    }
    dy_md5_hex(&h, hex);
    cJSON *header = cJSON_CreateObject();
    cJSON_AddItemToObject(header, "args", cJSON_Duplicate(args, true));
    cJSON_AddNumberToObject(header, "examples", ex->n);
    cJSON_AddStringToObject(header, "examples_md5", hex);
    return header;
}

// Rank 0's preparation: the examples, their DySCO prompt checks, the journal.
static int prepare_root(const options *o, dy_method method, dy_eval_family family, dy_cli_session *s, root_state *st,
                        dy_error *err) {
    const dy_cli_eval_select sel = {.dataset = o->dataset, .data_dir = o->data_dir, .filter_tokenizer = o->filter_tokenizer,
                                   .truncation_tokenizer = o->truncation_tokenizer,
                                    .family = family, .max_model_len = o->max_model_len, .max_tokens = o->max_tokens,
                                    .test_size = o->test_size, .seed = o->seed, .think = o->think};
    if (dy_cli_eval_examples_load(&sel, s, &st->ex, err)) return -1;
    if (st->ex.n == 0)
        return dy_fail(err, "%s: no examples left: the length filter kept %d of %d (--max-model-len %lld, --max-tokens %lld)",
                       o->dataset, st->ex.n_kept, st->ex.n_loaded, (long long)o->max_model_len, (long long)o->max_tokens);
    if (family == DY_EVAL_CLIPPER && st->ex.n % 2)  // run_eval.py asserts it before its paired accuracy
        return dy_fail(err, "%s: %d examples: CLIPPER's accuracy counts (TRUE, FALSE) pairs; use an even --test-size",
                       o->dataset, st->ex.n);
    for (int k = 0; method == DY_METHOD_DYSCO && k < st->ex.n; k++) {
        dy_error why;
        if (dy_dysco_check_prompt(&s->dysco, s->interv_warmup, st->ex.prompts[k].n, &why))
            return dy_fail(err, "%s example %d: %s", o->dataset, st->ex.index[k], why.msg);
    }
    char dir[4096], path[4096];
    if (results_path(o, method, s, dir, sizeof dir, path, sizeof path, err)) return -1;
    st->args = args_json(o, method, dir);
    cJSON *header = journal_header(st->args, &st->ex);
    const int rc = dy_eval_results_open(&st->results, path, family, header, st->ex.n, err);
    cJSON_Delete(header);
    st->results_open = true;
    return rc;
}

static int prepare(const options *o, dy_method method, dy_eval_family family, dy_comm *comm, dy_cli_session *s,
                   root_state *st, dy_cli_startup *startup, dy_error *err) {
    const double t0 = dy_now();
    if (dy_cli_session_open(s, o->model, !o->no_chat, err)) return -1;
    if (o->think && (!s->chat || !s->tok || s->tmpl.family != DY_CHAT_QWEN3))
        return dy_fail(err, "--think: thinking mode is for Qwen3 models (their chat template); %s has %s", o->model,
                       s->chat && s->tok ? dy_chat_family_name(s->tmpl.family) : "no chat template in use");
    if (method == DY_METHOD_DYSCO && dy_cli_session_dysco(s, &o->m, o->think, err)) return -1;
    if (dy_cli_session_stops(s, NULL, o->stop_on_newline, err)) return -1;
    const double t1 = dy_now();
    startup->open = t1 - t0;
    if (comm->rank != 0) return 0;
    const int rc = prepare_root(o, method, family, s, st, err);
    startup->data = dy_now() - t1;
    return rc;
}

// DySCO's generation_logging as run_eval.py stores it: four averages (floats) and num_generations.
static cJSON *logging_json(const dy_generate_result *r) {
    if (!r->has_logging) return NULL;
    cJSON *g = cJSON_CreateObject();
    for (int i = 0; i < DY_DYSCO_LOG_N; i++)
        cJSON_AddItemToObject(g, dy_dysco_log_names[i], i == DY_DYSCO_LOG_NUM_GENERATIONS ? cJSON_CreateNumber(r->logging[i])
                                                                                      : dy_py_json_float(r->logging[i]));
    return g;
}

// One finished example on rank 0: its text (the part after the last "</think>" with
// --strip-thinking), journaled and scored, and the progress line.
static int finish_example(const options *o, dy_cli_session *s, root_state *st, int k, const dy_generate_result *r,
                          double seconds, dy_cli_progress *progress, dy_error *err) {
    char *text = dy_tokenizer_decode(s->tok, r->output.ids, r->output.n, true, err);
    if (!text) return -1;
    char *output = text, *thinking = NULL;
    if (o->strip_thinking) {  // output.rsplit("</think>", 1); thinking_part without "<think>"
        char *last = NULL;
        for (char *p = strstr(text, "</think>"); p; p = strstr(p + 1, "</think>")) last = p;
        if (last) {
            *last = '\0';
            output = last + strlen("</think>");
            thinking = text;
            char *to = text;  // str.replace("<think>", ""): one pass, left to right
            for (const char *from = text; *from;)
                if (strncmp(from, "<think>", 7) == 0) from += 7;
                else *to++ = *from++;
            *to = '\0';
        }
    }
    dy_metrics m;
    const int rc = dy_eval_results_add(&st->results, st->ex.chosen[k], output, thinking, logging_json(r), seconds, &m, err);
    free(text);
    if (rc == 0)
        dy_cli_progress_step(progress, m.name[0], m.value[0].value, seconds, st->ex.prompts[k].n, r->prefill_seconds,
                             r->output.n, r->decode_seconds);
    return rc;
}

// Every rank decodes example k: rank 0 sends its prompt.
static int decode_example(const options *o, dy_method method, dy_comm *comm, dy_cli_session *s, root_state *st, int k,
                          dy_generate_result *r, double *seconds, dy_error *err) {
    int32_t n = comm->rank == 0 ? st->ex.prompts[k].n : 0;
    comm->broadcast(comm, &n, sizeof n, 0);
    dy_tokens prompt = {0};
    *seconds = 0;
    if (comm->rank == 0) {
        prompt = st->ex.prompts[k];
    } else {
        prompt.ids = malloc((size_t)n * sizeof *prompt.ids);
        if (!prompt.ids) return dy_fail(err, "eval: out of memory");
    }
    comm->broadcast(comm, prompt.ids, (size_t)n * sizeof *prompt.ids, 0);
    // run_eval.py's decoding kwargs: Qwen3 thinking mode samples with its recommended settings;
    // otherwise --temperature / --top-p (greedy at 0). The seed is reset for every example.
    const dy_generate_opts g = {
        .method = method, .attn_temperature = (float)o->m.attn_temperature, .dysco = &s->dysco,
        .interv_warmup = s->interv_warmup, .max_new_tokens = (int)o->max_tokens,
        .temperature = o->think ? 0.6f : (float)o->temperature, .sample_top_p = o->think ? 0.95f : (float)o->top_p,
        .sample_top_k = o->think ? 20 : 0, .seed = (uint64_t)o->generation_seed, .stop_ids = s->stops.ids,
        .n_stop = s->stops.n,
    };
    const double t0 = dy_now();
    const int rc = dy_generate(&s->model, prompt.ids, n, &g, r, err);
    *seconds = dy_now() - t0;
    if (comm->rank != 0) free(prompt.ids);
    return rc;
}

static int run_examples(const options *o, dy_method method, dy_comm *comm, dy_cli_session *s, root_state *st, int n,
                        int done, dy_cli_startup *startup, dy_error *err) {
    dy_cli_progress progress;
    if (comm->rank == 0) {
        double sum = 0;
        for (int k = 0; k < done; k++) sum += st->results.metrics[k].value[0].value;
        fprintf(stderr, "eval: %s: %d examples (%d loaded, %d kept by the length filter)%s; results %s\n", o->dataset, n,
                st->ex.n_loaded, st->ex.n_kept, done ? ", resuming after the finished ones in the journal" : "",
                st->results.json_path);
        dy_cli_progress_start(&progress, stderr, n, done, done ? st->results.metrics[0].name[0] : NULL, sum);
    }
    for (int k = done; k < n; k++) {
        dy_generate_result r;
        double seconds = 0;
        if (decode_example(o, method, comm, s, st, k, &r, &seconds, err)) return dy_cli_job_fail(comm, DY_EXIT_FAIL, err);
        if (k == done) startup->first_example = seconds;
        const int rc = comm->rank == 0 ? finish_example(o, s, st, k, &r, seconds, &progress, err) : 0;
        dy_generate_result_free(&r);
        if (rc) {
            if (comm->rank == 0) dy_cli_progress_end(&progress);
            return dy_cli_job_fail(comm, DY_EXIT_FAIL, err);
        }
    }
    if (comm->rank == 0) dy_cli_progress_end(&progress);
    return DY_EXIT_OK;
}

// Seconds to the millisecond: what a person compares, without binary fractions' digits.
static cJSON *seconds_json(double s) { return cJSON_CreateNumber(round(s * 1000) / 1000); }

// The summary line's "startup": dy_cli_startup's phases (first_example_seconds null when none ran).
static cJSON *startup_json(const dy_cli_startup *t) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddItemToObject(j, "open_seconds", seconds_json(t->open));
    cJSON_AddItemToObject(j, "data_seconds", seconds_json(t->data));
    cJSON_AddItemToObject(j, "backend_seconds", seconds_json(t->backend));
    cJSON_AddItemToObject(j, "load_seconds", seconds_json(t->load));
    cJSON_AddItemToObject(j, "first_example_seconds",
                          t->first_example >= 0 ? seconds_json(t->first_example) : cJSON_CreateNull());
    return j;
}

// Rank 0's end: the results files, and the summary line on stdout.
static int write_results(root_state *st, const dy_cli_startup *startup, dy_error *err) {
    dy_metrics avg;
    if (dy_eval_results_finish(&st->results, st->args, &avg, err)) return -1;
    cJSON *line = cJSON_CreateObject(), *a = cJSON_CreateObject();
    for (int i = 0; i < avg.n; i++) cJSON_AddItemToObject(a, avg.name[i], dy_py_json_float(avg.value[i].value));
    cJSON_AddItemToObject(line, "avg_metrics", a);
    cJSON_AddNumberToObject(line, "test_size", st->results.done);
    cJSON_AddStringToObject(line, "results", st->results.json_path);
    cJSON_AddItemToObject(line, "startup", startup_json(startup));
    char *text = dy_py_json_dumps(line, 0);
    cJSON_Delete(line);
    if (!text) return dy_fail(err, "eval: out of memory");
    puts(text);
    free(text);
    return 0;
}

static int run(const options *o, dy_method method, dy_eval_family family, dy_comm *comm, dy_error *err) {
    dy_cli_session s;
    root_state st = {0};
    bool quiet = false;
    int status = DY_EXIT_OK;
    dy_cli_startup startup = {.first_example = -1};
    int rc = prepare(o, method, family, comm, &s, &st, &startup, err);
    double t0 = dy_now();
    status = dy_cli_session_backend(&s, comm, o->device, false, rc, err);  // every rank agrees first
    startup.backend = dy_now() - t0;
    if (status == DY_EXIT_OK) {
        // [examples, finished, longest prompt] from rank 0; then every rank loads its shard for the longest.
        int32_t plan[3] = {st.ex.n, st.results.done, 0};
        for (int k = 0; k < st.ex.n; k++) plan[2] = st.ex.prompts[k].n > plan[2] ? st.ex.prompts[k].n : plan[2];
        comm->broadcast(comm, plan, sizeof plan, 0);
        t0 = dy_now();
        rc = plan[1] < plan[0] ? dy_cli_session_load(&s, plan[2], (int)o->max_tokens, "the longest prompt", err) : 0;
        startup.load = dy_now() - t0;
        if (dy_cli_job_agree(comm, rc, &quiet)) {
            status = quiet ? DY_EXIT_FAIL : dy_report(DY_EXIT_FAIL, err);
        } else {
            if (comm->rank == 0) dy_cli_startup_print(stderr, "eval", &startup);
            status = run_examples(o, method, comm, &s, &st, plan[0], plan[1], &startup, err);
        }
    }
    if (status == DY_EXIT_OK && comm->rank == 0 && write_results(&st, &startup, err)) status = dy_report(DY_EXIT_FAIL, err);
    if (st.results_open) dy_eval_results_close(&st.results);
    cJSON_Delete(st.args);
    dy_cli_eval_examples_free(&st.ex);
    dy_cli_session_close(&s);
    return status;
}

int dy_cli_eval_run(int argc, char **argv) {
    options o;
    dy_error err;
    dy_method method;
    dy_eval_family family;
    int status;
    if (!parse_options(argc, argv, &o, &status)) return status;
    dy_comm *comm = NULL;
    if (check_options(&o, &method, &family, &err) || dy_cli_job_check_tp("eval", o.tp, &err)) {
        status = dy_report(DY_EXIT_USAGE, &err);
    } else if (!(comm = dy_comm_create(dy_cli_job_env(), &err))) {
        status = dy_report(DY_EXIT_FAIL, &err);
    } else {
        status = run(&o, method, family, comm, &err);
        comm->destroy(comm);
    }
    dy_args_config_free(&o.run_config);
    return status;
}

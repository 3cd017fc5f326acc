// dysco generate / dysco score: prompt -> tokens (tokenizer + chat template, or ids), then the
// chosen method's generation loop; text streams to stdout, details go to --output and --trace.
// score teacher-forces a given continuation and reports its per-token log-probabilities.
#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_job.h"
#include "cli_session.h"
#include "runtime/generate/generate.h"
#include "runtime/tokenizer/prompt.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

const char *const dy_cli_methods[] = {"vanilla", "dysco", "attnsharp", NULL};
const char *const dy_cli_devices[] = {"cpu", "cpu-bf16", "cuda", NULL};

static const char USAGE_GENERATE[] =
    "usage: dysco generate --model DIR (--prompt TEXT | --prompt-file F | --input-ids F.json)\n"
    "                      --method vanilla|dysco|attnsharp [options]\n"
    "\n"
    "Decodes the prompt under the method and streams the text to stdout.\n";
static const char USAGE_SCORE[] =
    "usage: dysco score --model DIR (--prompt TEXT | --prompt-file F | --input-ids F.json)\n"
    "                   --continuation-ids F.json --method vanilla|dysco|attnsharp [options]\n"
    "\n"
    "Teacher-forces the continuation under the method and prints, per continuation token, its\n"
    "log-probability and the model's argmax id (likelihood of a gold answer under DySCO).\n";

typedef struct {
    const char *model, *prompt, *prompt_file, *input_ids, *system, *stop_ids, *device, *output, *trace, *continuation;
    bool no_chat, think, stop_on_newline, trace_selected, tp_check_selection, nccl, router_margins;
    int64_t max_new_tokens, sample_top_k, seed, tp;
    double temperature, sample_top_p;
    dy_cli_method_opts m;
} options;

static int read_ids(const char *path, dy_tokens *out, dy_error *err) {
    size_t len;
    char *text = dy_read_file(path, &len, err);
    int rc = text ? dy_prompt_ids_from_json(text, len, path, false, out, err) : -1;
    free(text);
    return rc;
}

static bool parse_options(int argc, char **argv, bool score, options *o, int *exit_status) {
    *o = (options){.max_new_tokens = 256, .sample_top_p = 1.0, .device = DY_CLI_DEFAULT_DEVICE};
    const dy_option prompt_rows[] = {
        {.help = "prompt:"},
        {"--model", "DIR", "the checkpoint", .string = &o->model},
        {"--prompt", "TEXT", "text, wrapped in the model's chat template (one user message)", .string = &o->prompt},
        {"--prompt-file", "F", "the same, read from F", .string = &o->prompt_file},
        {"--input-ids", "F.json", "{\"input_ids\": [...]} or a bare JSON array: no tokenizer, no template",
         .string = &o->input_ids},
        {"--no-chat", NULL, "tokenize the text as is", .flag = &o->no_chat},
        {"--think", NULL, "Qwen3 thinking mode (enable_thinking=true)", .flag = &o->think},
        {"--system", "TEXT", "a system message first", .string = &o->system},
    };
    const dy_option rows[] = {
        {.help = "decoding:"},
        {"--max-new-tokens", "N", "tokens to generate at most", .integer = &o->max_new_tokens, .min = 1,
         .max = 1 << 24},
        {"--temperature", "T", "sampling temperature; 0 is greedy", .number = &o->temperature},
        {"--top-p", "P", "sampling nucleus mass, in (0, 1]",
         .number = &o->sample_top_p},
        {"--top-k", "K", "sample from the K most likely tokens; 0: all", .integer = &o->sample_top_k, .min = 0,
         .max = INT32_MAX},
        {"--seed", "N", "sampling seed", .integer = &o->seed, .min = 0, .max = INT64_MAX},
        {"--stop-ids", "LIST", "extra stop ids, e.g. 151645,151643 (the checkpoint's EOS always stop)",
         .string = &o->stop_ids},
        {"--stop-on-newline", NULL, "stop after a generated \"\\n\" or \"\\n\\n\" token", .flag = &o->stop_on_newline},
        {"--device", NULL, DY_CLI_DEVICE_HELP, .string = &o->device,
         .choices = dy_cli_devices},
        {.help = "tensor parallelism (mpirun -np N or srun -n N; rank 0 prints and writes the files):"},
        {"--tp", "N", "must equal the number of processes the launcher started", .integer = &o->tp, .min = 1,
         .max = 4096, .default_text = "the world size"},
        {"--tp-check-selection", NULL, "DySCO: compare a hash of every selection across the ranks (debug)",
         .flag = &o->tp_check_selection},
        {"--nccl", NULL, DY_CLI_NCCL_HELP, .flag = &o->nccl},
        {.help = "output:"},
        {"--output", "F.json", "input_ids, output_ids, output_text, generation_logging, timing", .string = &o->output},
        {"--trace", "F.jsonl", "one line per fed token after the prefill: pos, phase, n_selected,\n"
                               "top_positions, and token + logprob where a token is produced", .string = &o->trace},
        {"--trace-selected", NULL, "DySCO: --trace's intervention lines also list every selected position\n"
                                   "(\"selected\", before template masking)", .flag = &o->trace_selected},
        {"--router-margins", NULL, "MoE on cpu or cpu-bf16: --output's router_margins, per fed position the\n"
                                   "least gap between the k-th and next router probability of its MoE layers\n"
                                   "and passes (how near a different expert choice it came)",
         .flag = &o->router_margins},
    };
    // score's own option comes first, under its usage line; the method rows follow the prompt's.
    dy_option table[1 + DY_COUNT_OF(prompt_rows) + DY_CLI_METHOD_ROWS + DY_COUNT_OF(rows)];
    int n = 0;
    if (score)
        table[n++] = (dy_option){"--continuation-ids", "F.json",
                                 "the tokens to score: {\"input_ids\": [...]} or a bare JSON array",
                                 .string = &o->continuation};
    memcpy(table + n, prompt_rows, sizeof prompt_rows);
    n += DY_COUNT_OF(prompt_rows);
    dy_cli_method_rows(&o->m, table + n);
    n += DY_CLI_METHOD_ROWS;
    memcpy(table + n, rows, sizeof rows);
    const dy_args_spec spec = {.verb = score ? "score" : "generate", .usage = score ? USAGE_SCORE : USAGE_GENERATE,
                               .options = table, .n_options = n + DY_COUNT_OF(rows)};
    return dy_args_parse_verb(&spec, argc, argv, exit_status);
}

// What the table cannot say: which options are required, and how they combine.
static int check_options(const options *o, bool score, dy_method *method, dy_error *err) {
    const char *verb = score ? "score" : "generate";
    int inputs = !!o->prompt + !!o->prompt_file + !!o->input_ids;
    if (!o->model) return dy_fail(err, "%s: needs --model DIR", verb);
    if (inputs != 1) return dy_fail(err, "%s: needs exactly one of --prompt, --prompt-file, --input-ids", verb);
    if (dy_cli_method_check(&o->m, verb, method, err)) return -1;
    if (score && !o->continuation) return dy_fail(err, "score: needs --continuation-ids F.json");
    if (o->sample_top_p <= 0 || o->sample_top_p > 1)
        return dy_fail(err, "--top-p: expected a value in (0, 1], got %g", o->sample_top_p);
    if (dy_cli_job_check_nccl(o->nccl, o->device, err)) return -1;
    if (o->input_ids && (o->system || o->think))
        return dy_fail(err, "%s: --input-ids bypasses the chat template (no --system, --think)", verb);
    if (o->trace_selected && (!o->trace || *method != DY_METHOD_DYSCO))
        return dy_fail(err, "%s: --trace-selected needs --trace F.jsonl and --method dysco", verb);
    if (o->router_margins && !score && !o->output)  // score prints its output
        return dy_fail(err, "generate: --router-margins needs --output F.json");
    return 0;
}

// What --router-margins needs of the model and the device: a routing choice to measure, and ops
// that record it.
static int check_router_margins(const options *o, const dy_model *m, dy_error *err) {
    const dy_model_config *c = &m->cfg;
    if (!m->be->moe_record_margins)
        return dy_fail(err, "--router-margins: --device %s does not record router margins (cpu and cpu-bf16 do)",
                       o->device);
    if (dy_model_sparse_layers(c) == 0) return dy_fail(err, "--router-margins: %s/config.json: no MoE layers", o->model);
    if (c->n_experts_per_tok == c->n_experts)
        return dy_fail(err, "--router-margins: %s/config.json: num_experts_per_tok %d chooses every expert, no margin",
                       o->model, c->n_experts_per_tok);
    return 0;
}

typedef struct {
    dy_cli_session model;
    dy_tokens prompt, forced;
    FILE *trace;
    // streaming
    dy_tokens streamed;
    size_t printed;
} session;

// Streams the decoded text of the produced tokens, holding back an incomplete UTF-8 tail.
static void stream_token(int32_t token, void *ctx) {
    session *s = ctx;
    dy_tokens_push(&s->streamed, token);
    if (!s->model.tok) return;
    dy_error err;
    char *text = dy_tokenizer_decode(s->model.tok, s->streamed.ids, s->streamed.n, true, &err);
    if (!text) return;
    size_t len = strlen(text);
    if (len >= 3 && memcmp(text + len - 3, "\xEF\xBF\xBD", 3) == 0) len -= 3;  // may complete with the next token
    if (len > s->printed) {
        fwrite(text + s->printed, 1, len - s->printed, stdout);
        fflush(stdout);
        s->printed = len;
    }
    free(text);
}

static int build_prompt(const options *o, session *s, dy_error *err) {
    if (o->input_ids) return read_ids(o->input_ids, &s->prompt, err);
    if (o->system && !s->model.chat) return dy_fail(err, "--system needs the chat template (drop --no-chat)");
    char *owned = o->prompt_file ? dy_read_text_file(o->prompt_file, err) : NULL;
    const char *text = o->prompt_file ? owned : o->prompt;
    if (!text) return -1;
    dy_chat_message m[2] = {{"system", o->system, NULL}, {"user", text, NULL}};
    int rc = dy_cli_session_encode(&s->model, o->system ? m : m + 1, o->system ? 2 : 1, o->think, &s->prompt, err);
    free(owned);
    return rc;
}

static cJSON *ids_json(const int32_t *ids, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    return a;
}

// parallel: the tensor-parallel degree and the checkpoint bytes a rank loaded (the largest
// rank's: vocabulary slices may differ by a few rows).
static int write_output(const options *o, bool score, session *s, const dy_generate_result *r, int tp,
                        int64_t weight_bytes_per_rank, dy_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddItemToObject(root, "input_ids", ids_json(s->prompt.ids, s->prompt.n));
    cJSON_AddItemToObject(root, score ? "continuation_ids" : "output_ids", ids_json(r->output.ids, r->output.n));
    char *text = s->model.tok ? dy_tokenizer_decode(s->model.tok, r->output.ids, r->output.n, true, err) : NULL;
    if (text) cJSON_AddStringToObject(root, score ? "continuation_text" : "output_text", text);
    else cJSON_AddNullToObject(root, score ? "continuation_text" : "output_text");
    free(text);
    cJSON *lp = cJSON_AddArrayToObject(root, "logprobs");
    double total = 0;
    int correct = 0;
    for (int i = 0; i < r->output.n; i++) {
        cJSON_AddItemToArray(lp, cJSON_CreateNumber(r->logprobs[i]));
        total += r->logprobs[i];
        correct += r->argmax[i] == r->output.ids[i];
    }
    cJSON_AddItemToObject(root, "argmax_ids", ids_json(r->argmax, r->output.n));
    if (score) {
        cJSON_AddNumberToObject(root, "sum_logprob", total);
        cJSON_AddNumberToObject(root, "argmax_matches", correct);
    }
    if (r->has_logging) {
        cJSON *g = cJSON_AddObjectToObject(root, "generation_logging");
        for (int i = 0; i < DY_DYSCO_LOG_N; i++) cJSON_AddNumberToObject(g, dy_dysco_log_names[i], r->logging[i]);
    } else {
        cJSON_AddNullToObject(root, "generation_logging");
    }
    if (r->router_margins) {
        cJSON *m = cJSON_AddArrayToObject(root, "router_margins");
        for (int i = 0; i < r->n_router_margins; i++) cJSON_AddItemToArray(m, cJSON_CreateNumber(r->router_margins[i]));
    }
    cJSON *par = cJSON_AddObjectToObject(root, "parallel");
    cJSON_AddNumberToObject(par, "tp", tp);
    cJSON_AddNumberToObject(par, "weight_bytes_per_rank", (double)weight_bytes_per_rank);
    cJSON *t = cJSON_AddObjectToObject(root, "timing");
    cJSON_AddNumberToObject(t, "prefill_seconds", r->prefill_seconds);
    cJSON_AddNumberToObject(t, "decode_seconds", r->decode_seconds);
    cJSON_AddNumberToObject(t, "decode_tokens_per_second", r->decode_seconds > 0 ? r->output.n / r->decode_seconds : 0);
    char *json = cJSON_Print(root);
    cJSON_Delete(root);
    int rc = 0;
    if (score) {  // score's result is its output: printed, and written when asked
        puts(json);
    }
    if (o->output) rc = dy_write_file(o->output, json, strlen(json), err);
    free(json);
    return rc;
}

// The largest of the ranks' values.
static int64_t max_over_ranks(dy_comm *comm, int64_t v) {
    int64_t all[comm->size], most = v;
    comm->all_gather(comm, &v, all, sizeof v);
    for (int r = 0; r < comm->size; r++) most = all[r] > most ? all[r] : most;
    return most;
}

// Everything a rank prepares alone: the model folder, the prompt, the method's settings, the
// trace file (rank 0).
static int prepare(const options *o, bool score, dy_method method, dy_comm *comm, session *s, dy_error *err) {
    if (dy_cli_session_open(&s->model, o->model, !o->input_ids && !o->no_chat, err) || build_prompt(o, s, err)) return -1;
    if (score && read_ids(o->continuation, &s->forced, err)) return -1;
    if (method == DY_METHOD_DYSCO &&
        (dy_cli_session_dysco(&s->model, &o->m, o->think, err) ||
         dy_dysco_check_prompt(&s->model.dysco, s->model.interv_warmup, s->prompt.n, err)))
        return -1;
    if (dy_cli_session_stops(&s->model, o->stop_ids, o->stop_on_newline, err)) return -1;
    if (comm->rank == 0 && o->trace && !(s->trace = fopen(o->trace, "w"))) return dy_fail(err, "%s: cannot create", o->trace);
    // Line by line: a write that fails (a full disk) ends the run at that step instead of after
    // the whole generation, and a job that is killed keeps its trace up to the step it was in.
    if (s->trace) setvbuf(s->trace, NULL, _IOLBF, 0);
    return 0;
}

// Returns the exit status. Every rank prepares alone (input, model shard) and the ranks agree on
// success before they start working together; rank 0 alone streams the text and writes files.
static int run(const options *o, bool score, dy_method method, dy_comm *comm, dy_error *err) {
    session s = {0};
    dy_generate_result r = {0};
    const bool root = comm->rank == 0;
    int rc = prepare(o, score, method, comm, &s, err);
    const int new_tokens = score ? s.forced.n : (int)o->max_new_tokens;  // the continuation is read by now
    int status = dy_cli_session_backend(&s.model, comm, o->device, o->nccl, rc, err);
    if (status == DY_EXIT_OK) rc = dy_cli_session_load(&s.model, s.prompt.n, new_tokens, "prompt", err);
    if (status == DY_EXIT_OK && rc == 0 && o->router_margins) rc = check_router_margins(o, &s.model.model, err);
    bool quiet = false;
    if (status == DY_EXIT_OK && dy_cli_job_agree(comm, rc, &quiet))
        status = quiet ? DY_EXIT_FAIL : dy_report(DY_EXIT_FAIL, err);
    if (status == DY_EXIT_OK) {
        const dy_cli_session *m = &s.model;
        dy_generate_opts g = {
            .method = method, .attn_temperature = (float)o->m.attn_temperature, .dysco = &m->dysco,
            .interv_warmup = m->interv_warmup, .max_new_tokens = new_tokens,
            .temperature = (float)o->temperature, .sample_top_p = (float)o->sample_top_p, .sample_top_k = (int)o->sample_top_k,
            .seed = (uint64_t)o->seed, .stop_ids = m->stops.ids, .n_stop = m->stops.n,
            .forced = score ? s.forced.ids : NULL, .n_forced = s.forced.n,
            .on_token = score || !root ? NULL : stream_token, .on_token_ctx = &s, .trace = s.trace, .trace_name = o->trace,
            .trace_selected = o->trace_selected, .tp_check_selection = o->tp_check_selection,
            .router_margins = o->router_margins,
        };
        if (dy_generate(&s.model.model, s.prompt.ids, s.prompt.n, &g, &r, err)) status = dy_cli_job_fail(comm, DY_EXIT_FAIL, err);
        if (!score && root) putchar('\n');
    }
    const int64_t weight_bytes = status == DY_EXIT_OK ? max_over_ranks(comm, s.model.model.weight_bytes) : 0;
    if (status == DY_EXIT_OK && root && write_output(o, score, &s, &r, comm->size, weight_bytes, err))
        status = dy_report(DY_EXIT_FAIL, err);
    if (s.trace && fclose(s.trace) != 0 && status == DY_EXIT_OK) {
        dy_fail(err, "%s: write failed", o->trace);
        status = dy_report(DY_EXIT_FAIL, err);
    }
    dy_generate_result_free(&r);
    dy_cli_session_close(&s.model);
    dy_tokens_free(&s.prompt);
    dy_tokens_free(&s.forced);
    dy_tokens_free(&s.streamed);
    return status;
}

static int main_verb(int argc, char **argv, bool score) {
    options o;
    dy_error err;
    dy_method method;
    int status;
    if (!parse_options(argc, argv, score, &o, &status)) return status;
    if (check_options(&o, score, &method, &err)) return dy_report(DY_EXIT_USAGE, &err);
    if (dy_cli_job_check_tp(score ? "score" : "generate", o.tp, &err)) return dy_report(DY_EXIT_USAGE, &err);
    dy_comm *comm = dy_comm_create(dy_cli_job_env(), &err);
    if (!comm) return dy_report(DY_EXIT_FAIL, &err);
    status = run(&o, score, method, comm, &err);
    comm->destroy(comm);
    return status;
}

int dy_cli_generate(int argc, char **argv) { return main_verb(argc, argv, false); }
int dy_cli_score(int argc, char **argv) { return main_verb(argc, argv, true); }

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
#include "cli_lists.h"
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
    const char *model, *prompt, *prompt_file, *input_ids, *system, *method, *dysco_config, *dysco_heads,
        *interv_warmup, *stop_ids, *device, *output, *trace, *continuation;
    bool no_chat, think, dysco_static, rescale_template, stop_on_newline, trace_selected, tp_check_selection, nccl,
        router_margins;
    bool has_select_top_k, has_select_top_p, has_strength, has_decay, has_ctx_warmup;
    int64_t select_top_k, ctx_warmup, max_new_tokens, sample_top_k, seed, tp;
    double select_top_p, strength, decay, attn_temperature, temperature, sample_top_p;
} options;

static int read_ids(const char *path, dy_tokens *out, dy_error *err) {
    size_t len;
    char *text = dy_read_file(path, &len, err);
    int rc = text ? dy_prompt_ids_from_json(text, len, path, false, out, err) : -1;
    free(text);
    return rc;
}

// One EOS id of generation_config.json appended to out: like config.json's, inside the vocabulary.
static int push_eos_id(const cJSON *v, const char *path, int vocab, dy_tokens *out, dy_error *err) {
    char why[128];
    long id;
    if (!dy_json_token_id(v, vocab, "vocab_size", &id, why, sizeof why))
        return dy_fail(err, "%s: eos_token_id: %s", path, why);
    return dy_tokens_push(out, (int32_t)id) ? dy_fail(err, "%s: out of memory", path) : 0;
}

// EOS ids of generation_config.json (an id, a list of them, or null), which transformers'
// generate uses when present.
static int generation_config_eos(const char *dir, int vocab, dy_tokens *out, dy_error *err) {
    char path[PATH_MAX];
    if (dy_path_join(path, sizeof path, dir, "generation_config.json", err)) return -1;
    if (!dy_file_exists(path)) return 0;
    size_t len;
    char *text = dy_read_file(path, &len, err);
    if (!text) return -1;
    char problem[160];
    cJSON *root = dy_json_parse(text, len, problem, sizeof problem);
    free(text);
    if (!root) return dy_fail(err, "%s: %s", path, problem);
    const cJSON *eos = cJSON_GetObjectItemCaseSensitive(root, "eos_token_id"), *v;
    int rc = cJSON_IsObject(root) ? 0 : dy_fail(err, "%s: expected a JSON object", path);
    if (rc == 0 && cJSON_IsArray(eos)) {
        cJSON_ArrayForEach(v, eos) if ((rc = push_eos_id(v, path, vocab, out, err))) break;
    } else if (rc == 0 && eos && !cJSON_IsNull(eos)) {
        rc = push_eos_id(eos, path, vocab, out, err);
    }
    cJSON_Delete(root);
    return rc;
}

static bool parse_options(int argc, char **argv, bool score, options *o, int *exit_status) {
    *o = (options){.max_new_tokens = 256, .sample_top_p = 1.0, .device = DY_CLI_DEFAULT_DEVICE};
    const dy_option rows[] = {
        {.help = "prompt:"},
        {"--model", "DIR", "the checkpoint", .string = &o->model},
        {"--prompt", "TEXT", "text, wrapped in the model's chat template (one user message)", .string = &o->prompt},
        {"--prompt-file", "F", "the same, read from F", .string = &o->prompt_file},
        {"--input-ids", "F.json", "{\"input_ids\": [...]} or a bare JSON array: no tokenizer, no template",
         .string = &o->input_ids},
        {"--no-chat", NULL, "tokenize the text as is", .flag = &o->no_chat},
        {"--think", NULL, "Qwen3 thinking mode (enable_thinking=true)", .flag = &o->think},
        {"--system", "TEXT", "a system message first", .string = &o->system},
        {.help = "method:"},
        {"--method", NULL, "the generation loop", .string = &o->method, .choices = dy_cli_methods},
        {"--attn-temperature", "T", "attnsharp: every layer's attention logits divided by T > 0",
         .number = &o->attn_temperature, .lower = DY_OPT_ANY_FINITE, .default_text = "none"},
        {"--dysco-config", "YAML", "a DySCO config in the reference format (configs/dysco/*.yaml)",
         .string = &o->dysco_config},
        {.help = "DySCO overrides (of --dysco-config):"},
        {"--dysco-heads", "\"[(l,h),...]\"", "selected (layer, query head) pairs", .string = &o->dysco_heads},
        {"--dysco-top-k", "N", "N > 0 sets top-k, 0 disables it", .integer = &o->select_top_k, .min = 0,
         .max = INT32_MAX, .given = &o->has_select_top_k},
        {"--dysco-top-p", "P", "P > 0 sets the nucleus mass, 0 disables it", .number = &o->select_top_p,
         .given = &o->has_select_top_p},
        {"--dysco-strength", "S", "up-weighting; log(S) is added to selected logits; S >= 99 masks the rest",
         .number = &o->strength, .lower = DY_OPT_ANY_FINITE, .given = &o->has_strength},
        {"--dysco-decay", "D", "importance decay factor", .number = &o->decay, .given = &o->has_decay},
        {"--dysco-ctx-warmup", "N", "context_warmup_steps", .integer = &o->ctx_warmup, .min = 0, .max = INT32_MAX,
         .given = &o->has_ctx_warmup},
        {"--dysco-interv-warmup", "N|auto", "intervention_warmup (auto: generation-prompt length; 2 without chat)",
         .string = &o->interv_warmup},
        {"--dysco-static", NULL, "select once at warmup end (static variant)", .flag = &o->dysco_static},
        {"--dysco-rescale-template", NULL, "also up-weight template tokens (no template masking)",
         .flag = &o->rescale_template},
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
    // score's own option comes first, under its usage line.
    dy_option table[1 + DY_COUNT_OF(rows)];
    int n = 0;
    if (score)
        table[n++] = (dy_option){"--continuation-ids", "F.json",
                                 "the tokens to score: {\"input_ids\": [...]} or a bare JSON array",
                                 .string = &o->continuation};
    memcpy(table + n, rows, sizeof rows);
    const dy_args_spec spec = {.verb = score ? "score" : "generate", .usage = score ? USAGE_SCORE : USAGE_GENERATE,
                               .options = table, .n_options = n + DY_COUNT_OF(rows)};
    return dy_args_parse_verb(&spec, argc, argv, exit_status);
}

// What the table cannot say: which options are required, and how they combine.
static int check_options(const options *o, bool score, dy_error *err) {
    const char *verb = score ? "score" : "generate";
    int inputs = !!o->prompt + !!o->prompt_file + !!o->input_ids;
    if (!o->model) return dy_fail(err, "%s: needs --model DIR", verb);
    if (inputs != 1) return dy_fail(err, "%s: needs exactly one of --prompt, --prompt-file, --input-ids", verb);
    if (!o->method) return dy_fail(err, "%s: needs --method vanilla|dysco|attnsharp", verb);
    if (score && !o->continuation) return dy_fail(err, "score: needs --continuation-ids F.json");
    dy_method method;
    dy_method_parse(o->method, &method);  // one of dy_cli_methods
    if (method == DY_METHOD_ATTNSHARP && !(o->attn_temperature > 0))
        return dy_fail(err, "--attn-temperature: attnsharp needs a temperature > 0");
    if (o->sample_top_p <= 0 || o->sample_top_p > 1)
        return dy_fail(err, "--top-p: expected a value in (0, 1], got %g", o->sample_top_p);
    // The DySCO overrides' ranges, under their own names (the config's check would name the YAML).
    if (o->has_select_top_p && o->select_top_p > 1)
        return dy_fail(err, "--dysco-top-p: expected a value in [0, 1] (0 disables the nucleus), got %g", o->select_top_p);
    if (o->has_strength && !(o->strength > 0))
        return dy_fail(err, "--dysco-strength: expected a value > 0, got %g", o->strength);
    if (dy_cli_job_check_nccl(o->nccl, o->device, err)) return -1;
    if (o->input_ids && (o->system || o->think))
        return dy_fail(err, "%s: --input-ids bypasses the chat template (no --system, --think)", verb);
    if (o->trace_selected && (!o->trace || method != DY_METHOD_DYSCO))
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
    dy_tokenizer *tok;  // NULL when the folder has no tokenizer (only --input-ids works then)
    dy_chat_template tmpl;
    bool chat;
    dy_tokens prompt, stops, forced;
    dy_dysco_config dysco;
    int interv_warmup;
    FILE *trace;
    // streaming
    dy_tokens streamed;
    size_t printed;
} session;

// Streams the decoded text of the produced tokens, holding back an incomplete UTF-8 tail.
static void stream_token(int32_t token, void *ctx) {
    session *s = ctx;
    dy_tokens_push(&s->streamed, token);
    if (!s->tok) return;
    dy_error err;
    char *text = dy_tokenizer_decode(s->tok, s->streamed.ids, s->streamed.n, true, &err);
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
    if (!s->tok) return dy_fail(err, "%s/tokenizer.json: missing (a text prompt needs the tokenizer; --input-ids does not)", o->model);
    char *owned = o->prompt_file ? dy_read_text_file(o->prompt_file, err) : NULL;
    const char *text = o->prompt_file ? owned : o->prompt;
    if (!text) return -1;
    int rc;
    if (s->chat) {
        dy_chat_message m[2] = {{"system", o->system, NULL}, {"user", text, NULL}};
        rc = dy_prompt_encode_chat(s->tok, &s->tmpl, o->system ? m : m + 1, o->system ? 2 : 1, true, o->think, &s->prompt, err);
    } else {
        rc = o->system ? dy_fail(err, "--system needs the chat template (drop --no-chat)")
                       : dy_tokenizer_encode(s->tok, text, strlen(text), true, &s->prompt, err);
    }
    free(owned);
    return rc;
}

static int resolve_dysco(const options *o, const dy_model_config *cfg, session *s, dy_error *err) {
    dy_dysco_config *d = &s->dysco;
    dy_dysco_config_defaults(d);
    if (o->dysco_config && dy_dysco_config_load(o->dysco_config, d, err)) return -1;
    if (o->dysco_heads && dy_dysco_parse_heads(o->dysco_heads, d, "--dysco-heads", err)) return -1;
    if (o->has_select_top_k) dy_dysco_override_top_k(d, (int)o->select_top_k);
    if (o->has_select_top_p) dy_dysco_override_top_p(d, o->select_top_p);
    if (o->has_strength) d->strength = o->strength;
    if (o->has_decay) d->decay = o->decay;
    if (o->has_ctx_warmup) d->ctx_warmup = (int)o->ctx_warmup;
    if (o->interv_warmup && dy_dysco_parse_interv_warmup(o->interv_warmup, d, "--dysco-interv-warmup", err)) return -1;
    if (o->dysco_static) d->dynamic = false;
    if (o->rescale_template) d->scale_template_tokens = true;
    if (dy_dysco_config_validate(d, cfg->n_layers, cfg->n_heads, o->dysco_config ? o->dysco_config : "dysco", err))
        return -1;
    s->interv_warmup = d->interv_warmup;
    if (d->interv_auto) {  // the chat template's generation-prompt length; without a template run_eval uses 2
        if (!s->chat) s->interv_warmup = 2;
        else if (dy_prompt_auto_warmup(s->tok, &s->tmpl, o->think, &s->interv_warmup, err)) return -1;
    }
    return dy_dysco_check_prompt(d, s->interv_warmup, s->prompt.n, err);
}

static int collect_stops(const options *o, const dy_model_config *cfg, session *s, dy_error *err) {
    for (int i = 0; i < cfg->n_eos; i++) dy_tokens_push(&s->stops, cfg->eos_ids[i]);
    if (generation_config_eos(o->model, cfg->vocab_size, &s->stops, err)) return -1;
    if (o->stop_ids && dy_cli_parse_stop_ids(o->stop_ids, &s->stops, err)) return -1;
    if (o->stop_on_newline) {  // the byte-level tokens for "\n" and "\n\n"
        if (!s->tok) return dy_fail(err, "--stop-on-newline: needs the tokenizer (%s/tokenizer.json)", o->model);
        static const char *const newlines[] = {"\xC4\x8A", "\xC4\x8A\xC4\x8A"};
        for (int i = 0; i < 2; i++) {
            int32_t id = dy_tokenizer_token_id(s->tok, newlines[i]);
            if (id >= 0) dy_tokens_push(&s->stops, id);
        }
    }
    return 0;
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
    char *text = s->tok ? dy_tokenizer_decode(s->tok, r->output.ids, r->output.n, true, err) : NULL;
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

// Returns the exit status. Every rank prepares alone (input, model shard) and the ranks agree on
// success before they start working together; rank 0 alone streams the text and writes files.
static int run(const options *o, bool score, dy_comm *comm, dy_error *err) {
    session s = {0};
    dy_checkpoint ck;
    dy_model model = {0};
    dy_generate_result r = {0};
    dy_backend *be = NULL;
    const bool root = comm->rank == 0;
    if (dy_checkpoint_open(o->model, &ck, err)) {
        bool quiet;
        dy_cli_job_agree(comm, -1, &quiet);
        return dy_report(DY_EXIT_FAIL, err);
    }
    int rc = 0;
    char path[PATH_MAX];
    if (dy_path_join(path, sizeof path, o->model, "tokenizer.json", err) == 0 && dy_file_exists(path))
        rc = dy_tokenizer_load(o->model, &s.tok, err);
    s.chat = !o->input_ids && !o->no_chat;
    if (rc == 0 && s.chat && s.tok) {
        rc = dy_path_join(path, sizeof path, o->model, "tokenizer_config.json", err);
        if (rc == 0) rc = dy_chat_template_load(path, &s.tmpl, err);
    }
    if (rc == 0) rc = build_prompt(o, &s, err);
    if (rc == 0 && score) rc = read_ids(o->continuation, &s.forced, err);
    dy_method method;
    dy_method_parse(o->method, &method);  // one of dy_cli_methods
    if (rc == 0 && method == DY_METHOD_DYSCO) rc = resolve_dysco(o, &ck.config, &s, err);
    if (rc == 0) rc = collect_stops(o, &ck.config, &s, err);
    if (rc == 0 && root && o->trace && !(s.trace = fopen(o->trace, "w"))) rc = dy_fail(err, "%s: cannot create", o->trace);
    // Line by line: a write that fails (a full disk) ends the run at that step instead of after
    // the whole generation, and a job that is killed keeps its trace up to the step it was in.
    if (s.trace) setvbuf(s.trace, NULL, _IOLBF, 0);
    const int new_tokens = score ? s.forced.n : (int)o->max_new_tokens;
    if (rc == 0 && s.prompt.n + new_tokens > ck.config.max_position_embeddings)
        rc = dy_fail(err, "prompt: %d tokens + %d new exceed max_position_embeddings %d of %s/config.json", s.prompt.n,
                     new_tokens, ck.config.max_position_embeddings, o->model);
    dy_comm *ops;
    int status = dy_cli_job_backend(comm, o->device, o->nccl, rc, &be, &ops, err);
    // Prefill passes of up to DY_DEFAULT_PREFILL_CHUNK tokens: the GPU's GEMMs and attention want
    // long ones; a short prompt needs no more workspace than its own length.
    const int chunk = s.prompt.n < DY_DEFAULT_PREFILL_CHUNK ? s.prompt.n : DY_DEFAULT_PREFILL_CHUNK;
    if (status == DY_EXIT_OK)
        rc = dy_model_load_shard(&model, be, &ck, ops, s.prompt.n + new_tokens, chunk > 0 ? chunk : 1, err);
    if (status == DY_EXIT_OK && rc == 0 && o->router_margins) rc = check_router_margins(o, &model, err);
    bool quiet = false;
    if (status == DY_EXIT_OK && dy_cli_job_agree(comm, rc, &quiet))
        status = quiet ? DY_EXIT_FAIL : dy_report(DY_EXIT_FAIL, err);
    if (status == DY_EXIT_OK) {
        dy_generate_opts g = {
            .method = method, .attn_temperature = (float)o->attn_temperature, .dysco = &s.dysco,
            .interv_warmup = s.interv_warmup, .max_new_tokens = new_tokens, .temperature = (float)o->temperature,
            .sample_top_p = (float)o->sample_top_p, .sample_top_k = (int)o->sample_top_k, .seed = (uint64_t)o->seed, .stop_ids = s.stops.ids,
            .n_stop = s.stops.n, .forced = score ? s.forced.ids : NULL, .n_forced = s.forced.n,
            .on_token = score || !root ? NULL : stream_token, .on_token_ctx = &s, .trace = s.trace, .trace_name = o->trace,
            .trace_selected = o->trace_selected, .tp_check_selection = o->tp_check_selection,
            .router_margins = o->router_margins,
        };
        if (dy_generate(&model, s.prompt.ids, s.prompt.n, &g, &r, err)) status = dy_cli_job_fail(comm, DY_EXIT_FAIL, err);
        if (!score && root) putchar('\n');
    }
    const int64_t weight_bytes = status == DY_EXIT_OK ? max_over_ranks(comm, model.weight_bytes) : 0;
    if (status == DY_EXIT_OK && root && write_output(o, score, &s, &r, comm->size, weight_bytes, err))
        status = dy_report(DY_EXIT_FAIL, err);
    if (s.trace && fclose(s.trace) != 0 && status == DY_EXIT_OK) {
        dy_fail(err, "%s: write failed", o->trace);
        status = dy_report(DY_EXIT_FAIL, err);
    }
    dy_generate_result_free(&r);
    if (model.be) dy_model_free(&model);
    if (ops && ops != comm) ops->destroy(ops);
    if (be) be->destroy(be);
    dy_tokenizer_free(s.tok);
    dy_tokens_free(&s.prompt);
    dy_tokens_free(&s.stops);
    dy_tokens_free(&s.forced);
    dy_tokens_free(&s.streamed);
    dy_checkpoint_close(&ck);
    return status;
}

static int main_verb(int argc, char **argv, bool score) {
    options o;
    dy_error err;
    int status;
    if (!parse_options(argc, argv, score, &o, &status)) return status;
    if (check_options(&o, score, &err)) return dy_report(DY_EXIT_USAGE, &err);
    if (dy_cli_job_check_tp(score ? "score" : "generate", o.tp, &err)) return dy_report(DY_EXIT_USAGE, &err);
    dy_comm *comm = dy_comm_create(dy_cli_job_env(), &err);
    if (!comm) return dy_report(DY_EXIT_FAIL, &err);
    status = run(&o, score, comm, &err);
    comm->destroy(comm);
    return status;
}

int dy_cli_generate(int argc, char **argv) { return main_verb(argc, argv, false); }
int dy_cli_score(int argc, char **argv) { return main_verb(argc, argv, true); }

// dysco tokenize: text <-> token ids with the model's own tokenizer and chat template, for
// checking prompts and preparing evaluation data (one tokenizer load for a whole JSONL file).
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_batch.h"
#include "kernels/base/timing.h"
#include "runtime/tokenizer/prompt.h"
#include "runtime/util/file_util.h"

static const char USAGE[] =
    "usage: dysco tokenize --model DIR (--text T | --file F | --batch F.jsonl | --warmup) [options]\n"
    "\n"
    "Prints the token ids of the text as one JSON array (with --offsets, an object that holds\n"
    "their offsets too). DIR needs tokenizer.json and tokenizer_config.json only (no weights).\n";

typedef struct {
    const char *model, *text, *file, *batch, *system;
    bool chat, think, no_special, decode, skip_special, warmup, offsets;
    int64_t bench;
} options;

// Ids are written through a buffer of digits formed here: printf per id was a tenth of the
// time of tokenizing a 10 MB file (1.25M ids).
typedef struct {
    char buf[1 << 16];
    size_t n;
} out_buffer;

static void out_text(out_buffer *o, const char *s) {
    for (; *s; s++) {
        if (o->n == sizeof o->buf) {
            fwrite(o->buf, 1, o->n, stdout);
            o->n = 0;
        }
        o->buf[o->n++] = *s;
    }
}

static void out_number(out_buffer *o, uint64_t v) {
    char digits[24];
    int k = sizeof digits - 1;
    digits[k] = '\0';
    do digits[--k] = (char)('0' + v % 10);
    while (v /= 10);
    out_text(o, digits + k);
}

static void out_ids(out_buffer *o, const dy_tokens *t) {
    out_text(o, "[");
    for (int i = 0; i < t->n; i++) {
        if (i) out_text(o, ",");
        out_number(o, (uint32_t)t->ids[i]);  // ids are >= 0
    }
    out_text(o, "]");
}

static void out_end(out_buffer *o) {
    out_text(o, "\n");
    fwrite(o->buf, 1, o->n, stdout);
    o->n = 0;
}

static void print_ids(const dy_tokens *t) {
    static out_buffer o;
    out_ids(&o, t);
    out_end(&o);
}

// {"input_ids": [...], "offset_mapping": [[start, end], ...]}, named as transformers names them.
static void print_ids_and_offsets(const dy_tokens *t, const dy_token_offsets *offsets) {
    static out_buffer o;
    out_text(&o, "{\"input_ids\": ");
    out_ids(&o, t);
    out_text(&o, ", \"offset_mapping\": [");
    for (int i = 0; i < offsets->n; i++) {
        out_text(&o, i ? ", [" : "[");
        out_number(&o, (uint64_t)offsets->at[i].start);
        out_text(&o, ", ");
        out_number(&o, (uint64_t)offsets->at[i].end);
        out_text(&o, "]");
    }
    out_text(&o, "]}");
    out_end(&o);
}

static int bench(dy_tokenizer *tok, const char *text, size_t len, bool add_special, int runs, dy_error *err) {
    double *secs = malloc((size_t)runs * sizeof *secs);
    if (!secs) return dy_fail(err, "--bench: out of memory");
    int n_tokens = 0;
    for (int r = 0; r < runs; r++) {
        dy_tokens t = {0};
        double t0 = dy_now();
        int rc = dy_tokenizer_encode(tok, text, len, add_special, &t, err);
        secs[r] = dy_now() - t0;
        n_tokens = t.n;
        dy_tokens_free(&t);
        if (rc) {
            free(secs);
            return -1;
        }
    }
    double first = secs[0], median = dy_median(secs, runs);
    printf("{\"tokens\": %d, \"bytes\": %zu, \"runs\": %d, \"seconds_median\": %.6f, \"seconds_first\": %.6f, "
           "\"tokens_per_s\": %.0f, \"threads\": 1}\n",
           n_tokens, len, runs, median, first, n_tokens / median);
    free(secs);
    return 0;
}

static int decode(const dy_tokenizer *tok, const char *json, const char *where, bool skip_special, dy_error *err) {
    dy_tokens ids = {0};
    int rc = dy_prompt_ids_from_json(json, strlen(json), where, true, &ids, err);
    for (int i = 0; rc == 0 && i < ids.n; i++)
        if (!dy_tokenizer_has_id(tok, ids.ids[i]))  // a typo, most likely: say so
            rc = dy_fail(err, "%s: [%d]: token id %d is not in the vocabulary", where, i, ids.ids[i]);
    char *text = rc ? NULL : dy_tokenizer_decode(tok, ids.ids, ids.n, skip_special, err);
    if (text) {
        fputs(text, stdout);
        putchar('\n');
    }
    free(text);
    dy_tokens_free(&ids);
    return text ? 0 : -1;
}

typedef struct {
    dy_tokenizer *tok;
    const dy_chat_template *tmpl;  // NULL when the model has none recognised
} batch;

static int batch_line(const char *line, size_t len, const char *where, void *ctx, dy_error *err) {
    const batch *b = ctx;
    dy_tokens ids = {0};
    int rc = dy_cli_batch_line(b->tok, b->tmpl, line, len, where, &ids, err);
    if (rc == 0) print_ids(&ids);
    dy_tokens_free(&ids);
    return rc;
}

static int run_batch(dy_tokenizer *tok, const options *o, dy_error *err) {
    char config_path[PATH_MAX];
    dy_chat_template tmpl;
    dy_error template_err;
    if (dy_path_join(config_path, sizeof config_path, o->model, "tokenizer_config.json", err)) return -1;
    const bool have_template = dy_chat_template_load(config_path, &tmpl, &template_err) == 0;
    batch b = {tok, have_template ? &tmpl : NULL};
    return dy_cli_jsonl_each_line(o->batch, batch_line, &b, err);
}

static int run(const options *o, dy_error *err) {
    dy_tokenizer *tok;
    if (dy_tokenizer_load(o->model, &tok, err)) return -1;
    char *owned = NULL, config_path[PATH_MAX];
    const char *text = o->text;
    dy_chat_template tmpl;
    dy_tokens ids = {0};
    int rc = 0;
    if (o->chat || o->warmup)
        rc = dy_path_join(config_path, sizeof config_path, o->model, "tokenizer_config.json", err) ||
             dy_chat_template_load(config_path, &tmpl, err);
    if (rc == 0 && o->file) {
        owned = dy_read_text_file(o->file, err);
        text = owned;
        rc = owned ? 0 : -1;
    }
    if (rc == 0) {
        if (o->batch) {
            rc = run_batch(tok, o, err);
        } else if (o->warmup) {
            int n;
            rc = dy_prompt_auto_warmup(tok, &tmpl, o->think, &n, err);
            if (rc == 0)
                printf("{\"intervention_warmup\": %d, \"template\": \"%s\", \"enable_thinking\": %s}\n", n,
                       dy_chat_family_name(tmpl.family), o->think ? "true" : "false");
        } else if (o->decode) {
            rc = decode(tok, text, o->file ? o->file : "--text", o->skip_special, err);
        } else if (o->chat) {
            dy_chat_message m[2] = {{"system", o->system, NULL}, {"user", text, NULL}};
            rc = dy_prompt_encode_chat(tok, &tmpl, o->system ? m : m + 1, o->system ? 2 : 1, true, o->think, &ids, err);
            if (rc == 0) print_ids(&ids);
        } else if (o->bench) {
            rc = bench(tok, text, strlen(text), !o->no_special, (int)o->bench, err);
        } else if (o->offsets) {
            dy_token_offsets offsets = {0};
            rc = dy_tokenizer_encode_offsets(tok, text, strlen(text), !o->no_special, &ids, &offsets, err);
            if (rc == 0) print_ids_and_offsets(&ids, &offsets);
            dy_token_offsets_free(&offsets);
        } else {
            rc = dy_tokenizer_encode(tok, text, strlen(text), !o->no_special, &ids, err);
            if (rc == 0) print_ids(&ids);
        }
    }
    dy_tokens_free(&ids);
    free(owned);
    dy_tokenizer_free(tok);
    return rc;
}

int dy_cli_tokenize(int argc, char **argv) {
    options o = {0};
    const dy_option table[] = {
        {"--model", "DIR", "the tokenizer's folder", .string = &o.model},
        {"--text", "T", "the input", .string = &o.text},
        {"--file", "F", "the input, read from F", .string = &o.file},
        {"--chat", NULL, "wrap the text as a user message in the model's chat template, with the\n"
                         "generation prompt (template recognised from tokenizer_config.json)", .flag = &o.chat},
        {"--think", NULL, "with --chat: Qwen3 thinking mode (default: enable_thinking=false)", .flag = &o.think},
        {"--system", "TEXT", "with --chat: a system message first", .string = &o.system},
        {"--no-special", NULL, "do not add the post-processor's special tokens (Llama-3: <|begin_of_text|>)",
         .flag = &o.no_special},
        {"--decode", NULL, "the input is a JSON array of ids (or {\"input_ids\": [...]}); print its text",
         .flag = &o.decode},
        {"--skip-special", NULL, "with --decode: leave special tokens out", .flag = &o.skip_special},
        {"--offsets", NULL, "print {\"input_ids\": [...], \"offset_mapping\": [[start, end], ...]}: each\n"
                            "token's span in the text in code points, as Hugging Face's offset_mapping\n"
                            "((0, 0) for the special tokens the post-processor adds: <s>, <|begin_of_text|>)",
         .flag = &o.offsets},
        {"--batch", "F.jsonl", "one JSON object per line, one JSON array of ids printed per line:\n"
                               "{\"text\": ..., \"add_special_tokens\": bool (default true)} or\n"
                               "{\"messages\": [{\"role\", \"content\"}, ...], \"add_generation_prompt\": bool\n"
                               "(default false), \"enable_thinking\": bool (default: not given)}",
         .string = &o.batch},
        {"--warmup", NULL, "print the number of generation-prompt tokens (DySCO intervention_warmup: auto)",
         .flag = &o.warmup},
        {"--bench", "N", "encode the text N times; print {tokens, bytes, seconds_median, ...}\nas JSON",
         .integer = &o.bench, .min = 1, .max = 1000, .default_text = "off"},
    };
    const dy_args_spec spec = {.verb = "tokenize", .usage = USAGE, .options = table, .n_options = DY_COUNT_OF(table)};
    int status;
    if (!dy_args_parse_verb(&spec, argc, argv, &status)) return status;
    dy_error err;
    const char *problem = NULL;
    int inputs = !!o.text + !!o.file + !!o.batch + o.warmup;
    if (!o.model) problem = "needs --model DIR";
    else if (inputs != 1) problem = "needs exactly one of --text, --file, --batch, --warmup";
    else if (o.system && !o.chat) problem = "--system needs --chat";
    else if (o.decode && (o.chat || o.batch || o.bench)) problem = "--decode takes ids from --text or --file alone";
    else if (o.bench && (o.chat || o.batch)) problem = "--bench times plain --text or --file input";
    else if (o.offsets && (o.chat || o.batch || o.decode || o.bench || o.warmup))
        problem = "--offsets is for plain --text or --file input";
    if (problem) {
        dy_fail(&err, "tokenize: %s (see dysco tokenize --help)", problem);
        return dy_report(DY_EXIT_USAGE, &err);
    }
    return run(&o, &err) ? dy_report(DY_EXIT_FAIL, &err) : DY_EXIT_OK;
}

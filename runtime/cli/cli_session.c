#include "cli_session.h"

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_job.h"
#include "cli_lists.h"
#include "runtime/tokenizer/prompt.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

void dy_cli_method_rows(dy_cli_method_opts *o, dy_option rows[DY_CLI_METHOD_ROWS]) {
    const dy_option table[DY_CLI_METHOD_ROWS] = {
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
    };
    memcpy(rows, table, sizeof table);
}

int dy_cli_method_check(const dy_cli_method_opts *o, const char *verb, dy_method *method, dy_error *err) {
    if (!o->method) return dy_fail(err, "%s: needs --method vanilla|dysco|attnsharp", verb);
    dy_method_parse(o->method, method);  // one of dy_cli_methods
    if (*method == DY_METHOD_ATTNSHARP && !(o->attn_temperature > 0))
        return dy_fail(err, "--attn-temperature: attnsharp needs a temperature > 0");
    // The DySCO overrides' ranges, under their own names (the config's check would name the YAML).
    if (o->has_select_top_p && o->select_top_p > 1)
        return dy_fail(err, "--dysco-top-p: expected a value in [0, 1] (0 disables the nucleus), got %g", o->select_top_p);
    if (o->has_strength && !(o->strength > 0))
        return dy_fail(err, "--dysco-strength: expected a value > 0, got %g", o->strength);
    return 0;
}

int dy_cli_session_open(dy_cli_session *s, const char *dir, bool chat, dy_error *err) {
    memset(s, 0, sizeof *s);
    s->dir = dir;
    s->chat = chat;
    if (dy_checkpoint_open(dir, &s->ck, err)) return -1;
    char path[PATH_MAX];
    if (dy_path_join(path, sizeof path, dir, "tokenizer.json", err)) return -1;
    if (dy_file_exists(path) && dy_tokenizer_load(dir, &s->tok, err)) return -1;
    if (!chat || !s->tok) return 0;
    if (dy_path_join(path, sizeof path, dir, "tokenizer_config.json", err)) return -1;
    return dy_chat_template_load(path, &s->tmpl, err);
}

int dy_cli_session_encode(dy_cli_session *s, const dy_chat_message *msgs, int n, bool think, dy_tokens *out,
                          dy_error *err) {
    if (!s->tok)
        return dy_fail(err, "%s/tokenizer.json: missing (a text prompt needs the tokenizer; --input-ids does not)", s->dir);
    if (s->chat) return dy_prompt_encode_chat(s->tok, &s->tmpl, msgs, n, true, think, out, err);
    if (n != 1) return dy_fail(err, "prompt: %d messages need the chat template", n);
    return dy_tokenizer_encode(s->tok, msgs[0].content, strlen(msgs[0].content), true, out, err);
}

int dy_cli_session_dysco(dy_cli_session *s, const dy_cli_method_opts *o, bool think, dy_error *err) {
    dy_dysco_config *d = &s->dysco;
    const dy_model_config *cfg = &s->ck.config;
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
    if (!d->interv_auto) return 0;
    // The chat template's generation-prompt length; without a template run_eval uses 2.
    if (!s->chat || !s->tok) {
        s->interv_warmup = 2;
        return 0;
    }
    return dy_prompt_auto_warmup(s->tok, &s->tmpl, think, &s->interv_warmup, err);
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
    cJSON *root = dy_json_read_file(path, err);
    if (!root) return -1;
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

int dy_cli_session_stops(dy_cli_session *s, const char *stop_ids, bool stop_on_newline, dy_error *err) {
    const dy_model_config *cfg = &s->ck.config;
    for (int i = 0; i < cfg->n_eos; i++) dy_tokens_push(&s->stops, cfg->eos_ids[i]);
    if (generation_config_eos(s->dir, cfg->vocab_size, &s->stops, err)) return -1;
    if (stop_ids && dy_cli_parse_stop_ids(stop_ids, &s->stops, err)) return -1;
    if (!stop_on_newline) return 0;
    // The byte-level tokens for "\n" and "\n\n".
    if (!s->tok) return dy_fail(err, "--stop-on-newline: needs the tokenizer (%s/tokenizer.json)", s->dir);
    static const char *const newlines[] = {"\xC4\x8A", "\xC4\x8A\xC4\x8A"};
    for (int i = 0; i < 2; i++) {
        int32_t id = dy_tokenizer_token_id(s->tok, newlines[i]);
        if (id >= 0) dy_tokens_push(&s->stops, id);
    }
    return 0;
}

int dy_cli_session_backend(dy_cli_session *s, dy_comm *comm, const char *device, bool nccl, int rc, dy_error *err) {
    s->comm = comm;
    return dy_cli_job_backend(comm, device, nccl, rc, &s->be, &s->ops, err);
}

int dy_cli_session_load(dy_cli_session *s, int prompt_len, int new_tokens, const char *what, dy_error *err) {
    if (prompt_len + new_tokens > s->ck.config.max_position_embeddings)
        return dy_fail(err, "%s: %d tokens + %d new exceed max_position_embeddings %d of %s/config.json", what, prompt_len,
                       new_tokens, s->ck.config.max_position_embeddings, s->dir);
    // Prefill passes of up to DY_DEFAULT_PREFILL_CHUNK tokens: the GPU's GEMMs and attention want
    // long ones; a short prompt needs no more workspace than its own length.
    const int chunk = prompt_len < DY_DEFAULT_PREFILL_CHUNK ? prompt_len : DY_DEFAULT_PREFILL_CHUNK;
    return dy_model_load_shard(&s->model, s->be, &s->ck, s->ops, prompt_len + new_tokens, chunk > 0 ? chunk : 1, err);
}

void dy_cli_session_close(dy_cli_session *s) {
    if (s->model.be) dy_model_free(&s->model);
    if (s->ops && s->ops != s->comm) s->ops->destroy(s->ops);
    if (s->be) s->be->destroy(s->be);
    dy_tokenizer_free(s->tok);
    dy_tokens_free(&s->stops);
    dy_checkpoint_close(&s->ck);
    memset(s, 0, sizeof *s);
}

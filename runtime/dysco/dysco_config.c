#include "dysco_config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"
#include "runtime/util/yaml_reader.h"

void dy_dysco_config_defaults(dy_dysco_config *c) {
    memset(c, 0, sizeof *c);
    c->strength = NAN;
    c->decay = NAN;
    c->interv_auto = true;
    c->dynamic = true;
}

// ---- selected_heads: a Python list literal of (layer, head) tuples ---------------------------

typedef struct {
    const char *s, *p;
} cursor;

static void skip_space(cursor *c) {
    while (isspace((unsigned char)*c->p)) c->p++;
}

static bool eat(cursor *c, char ch) {
    skip_space(c);
    if (*c->p != ch) return false;
    c->p++;
    return true;
}

static bool read_int(cursor *c, int *out) {
    skip_space(c);
    const char *q = c->p;
    if (*q == '-' || *q == '+') q++;
    if (!isdigit((unsigned char)*q)) return false;
    errno = 0;
    char *end;
    long v = strtol(c->p, &end, 10);
    if (errno || v < INT_MIN || v > INT_MAX) return false;
    c->p = end;
    *out = (int)v;
    return true;
}

// One "(l, h)" or "[l, h]", with an optional trailing comma inside as Python allows.
static bool read_pair(cursor *c, dy_dysco_head *h) {
    skip_space(c);
    char close = *c->p == '(' ? ')' : *c->p == '[' ? ']' : 0;
    if (!close) return false;
    c->p++;
    if (!read_int(c, &h->layer) || !eat(c, ',') || !read_int(c, &h->head)) return false;
    eat(c, ',');
    return eat(c, close);
}

int dy_dysco_parse_heads(const char *text, dy_dysco_config *c, const char *where, dy_error *err) {
    static const char expected[] = "expected a list of (layer, head) pairs such as \"[(21,31),(21,18)]\"";
    dy_dysco_head heads[DY_DYSCO_MAX_HEADS];
    int n = 0;
    cursor cur = {text, text};
    if (!eat(&cur, '[')) return dy_fail(err, "%s: %s", where, expected);
    while (!eat(&cur, ']')) {
        if (n == DY_DYSCO_MAX_HEADS) return dy_fail(err, "%s: more than %d pairs", where, DY_DYSCO_MAX_HEADS);
        if (!read_pair(&cur, &heads[n]))
            return dy_fail(err, "%s: %s, stopped at character %d", where, expected, (int)(cur.p - cur.s) + 1);
        n++;
        if (!eat(&cur, ',') && (skip_space(&cur), *cur.p != ']'))
            return dy_fail(err, "%s: %s, stopped at character %d", where, expected, (int)(cur.p - cur.s) + 1);
    }
    skip_space(&cur);
    if (*cur.p) return dy_fail(err, "%s: %s, text follows the closing ']'", where, expected);
    memcpy(c->heads, heads, (size_t)n * sizeof *heads);
    c->n_heads = n;
    return 0;
}

static bool all_digits(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return false;
    return true;
}

int dy_dysco_parse_interv_warmup(const char *text, dy_dysco_config *c, const char *where, dy_error *err) {
    if (strcmp(text, "auto") == 0) {
        c->interv_auto = true;
        return 0;
    }
    errno = 0;
    long v = all_digits(text) ? strtol(text, NULL, 10) : -1;
    if (v < 0 || errno || v > INT_MAX)
        return dy_fail(err, "%s: expected 'auto' or a non-negative integer, got \"%s\"", where, text);
    c->interv_auto = false;
    c->interv_warmup = (int)v;
    return 0;
}

void dy_dysco_override_top_k(dy_dysco_config *c, int k) {
    c->has_select_top_k = k > 0;
    c->select_top_k = k > 0 ? k : 0;
}

void dy_dysco_override_top_p(dy_dysco_config *c, double p) {
    c->has_select_top_p = p > 0;
    c->select_top_p = p > 0 ? p : 0;
}

// ---- YAML ------------------------------------------------------------------------------------
// Read under runtime/util/yaml_reader.h's rules, in its two passes; libyaml leaves plain scalars
// untyped, and they are resolved here as safe_load would for the values these files hold.

typedef struct {
    dy_yaml_reader *r;
    const char *key;
} field;

// An optional sign and decimal digits (PyYAML's hex, octal and 1_000 forms are not used here).
static int scalar_int(const field *f, const yaml_event_t *e, int *out) {
    const char *s = dy_yaml_is_plain(e) ? dy_yaml_text(e) : "";
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (!all_digits(*s == '-' || *s == '+' ? s + 1 : s) || errno || v < INT_MIN || v > INT_MAX)
        return dy_fail(f->r->err, "%s: %s: expected an integer", f->r->path, f->key);
    *out = (int)v;
    return 0;
}

// A decimal number, integer or not (no .inf / .nan).
static int scalar_number(const field *f, const yaml_event_t *e, double *out) {
    const char *s = dy_yaml_is_plain(e) ? dy_yaml_text(e) : "";
    bool ok = strspn(s, "0123456789+-.eE") == strlen(s) && strpbrk(s, "0123456789");
    char *end = NULL;
    double v = ok ? strtod(s, &end) : 0;
    if (!ok || *end || !isfinite(v)) return dy_fail(f->r->err, "%s: %s: expected a number", f->r->path, f->key);
    *out = v;
    return 0;
}

static int scalar_bool(const field *f, const yaml_event_t *e, bool *out) {
    if (!dy_yaml_bool(e, out)) return dy_fail(f->r->err, "%s: %s: expected true or false", f->r->path, f->key);
    return 0;
}

static int read_heads(const field *f, const yaml_event_t *e, dy_dysco_config *c) {
    char where[1200];
    snprintf(where, sizeof where, "%s: %s", f->r->path, f->key);
    if (e->type != YAML_SCALAR_EVENT)
        return dy_fail(f->r->err, "%s: expected a string such as \"[(21,31),(21,18)]\"", where);
    return dy_dysco_parse_heads(dy_yaml_text(e), c, where, f->r->err);
}

static int read_interv_warmup(const field *f, const yaml_event_t *e, dy_dysco_config *c) {
    char where[1200];
    snprintf(where, sizeof where, "%s: %s", f->r->path, f->key);
    if (e->type != YAML_SCALAR_EVENT)
        return dy_fail(f->r->err, "%s: expected 'auto' or a non-negative integer", where);
    return dy_dysco_parse_interv_warmup(dy_yaml_text(e), c, where, f->r->err);
}

// From the list's first event on: each entry a list of token ids, read up to its end.
static int read_templates(const field *f, dy_dysco_config *c) {
    dy_yaml_reader *r = f->r;
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return dy_fail(r->err, "%s: %s: expected a list of token-id lists", r->path, f->key);
    int used = 0, count = 0;
    c->template_start[0] = 0;
    for (;;) {
        if (dy_yaml_next(r)) return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
        if (count == DY_DYSCO_MAX_TEMPLATES)
            return dy_fail(r->err, "%s: %s: more than %d sequences", r->path, f->key, DY_DYSCO_MAX_TEMPLATES);
        if (r->ev.type != YAML_SEQUENCE_START_EVENT)
            return dy_fail(r->err, "%s: %s: entry %d: expected a list of token ids", r->path, f->key, count + 1);
        for (;;) {
            if (dy_yaml_next(r)) return -1;
            if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
            int id;
            if (r->ev.type != YAML_SCALAR_EVENT || scalar_int(f, &r->ev, &id) || id < 0)
                return dy_fail(r->err, "%s: %s: entry %d: expected a list of token ids", r->path, f->key, count + 1);
            if (used == DY_DYSCO_MAX_TEMPLATE_TOKENS)
                return dy_fail(r->err, "%s: %s: more than %d tokens in all", r->path, f->key, DY_DYSCO_MAX_TEMPLATE_TOKENS);
            c->template_tokens[used++] = id;
        }
        c->template_start[++count] = used;
    }
    c->n_templates = count;
    return 0;
}

enum {
    K_HEADS, K_TOP_K, K_TOP_P, K_STRENGTH, K_DECAY, K_CTX_WARMUP, K_INTERV_WARMUP, K_SCALE_TEMPLATE, K_TEMPLATES,
    K_DYNAMIC, N_KEYS
};
static const char *const key_names[N_KEYS] = {
    "selected_heads", "top_k", "top_p", "strength", "decay_factor", "context_warmup_steps", "intervention_warmup",
    "scale_template_tokens", "template_sequences", "dynamic_rescale"};

// From the key's event on: the key and its whole value.
static int read_key(dy_yaml_reader *r, dy_dysco_config *c) {
    if (r->ev.type != YAML_SCALAR_EVENT) return dy_fail(r->err, "%s: a key is not a plain name", r->path);
    int k = 0;
    while (k < N_KEYS && strcmp(dy_yaml_text(&r->ev), key_names[k]) != 0) k++;
    if (k == N_KEYS) {
        // Room for every key, the longest being "scale_template_tokens", and its ", " separator.
        char known[N_KEYS * sizeof ", scale_template_tokens"] = "";
        for (int i = 0; i < N_KEYS; i++) {
            assert(strlen(key_names[i]) < sizeof "scale_template_tokens");
            if (i) strcat(known, ", ");
            strcat(known, key_names[i]);
        }
        const char *key = dy_yaml_text(&r->ev);
        return dy_fail(r->err, "%s: %.*s: unknown key (%s)", r->path, dy_yaml_shown_length(key), key, known);
    }
    if (dy_yaml_next(r)) return -1;
    const field f = {r, key_names[k]};
    const yaml_event_t *v = &r->ev;
    if (dy_yaml_is_null(v)) return 0;  // null is "absent" to run_eval's cfg.get(): the default stays
    switch (k) {
    case K_HEADS: return read_heads(&f, v, c);
    case K_TOP_K: c->has_select_top_k = true; return scalar_int(&f, v, &c->select_top_k);
    case K_TOP_P: c->has_select_top_p = true; return scalar_number(&f, v, &c->select_top_p);
    case K_STRENGTH: return scalar_number(&f, v, &c->strength);
    case K_DECAY: return scalar_number(&f, v, &c->decay);
    case K_CTX_WARMUP: return scalar_int(&f, v, &c->ctx_warmup);
    case K_INTERV_WARMUP: return read_interv_warmup(&f, v, c);
    case K_SCALE_TEMPLATE: return scalar_bool(&f, v, &c->scale_template_tokens);
    case K_TEMPLATES: return read_templates(&f, c);
    default: return scalar_bool(&f, v, &c->dynamic);  // K_DYNAMIC
    }
}

// The second pass: the document's mapping, key by key.
static int read_settings(dy_yaml_reader *r, dy_dysco_config *c) {
    if (dy_yaml_root(r)) return -1;
    if (r->ev.type == YAML_STREAM_END_EVENT || dy_yaml_is_null(&r->ev))
        return dy_fail(r->err, "%s: empty, expected a mapping of DySCO settings", r->path);
    if (r->ev.type != YAML_MAPPING_START_EVENT) return dy_fail(r->err, "%s: expected a mapping of DySCO settings", r->path);
    for (;;) {
        if (dy_yaml_next(r)) return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT) return 0;
        if (read_key(r, c)) return -1;
    }
}

int dy_dysco_config_load(const char *path, dy_dysco_config *c, dy_error *err) {
    dy_dysco_config_defaults(c);
    size_t len;
    char *text = dy_read_file(path, &len, err);
    if (!text) return -1;
    dy_yaml_reader r;
    int rc = dy_yaml_check(path, text, len, err);
    if (rc == 0) {
        rc = dy_yaml_open(&r, path, text, len, err) || read_settings(&r, c) ? -1 : 0;
        dy_yaml_close(&r);
    }
    free(text);
    return rc;
}

// ---- Checks ----------------------------------------------------------------------------------

int dy_dysco_config_validate(const dy_dysco_config *c, int n_layers, int n_heads, const char *where, dy_error *err) {
    if (c->n_heads == 0) return dy_fail(err, "%s: selected_heads: missing (at least one (layer, head) pair)", where);
    for (int i = 0; i < c->n_heads; i++) {
        const dy_dysco_head h = c->heads[i];
        if (h.layer < 0 || h.layer >= n_layers)
            return dy_fail(err, "%s: selected_heads: (%d, %d): layer %d out of range for a %d-layer model", where,
                           h.layer, h.head, h.layer, n_layers);
        if (h.head < 0 || h.head >= n_heads)
            return dy_fail(err, "%s: selected_heads: (%d, %d): head %d out of range for a model with %d query heads",
                           where, h.layer, h.head, h.head, n_heads);
    }
    if (!c->has_select_top_k && !c->has_select_top_p) return dy_fail(err, "%s: top_k, top_p: at least one is needed", where);
    if (c->has_select_top_k && c->select_top_k < 1) return dy_fail(err, "%s: top_k: must be at least 1, got %d", where, c->select_top_k);
    if (c->has_select_top_p && !(c->select_top_p > 0 && c->select_top_p <= 1))
        return dy_fail(err, "%s: top_p: must be in (0, 1], got %g", where, c->select_top_p);
    if (isnan(c->strength)) return dy_fail(err, "%s: strength: missing", where);
    if (!(c->strength > 0)) return dy_fail(err, "%s: strength: must be positive, got %g", where, c->strength);
    if (isnan(c->decay)) return dy_fail(err, "%s: decay_factor: missing", where);
    if (!(c->decay >= 0)) return dy_fail(err, "%s: decay_factor: must be at least 0, got %g", where, c->decay);
    if (c->ctx_warmup < 0)
        return dy_fail(err, "%s: context_warmup_steps: must be at least 0, got %d", where, c->ctx_warmup);
    if (!c->interv_auto && c->interv_warmup < 0)
        return dy_fail(err, "%s: intervention_warmup: must be at least 0, got %d", where, c->interv_warmup);
    return 0;
}

int dy_dysco_check_prompt(const dy_dysco_config *c, int interv_warmup, int prompt_len, dy_error *err) {
    const long t = (long)c->ctx_warmup + interv_warmup;
    if (t < 1)
        return dy_fail(err, "prompt: context_warmup_steps + intervention_warmup is 0: DySCO holds back at least one "
                            "prompt token");
    if (t >= prompt_len)
        return dy_fail(err,
                       "prompt: context_warmup_steps %d + intervention_warmup %d leave no prefill for a %d-token prompt "
                       "(their sum must be below the prompt length)",
                       c->ctx_warmup, interv_warmup, prompt_len);
    return 0;
}

int dy_dysco_max_layer(const dy_dysco_config *c) {
    int m = -1;
    for (int i = 0; i < c->n_heads; i++)
        if (c->heads[i].layer > m) m = c->heads[i].layer;
    return m;
}

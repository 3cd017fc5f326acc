#include "dysco_config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "runtime/util/file_util.h"
#include "runtime/util/hash_map.h"

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
// The file is read as libyaml's stream of events, never built into a document, in two passes:
// the first checks every event against the rules below (so a syntax error or a broken rule
// anywhere is reported as such), the second reads the values and stops at the first wrong one
// (a key given a 1M-item list is refused at the list's first event, where the document loader
// first spent seconds building it). libyaml bounds nothing itself; these rules keep the work
// linear in the file's size:
//  - collections nest at most DY_DYSCO_MAX_YAML_DEPTH deep: libyaml's scanner pays O(depth) for
//    each token (100,000 nested '[' took 19 s). Its lookahead is at most 1024 characters, so
//    stopping at the first event past the limit leaves it O(limit + 1024) per token;
//  - anchors and aliases are refused: an alias lets a few bytes name a large list many times,
//    and libyaml's loader looked each anchor up among all earlier ones (O(anchors^2)). The
//    reference's configs use neither;
//  - a string holding a NUL (the "\0" escape) is refused, as C would cut it short, and so is a
//    NUL byte anywhere in the file (libyaml's reader refuses it; the error names its byte);
//  - no mapping names a key twice (PyYAML keeps the later value without a word: a second
//    `top_k` left further down a file would silently win). Keys compare by their text, each
//    mapping's in a hash table, so the check is linear too;
//  - the stream holds one document, as PyYAML's safe_load wants.
// libyaml leaves plain scalars untyped; they are resolved here as safe_load would for the values
// these files hold. Quoted scalars are always strings.

typedef struct {
    yaml_parser_t parser;
    yaml_event_t ev;  // the current event, when has_event
    bool has_event;
    int depth;  // collections open at ev
    const char *path;
    dy_error *err;
} reader;

static size_t line_of(const reader *r) { return r->ev.start_mark.line + 1; }

static const char *anchor_of(const yaml_event_t *e) {
    switch (e->type) {
    case YAML_SCALAR_EVENT: return (const char *)e->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT: return (const char *)e->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT: return (const char *)e->data.mapping_start.anchor;
    default: return NULL;
    }
}

// Moves to the next event and applies the rules above; -1 (err set) on a syntax error or a
// broken rule.
static int next_event(reader *r) {
    if (r->has_event) yaml_event_delete(&r->ev);
    r->has_event = yaml_parser_parse(&r->parser, &r->ev);
    const yaml_parser_t *p = &r->parser;
    const char *problem = p->problem ? p->problem : "parse error";
    // The reader's errors (a NUL byte, invalid UTF-8) come with the byte, not the line.
    if (!r->has_event && p->error == YAML_READER_ERROR && p->problem_value == 0)
        return dy_fail(r->err, "%s: not valid YAML: a NUL byte at byte %zu", r->path, p->problem_offset);
    if (!r->has_event && p->error == YAML_READER_ERROR)
        return dy_fail(r->err, "%s: not valid YAML: %s at byte %zu", r->path, problem, p->problem_offset);
    if (!r->has_event)
        return dy_fail(r->err, "%s: line %zu: not valid YAML: %s", r->path, p->problem_mark.line + 1, problem);
    const yaml_event_t *e = &r->ev;
    if (e->type == YAML_ALIAS_EVENT || anchor_of(e))
        return dy_fail(r->err, "%s: line %zu: anchors (&name) and aliases (*name) are not supported", r->path, line_of(r));
    if (e->type == YAML_SCALAR_EVENT && strlen((const char *)e->data.scalar.value) != e->data.scalar.length)
        return dy_fail(r->err, "%s: line %zu: a string holds a NUL character", r->path, line_of(r));
    if (e->type == YAML_SEQUENCE_START_EVENT || e->type == YAML_MAPPING_START_EVENT) {
        if (++r->depth > DY_DYSCO_MAX_YAML_DEPTH)
            return dy_fail(r->err, "%s: line %zu: nested deeper than %d", r->path, line_of(r), DY_DYSCO_MAX_YAML_DEPTH);
    } else if (e->type == YAML_SEQUENCE_END_EVENT || e->type == YAML_MAPPING_END_EVENT) {
        r->depth--;
    }
    return 0;
}

typedef struct {
    reader *r;
    const char *key;
} field;

// How much of a key an error line shows: up to 60 bytes, ending before a control character (a
// quoted key may hold a newline, and the error is one line).
static int shown_length(const char *key) {
    int n = 0;
    while (n < 60 && (unsigned char)key[n] >= 0x20) n++;
    return n;
}

static const char *text_of(const yaml_event_t *e) {
    return e->type == YAML_SCALAR_EVENT ? (const char *)e->data.scalar.value : "";
}

static bool is_plain(const yaml_event_t *e) {
    return e->type == YAML_SCALAR_EVENT && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_null(const yaml_event_t *e) {
    static const char *nulls[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (is_plain(e) && strcmp(text_of(e), nulls[i]) == 0) return true;
    return false;
}

// An optional sign and decimal digits (PyYAML's hex, octal and 1_000 forms are not used here).
static int scalar_int(const field *f, const yaml_event_t *e, int *out) {
    const char *s = is_plain(e) ? text_of(e) : "";
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (!all_digits(*s == '-' || *s == '+' ? s + 1 : s) || errno || v < INT_MIN || v > INT_MAX)
        return dy_fail(f->r->err, "%s: %s: expected an integer", f->r->path, f->key);
    *out = (int)v;
    return 0;
}

// A decimal number, integer or not (no .inf / .nan).
static int scalar_number(const field *f, const yaml_event_t *e, double *out) {
    const char *s = is_plain(e) ? text_of(e) : "";
    bool ok = strspn(s, "0123456789+-.eE") == strlen(s) && strpbrk(s, "0123456789");
    char *end = NULL;
    double v = ok ? strtod(s, &end) : 0;
    if (!ok || *end || !isfinite(v)) return dy_fail(f->r->err, "%s: %s: expected a number", f->r->path, f->key);
    *out = v;
    return 0;
}

static int scalar_bool(const field *f, const yaml_event_t *e, bool *out) {
    static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (size_t i = 0; is_plain(e) && i < sizeof yes / sizeof *yes; i++) {
        if (strcmp(text_of(e), yes[i]) == 0 || strcmp(text_of(e), no[i]) == 0) {
            *out = strcmp(text_of(e), yes[i]) == 0;
            return 0;
        }
    }
    return dy_fail(f->r->err, "%s: %s: expected true or false", f->r->path, f->key);
}

static int read_heads(const field *f, const yaml_event_t *e, dy_dysco_config *c) {
    char where[1200];
    snprintf(where, sizeof where, "%s: %s", f->r->path, f->key);
    if (e->type != YAML_SCALAR_EVENT)
        return dy_fail(f->r->err, "%s: expected a string such as \"[(21,31),(21,18)]\"", where);
    return dy_dysco_parse_heads(text_of(e), c, where, f->r->err);
}

static int read_interv_warmup(const field *f, const yaml_event_t *e, dy_dysco_config *c) {
    char where[1200];
    snprintf(where, sizeof where, "%s: %s", f->r->path, f->key);
    if (e->type != YAML_SCALAR_EVENT)
        return dy_fail(f->r->err, "%s: expected 'auto' or a non-negative integer", where);
    return dy_dysco_parse_interv_warmup(text_of(e), c, where, f->r->err);
}

// From the list's first event on: each entry a list of token ids, read up to its end.
static int read_templates(const field *f, dy_dysco_config *c) {
    reader *r = f->r;
    if (r->ev.type != YAML_SEQUENCE_START_EVENT)
        return dy_fail(r->err, "%s: %s: expected a list of token-id lists", r->path, f->key);
    int used = 0, count = 0;
    c->template_start[0] = 0;
    for (;;) {
        if (next_event(r)) return -1;
        if (r->ev.type == YAML_SEQUENCE_END_EVENT) break;
        if (count == DY_DYSCO_MAX_TEMPLATES)
            return dy_fail(r->err, "%s: %s: more than %d sequences", r->path, f->key, DY_DYSCO_MAX_TEMPLATES);
        if (r->ev.type != YAML_SEQUENCE_START_EVENT)
            return dy_fail(r->err, "%s: %s: entry %d: expected a list of token ids", r->path, f->key, count + 1);
        for (;;) {
            if (next_event(r)) return -1;
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
static int read_key(reader *r, dy_dysco_config *c) {
    if (r->ev.type != YAML_SCALAR_EVENT) return dy_fail(r->err, "%s: a key is not a plain name", r->path);
    int k = 0;
    while (k < N_KEYS && strcmp(text_of(&r->ev), key_names[k]) != 0) k++;
    if (k == N_KEYS) {
        // Room for every key, the longest being "scale_template_tokens", and its ", " separator.
        char known[N_KEYS * sizeof ", scale_template_tokens"] = "";
        for (int i = 0; i < N_KEYS; i++) {
            assert(strlen(key_names[i]) < sizeof "scale_template_tokens");
            if (i) strcat(known, ", ");
            strcat(known, key_names[i]);
        }
        return dy_fail(r->err, "%s: %.*s: unknown key (%s)", r->path, shown_length(text_of(&r->ev)), text_of(&r->ev), known);
    }
    if (next_event(r)) return -1;
    const field f = {r, key_names[k]};
    const yaml_event_t *v = &r->ev;
    if (is_null(v)) return 0;  // null is "absent" to run_eval's cfg.get(): the default stays
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

// A collection open in the first pass: a mapping has its keys so far (the value of each is its
// line) and whether its next node is a key's value.
typedef struct {
    bool is_mapping, value_next;
    dy_str_map keys;
} open_collection;

// The current event against the collections open around it (open[i] at depth i + 1): a scalar
// key already in its mapping is an error naming it and both lines. Opens or closes a collection
// as the event does.
static int check_key(reader *r, open_collection *open) {
    const yaml_event_t *e = &r->ev;
    const bool starts = e->type == YAML_SEQUENCE_START_EVENT || e->type == YAML_MAPPING_START_EVENT;
    if (e->type == YAML_SEQUENCE_END_EVENT || e->type == YAML_MAPPING_END_EVENT) {
        dy_str_map_free(&open[r->depth].keys);  // depth is already the parent's
        return 0;
    }
    if (!starts && e->type != YAML_SCALAR_EVENT) return 0;
    open_collection *in = r->depth - starts > 0 ? &open[r->depth - starts - 1] : NULL;
    const bool is_key = in && in->is_mapping && !in->value_next;
    if (in && in->is_mapping) in->value_next = is_key;
    if (is_key && e->type == YAML_SCALAR_EVENT) {
        const char *key = text_of(e);
        const size_t len = e->data.scalar.length;
        const int32_t first = dy_str_map_get(&in->keys, key, len);
        if (first >= 0)
            return dy_fail(r->err, "%s: line %zu: key \"%.*s\" appears twice in one mapping (first on line %d)", r->path,
                           line_of(r), shown_length(key), key, (int)first);
        if (dy_str_map_put(&in->keys, key, len, (int32_t)(line_of(r) < INT32_MAX ? line_of(r) : INT32_MAX)))
            return dy_fail(r->err, "%s: out of memory", r->path);
    }
    if (!starts) return 0;
    open_collection *opened = &open[r->depth - 1];
    *opened = (open_collection){.is_mapping = e->type == YAML_MAPPING_START_EVENT};
    return opened->is_mapping && dy_str_map_init(&opened->keys, 16) ? dy_fail(r->err, "%s: out of memory", r->path) : 0;
}

// The first pass: every event of the stream, through the rules.
static int check_stream(reader *r) {
    open_collection open[DY_DYSCO_MAX_YAML_DEPTH] = {0};  // next_event refuses deeper nesting
    int documents = 0, rc = 0;
    do {
        rc = next_event(r) || check_key(r, open) ? -1 : 0;
        if (rc == 0 && r->ev.type == YAML_DOCUMENT_START_EVENT && ++documents > 1)
            rc = dy_fail(r->err, "%s: line %zu: a second YAML document (one mapping of settings expected)", r->path,
                         line_of(r));
    } while (rc == 0 && r->ev.type != YAML_STREAM_END_EVENT);
    for (int d = 0; d < DY_DYSCO_MAX_YAML_DEPTH; d++) dy_str_map_free(&open[d].keys);
    return rc;
}

// The second pass: the document's mapping, key by key.
static int read_settings(reader *r, dy_dysco_config *c) {
    if (next_event(r) || next_event(r)) return -1;  // the stream's start, then a document's or the stream's end
    if (r->ev.type == YAML_DOCUMENT_START_EVENT && next_event(r)) return -1;  // the document's root
    if (r->ev.type == YAML_STREAM_END_EVENT || is_null(&r->ev))
        return dy_fail(r->err, "%s: empty, expected a mapping of DySCO settings", r->path);
    if (r->ev.type != YAML_MAPPING_START_EVENT) return dy_fail(r->err, "%s: expected a mapping of DySCO settings", r->path);
    for (;;) {
        if (next_event(r)) return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT) return 0;
        if (read_key(r, c)) return -1;
    }
}

// One pass over the file's text: the first (check_stream) or, with values, the second.
static int read_pass(const char *path, const char *text, size_t len, dy_dysco_config *c, dy_error *err, bool values) {
    reader r = {.path = path, .err = err};
    if (!yaml_parser_initialize(&r.parser)) return dy_fail(err, "%s: out of memory", path);
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    const int rc = values ? read_settings(&r, c) : check_stream(&r);
    if (r.has_event) yaml_event_delete(&r.ev);
    yaml_parser_delete(&r.parser);
    return rc;
}

int dy_dysco_config_load(const char *path, dy_dysco_config *c, dy_error *err) {
    dy_dysco_config_defaults(c);
    size_t len;
    char *text = dy_read_file(path, &len, err);
    if (!text) return -1;
    const int rc = read_pass(path, text, len, c, err, false) || read_pass(path, text, len, c, err, true) ? -1 : 0;
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

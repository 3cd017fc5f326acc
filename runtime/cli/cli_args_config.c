// A run config (--config FILE): a YAML mapping of a verb's options. Each key is an option's name
// without the leading "--", with '_' or '-' between words (max_tokens, run_eval.py's spelling,
// and max-tokens, the command line's, both name --max-tokens), so the file names the rows of the
// verb's own table and no second list of options exists. A value is what the option takes on the
// command line, through the same checks; a flag takes true or false (false: as if not given, or
// for a --no-X row the opposite); null keeps the default. The file is read under
// runtime/util/yaml_reader.h's rules, and its first mistake is one line naming the file and the
// key: an unknown key, a list or mapping where the option takes one value, a quoted number, a
// value the option refuses, two spellings of one option.
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "runtime/util/file_util.h"
#include "runtime/util/yaml_reader.h"

typedef struct {
    const dy_args_spec *spec;
    dy_yaml_reader r;
    size_t *line_of_row;  // per row: the line of the key that set it, 0 before
} loading;

// The row a key names: "--" and the key with '_' as '-'; NULL when none does.
static const dy_option *row_of(const dy_args_spec *spec, const char *key) {
    char name[80] = "--";
    const size_t n = strlen(key);
    if (n + 3 > sizeof name) return NULL;  // longer than any option's name
    for (size_t i = 0; i <= n; i++) name[2 + i] = key[i] == '_' ? '-' : key[i];
    return dy_args_find(spec, name);
}

static const char *what_it_takes(const dy_option *o) {
    return o->flag ? "true or false" : o->string ? "a string" : o->integer ? "an integer" : "a number";
}

// The copy a string destination points to, kept until dy_args_config_free.
static const char *keep_copy(dy_args_config *c, const char *text) {
    char **grown = realloc(c->strings, (size_t)(c->n_strings + 1) * sizeof *grown);
    if (!grown) return NULL;
    c->strings = grown;
    const size_t len = strlen(text) + 1;
    char *copy = malloc(len);
    if (copy) memcpy(copy, text, len);
    return copy ? (c->strings[c->n_strings++] = copy) : NULL;
}

// The current event, the value of row o; where is "FILE: KEY".
static int read_value(loading *l, const dy_option *o, const char *where) {
    const yaml_event_t *v = &l->r.ev;
    dy_error *err = l->r.err;
    const char *text = dy_yaml_text(v);
    if (v->type != YAML_SCALAR_EVENT)
        return dy_fail(err, "%s: expected %s, not a %s", where, what_it_takes(o),
                       v->type == YAML_SEQUENCE_START_EVENT ? "list" : "mapping");
    if (dy_yaml_is_null(v)) return 0;  // "absent", as a DySCO config's null
    // Quoted scalars are strings (as YAML types them): "64" is no number, "true" no boolean.
    if (!o->string && !dy_yaml_is_plain(v))
        return dy_fail(err, "%s: expected %s, got a quoted string", where, what_it_takes(o));
    if (o->flag) {
        bool on;
        if (!dy_yaml_bool(v, &on))
            return dy_fail(err, "%s: expected true or false, got '%.*s'", where, dy_yaml_shown_length(text), text);
        dy_args_store_flag(o, on);
        return 0;
    }
    if (!o->string) return dy_args_store(o, where, text, err);  // a number's text is parsed now, never pointed to
    const char *copy = keep_copy(l->spec->config, text);
    return copy ? dy_args_store(o, where, copy, err) : dy_fail(err, "%s: out of memory", where);
}

// From the key's event on: the key and its value.
static int read_key(loading *l) {
    dy_yaml_reader *r = &l->r;
    const dy_args_spec *spec = l->spec;
    if (r->ev.type != YAML_SCALAR_EVENT)
        return dy_fail(r->err, "%s: line %zu: a key is not an option's name", r->path, dy_yaml_line(r));
    const char *key = dy_yaml_text(&r->ev);
    const dy_option *o = row_of(spec, key);
    char where[1200];
    snprintf(where, sizeof where, "%s: %.*s", r->path, dy_yaml_shown_length(key), key);
    if (!o)
        return dy_fail(r->err,
                       "%s: unknown key (the keys are dysco %s's options without the leading --; see dysco %s --help)",
                       where, spec->verb, spec->verb);
    if (strcmp(o->name, spec->config->option) == 0)
        return dy_fail(r->err, "%s: a run config cannot name another (give %s on the command line)", where, o->name);
    size_t *first = &l->line_of_row[o - spec->options];
    if (*first)
        return dy_fail(r->err, "%s: line %zu: %s again (first on line %zu; '_' and '-' spell the same option)", where,
                       dy_yaml_line(r), o->name, *first);
    *first = dy_yaml_line(r);
    return dy_yaml_next(r) || read_value(l, o, where) ? -1 : 0;
}

// The document's root: a mapping of options, or nothing (an empty file holds no options).
static int read_options(loading *l) {
    dy_yaml_reader *r = &l->r;
    if (dy_yaml_root(r)) return -1;
    if (r->ev.type == YAML_STREAM_END_EVENT || dy_yaml_is_null(&r->ev)) return 0;
    if (r->ev.type != YAML_MAPPING_START_EVENT)
        return dy_fail(r->err, "%s: expected a mapping of dysco %s options (KEY: VALUE lines)", r->path, l->spec->verb);
    for (;;) {
        if (dy_yaml_next(r)) return -1;
        if (r->ev.type == YAML_MAPPING_END_EVENT) return 0;
        if (read_key(l)) return -1;
    }
}

int dy_args_config_load(const dy_args_spec *spec, const char *path, dy_error *err) {
    size_t len;
    char *text = dy_read_file(path, &len, err);
    if (!text) return -1;
    loading l = {.spec = spec, .line_of_row = calloc((size_t)spec->n_options, sizeof *l.line_of_row)};
    int rc = l.line_of_row ? dy_yaml_check(path, text, len, err) : dy_fail(err, "%s: out of memory", path);
    if (rc == 0) {
        rc = dy_yaml_open(&l.r, path, text, len, err) || read_options(&l) ? -1 : 0;
        dy_yaml_close(&l.r);
    }
    free(l.line_of_row);
    free(text);
    return rc;
}

void dy_args_config_free(dy_args_config *c) {
    for (int i = 0; i < c->n_strings; i++) free(c->strings[i]);
    free(c->strings);
    c->strings = NULL;
    c->n_strings = 0;
}

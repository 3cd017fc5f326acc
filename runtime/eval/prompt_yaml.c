#include "prompt_yaml.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "runtime/util/file_util.h"

enum { MAX_DEPTH = 32 };

typedef struct {
    yaml_parser_t parser;
    yaml_event_t ev;
    bool has_event;
    const char *path;
    dy_error *err;
} events;

static int next(events *e) {
    if (e->has_event) yaml_event_delete(&e->ev);
    e->has_event = yaml_parser_parse(&e->parser, &e->ev);
    if (!e->has_event)
        return dy_fail(e->err, "%s: line %zu: not valid YAML: %s", e->path, e->parser.problem_mark.line + 1,
                       e->parser.problem ? e->parser.problem : "parse error");
    if (e->ev.type == YAML_ALIAS_EVENT)
        return dy_fail(e->err, "%s: line %zu: aliases (*name) are not supported", e->path, e->ev.start_mark.line + 1);
    return 0;
}

static bool opens(const yaml_event_t *ev) {
    return ev->type == YAML_SEQUENCE_START_EVENT || ev->type == YAML_MAPPING_START_EVENT;
}

// Skips the value whose first event is current (a scalar, or a whole collection).
static int skip_value(events *e) {
    for (int depth = opens(&e->ev); depth > 0;) {
        if (next(e)) return -1;
        if (opens(&e->ev) && ++depth > MAX_DEPTH)
            return dy_fail(e->err, "%s: line %zu: nested deeper than %d", e->path, e->ev.start_mark.line + 1, MAX_DEPTH);
        if (e->ev.type == YAML_SEQUENCE_END_EVENT || e->ev.type == YAML_MAPPING_END_EVENT) depth--;
    }
    return 0;
}

static int find(events *e, const char *key, char **out) {
    if (next(e) || next(e)) return -1;  // the stream's start, then the document's (or the stream's end)
    if (e->ev.type != YAML_DOCUMENT_START_EVENT) return dy_fail(e->err, "%s: empty (expected a mapping with %s)", e->path, key);
    if (next(e)) return -1;
    if (e->ev.type != YAML_MAPPING_START_EVENT) return dy_fail(e->err, "%s: expected a mapping (with %s)", e->path, key);
    for (;;) {
        if (next(e)) return -1;
        if (e->ev.type == YAML_MAPPING_END_EVENT) return dy_fail(e->err, "%s: %s: missing", e->path, key);
        const bool wanted = e->ev.type == YAML_SCALAR_EVENT && strcmp((const char *)e->ev.data.scalar.value, key) == 0;
        if (skip_value(e) || next(e)) return -1;  // past the key, to its value
        if (!wanted) {
            if (skip_value(e)) return -1;
            continue;
        }
        if (e->ev.type != YAML_SCALAR_EVENT) return dy_fail(e->err, "%s: %s: expected a string", e->path, key);
        const yaml_event_t *v = &e->ev;
        if (strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
            return dy_fail(e->err, "%s: line %zu: %s: the string holds a NUL character", e->path, v->start_mark.line + 1, key);
        if (!(*out = strdup((const char *)v->data.scalar.value))) return dy_fail(e->err, "%s: out of memory", e->path);
        break;
    }
    // The rest of the stream must parse too, and hold no second document (safe_load's rule).
    int rc = 0;
    while (rc == 0 && e->ev.type != YAML_STREAM_END_EVENT)
        if ((rc = next(e)) == 0 && e->ev.type == YAML_DOCUMENT_START_EVENT)
            rc = dy_fail(e->err, "%s: line %zu: a second YAML document", e->path, e->ev.start_mark.line + 1);
    if (rc == 0) return 0;
    free(*out);
    *out = NULL;
    return -1;
}

int dy_prompt_yaml_string(const char *path, const char *key, char **out, dy_error *err) {
    *out = NULL;
    size_t len;
    char *text = dy_read_file(path, &len, err);
    if (!text) return -1;
    events e = {.path = path, .err = err};
    int rc;
    if (!yaml_parser_initialize(&e.parser)) {
        rc = dy_fail(err, "%s: out of memory", path);
    } else {
        yaml_parser_set_input_string(&e.parser, (const unsigned char *)text, len);
        rc = find(&e, key, out);
        if (e.has_event) yaml_event_delete(&e.ev);
        yaml_parser_delete(&e.parser);
    }
    free(text);
    return rc;
}

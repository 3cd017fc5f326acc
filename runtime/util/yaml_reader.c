#include "yaml_reader.h"

#include <string.h>

#include "hash_map.h"

// libyaml bounds nothing itself; these rules keep the work linear in the file's size:
//  - collections nest at most DY_YAML_MAX_DEPTH deep: libyaml's scanner pays O(depth) for each
//    token (100,000 nested '[' took 19 s). Its lookahead is at most 1024 characters, so stopping
//    at the first event past the limit leaves it O(limit + 1024) per token;
//  - anchors and aliases are refused: an alias lets a few bytes name a large list many times,
//    and libyaml's loader looked each anchor up among all earlier ones (O(anchors^2)). The
//    reference's configs use neither;
//  - a string holding a NUL (the "\0" escape) is refused, as C would cut it short, and so is a
//    NUL byte anywhere in the file (libyaml's reader refuses it; the error names its byte);
//  - no mapping names a key twice (PyYAML keeps the later value without a word: a second
//    `top_k` left further down a file would silently win). Keys compare by their text, each
//    mapping's in a hash table, so the check is linear too;
//  - the stream holds one document, as PyYAML's safe_load wants.
// Reading values in a second pass lets a reader stop at the first wrong one (a key given a
// 1M-item list is refused at the list's first event, where the document loader first spent
// seconds building it) while the first pass still reports a syntax error anywhere as such.

size_t dy_yaml_line(const dy_yaml_reader *r) { return r->ev.start_mark.line + 1; }

static const char *anchor_of(const yaml_event_t *e) {
    switch (e->type) {
    case YAML_SCALAR_EVENT: return (const char *)e->data.scalar.anchor;
    case YAML_SEQUENCE_START_EVENT: return (const char *)e->data.sequence_start.anchor;
    case YAML_MAPPING_START_EVENT: return (const char *)e->data.mapping_start.anchor;
    default: return NULL;
    }
}

int dy_yaml_next(dy_yaml_reader *r) {
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
        return dy_fail(r->err, "%s: line %zu: anchors (&name) and aliases (*name) are not supported", r->path,
                       dy_yaml_line(r));
    if (e->type == YAML_SCALAR_EVENT && strlen((const char *)e->data.scalar.value) != e->data.scalar.length)
        return dy_fail(r->err, "%s: line %zu: a string holds a NUL character", r->path, dy_yaml_line(r));
    if (e->type == YAML_SEQUENCE_START_EVENT || e->type == YAML_MAPPING_START_EVENT) {
        if (++r->depth > DY_YAML_MAX_DEPTH)
            return dy_fail(r->err, "%s: line %zu: nested deeper than %d", r->path, dy_yaml_line(r), DY_YAML_MAX_DEPTH);
    } else if (e->type == YAML_SEQUENCE_END_EVENT || e->type == YAML_MAPPING_END_EVENT) {
        r->depth--;
    }
    return 0;
}

int dy_yaml_open(dy_yaml_reader *r, const char *path, const char *text, size_t len, dy_error *err) {
    *r = (dy_yaml_reader){.path = path, .err = err};
    if (!yaml_parser_initialize(&r->parser)) return dy_fail(err, "%s: out of memory", path);
    yaml_parser_set_input_string(&r->parser, (const unsigned char *)text, len);
    return 0;
}

void dy_yaml_close(dy_yaml_reader *r) {
    if (r->has_event) yaml_event_delete(&r->ev);
    r->has_event = false;
    yaml_parser_delete(&r->parser);
}

int dy_yaml_root(dy_yaml_reader *r) {
    if (dy_yaml_next(r) || dy_yaml_next(r)) return -1;  // the stream's start, then a document's or the stream's end
    return r->ev.type == YAML_DOCUMENT_START_EVENT ? dy_yaml_next(r) : 0;
}

const char *dy_yaml_text(const yaml_event_t *e) {
    return e->type == YAML_SCALAR_EVENT ? (const char *)e->data.scalar.value : "";
}

bool dy_yaml_is_plain(const yaml_event_t *e) {
    return e->type == YAML_SCALAR_EVENT && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool dy_yaml_is_null(const yaml_event_t *e) {
    static const char *nulls[] = {"", "~", "null", "Null", "NULL"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (dy_yaml_is_plain(e) && strcmp(dy_yaml_text(e), nulls[i]) == 0) return true;
    return false;
}

bool dy_yaml_bool(const yaml_event_t *e, bool *out) {
    static const char *yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"};
    static const char *no[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"};
    for (size_t i = 0; dy_yaml_is_plain(e) && i < sizeof yes / sizeof *yes; i++) {
        if (strcmp(dy_yaml_text(e), yes[i]) == 0 || strcmp(dy_yaml_text(e), no[i]) == 0) {
            *out = strcmp(dy_yaml_text(e), yes[i]) == 0;
            return true;
        }
    }
    return false;
}

int dy_yaml_shown_length(const char *key) {
    int n = 0;
    while (n < 60 && (unsigned char)key[n] >= 0x20) n++;
    return n;
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
static int check_key(dy_yaml_reader *r, open_collection *open) {
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
        const char *key = dy_yaml_text(e);
        const size_t len = e->data.scalar.length;
        const int32_t first = dy_str_map_get(&in->keys, key, len);
        if (first >= 0)
            return dy_fail(r->err, "%s: line %zu: key \"%.*s\" appears twice in one mapping (first on line %d)", r->path,
                           dy_yaml_line(r), dy_yaml_shown_length(key), key, (int)first);
        const size_t line = dy_yaml_line(r);
        if (dy_str_map_put(&in->keys, key, len, (int32_t)(line < INT32_MAX ? line : INT32_MAX)))
            return dy_fail(r->err, "%s: out of memory", r->path);
    }
    if (!starts) return 0;
    open_collection *opened = &open[r->depth - 1];
    *opened = (open_collection){.is_mapping = e->type == YAML_MAPPING_START_EVENT};
    return opened->is_mapping && dy_str_map_init(&opened->keys, 16) ? dy_fail(r->err, "%s: out of memory", r->path) : 0;
}

int dy_yaml_check(const char *path, const char *text, size_t len, dy_error *err) {
    dy_yaml_reader r;
    if (dy_yaml_open(&r, path, text, len, err)) return -1;
    open_collection open[DY_YAML_MAX_DEPTH] = {0};  // dy_yaml_next refuses deeper nesting
    int documents = 0, rc = 0;
    do {
        rc = dy_yaml_next(&r) || check_key(&r, open) ? -1 : 0;
        if (rc == 0 && r.ev.type == YAML_DOCUMENT_START_EVENT && ++documents > 1)
            rc = dy_fail(err, "%s: line %zu: a second YAML document (one mapping of settings expected)", path,
                         dy_yaml_line(&r));
    } while (rc == 0 && r.ev.type != YAML_STREAM_END_EVENT);
    for (int d = 0; d < DY_YAML_MAX_DEPTH; d++) dy_str_map_free(&open[d].keys);
    dy_yaml_close(&r);
    return rc;
}

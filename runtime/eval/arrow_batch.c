// A RecordBatch message and its body into rows: the field nodes and buffers of every column in
// the schema's depth-first order (Arrow's columnar format), each checked against the body before
// a value is read, then one JSON object per row.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_format.h"
#include "runtime/util/utf8.h"

// Message.fbs: RecordBatch {length, nodes: [FieldNode], buffers: [Buffer], compression};
// FieldNode {length: long, null_count: long} and Buffer {offset: long, length: long}, 16 bytes.
enum { BATCH_LENGTH = 0, BATCH_NODES = 1, BATCH_BUFFERS = 2, BATCH_COMPRESSION = 3 };
#define STRUCT_BYTES 16

// The largest magnitude of an integer that a JSON number (a double) holds exactly.
#define MAX_EXACT_INT 9007199254740992LL

typedef struct column {
    const dy_arrow_field *field;
    const char *what;  // "row" (top-level) or "value" (items), for messages
    int64_t length;
    const unsigned char *validity;  // NULL when the column has no nulls
    const unsigned char *offsets;   // strings and lists: length + 1 offsets; NULL when length is 0
    const unsigned char *values;    // bits, fixed-width values or string bytes
    size_t values_len;
    struct column *child;  // a list's items
} column;

typedef struct {
    dy_fb *fb;
    dy_fb_vector nodes, buffers;
    size_t next_node, next_buffer;
    const unsigned char *body;
    size_t body_len;
    size_t buffers_end;  // where the last non-empty buffer ends: buffers lie in order, apart
    column *columns;     // one per node
    char *scratch;       // a NUL-terminated copy of the string being made
    size_t scratch_cap;
    char *why;
    size_t n;
} reader;

static int64_t load_i64(const unsigned char *p) { return (int64_t)dy_le_load(p, 8); }
static int32_t load_i32(const unsigned char *p) { return (int32_t)(uint32_t)dy_le_load(p, 4); }

static int fail(reader *r, const char *fmt, const char *where, long long at) {
    snprintf(r->why, r->n, fmt, where, at);
    return -1;
}

// Whether a buffer of have bytes holds count entries of width bytes (width 0: bits).
static int holds(size_t have, int64_t count, int width) {
    if (width == 0) return (uint64_t)count / 8 + (count % 8 != 0) <= have;
    return (uint64_t)count <= have / (size_t)width;
}

static int offset_width(dy_arrow_type t) {
    return t == DY_ARROW_LARGE_UTF8 || t == DY_ARROW_LARGE_LIST ? 8 : 4;
}

static int64_t offset_at(const column *c, int64_t i) {
    const int w = offset_width(c->field->type);
    return w == 8 ? load_i64(c->offsets + 8 * i) : load_i32(c->offsets + 4 * i);
}

// The next buffer of the batch, checked to lie in the body after the previous one.
static int take_buffer(reader *r, const char *where, const unsigned char **p, size_t *len) {
    const size_t at = r->buffers.at + STRUCT_BYTES * r->next_buffer++;
    const int64_t offset = (int64_t)dy_fb_load(r->fb, at, 8), length = (int64_t)dy_fb_load(r->fb, at + 8, 8);
    if (offset < 0 || length < 0 || (uint64_t)offset > r->body_len || (uint64_t)length > r->body_len - (uint64_t)offset)
        return fail(r, "column %s: a buffer beyond the message body (buffer %lld)", where, (long long)r->next_buffer - 1);
    if (length > 0 && (size_t)offset < r->buffers_end)
        return fail(r, "column %s: buffers overlap or are out of order (buffer %lld)", where, (long long)r->next_buffer - 1);
    if (length > 0) r->buffers_end = (size_t)(offset + length);
    *p = r->body + offset;
    *len = (size_t)length;
    return 0;
}

// Offsets that never decrease, from at least 0 to at most limit.
static int check_offsets(reader *r, const column *c, int64_t limit) {
    int64_t prev = 0;
    for (int64_t i = 0; c->offsets && i <= c->length; i++) {
        const int64_t o = offset_at(c, i);
        if (o < prev) return fail(r, "column %s: offsets decrease (or start below 0) at offset %lld", c->field->where, i);
        if (o > limit) return fail(r, "column %s: offset %lld points past the column's data", c->field->where, i);
        prev = o;
    }
    return 0;
}

// The column's node and buffers, and its child's, checked; length is the batch's rows for a
// top-level column (-1 for an item column, whose length is its own).
static int read_column(reader *r, const dy_arrow_field *f, int64_t length, column *c) {
    const size_t at = r->nodes.at + STRUCT_BYTES * r->next_node++;
    *c = (column){.field = f, .what = length >= 0 ? "row" : "value", .length = (int64_t)dy_fb_load(r->fb, at, 8)};
    const int64_t null_count = (int64_t)dy_fb_load(r->fb, at + 8, 8);
    if (c->length < 0 || null_count < 0 || null_count > c->length)
        return fail(r, "column %s: a field node of length %lld with a bad null count", f->where, c->length);
    if (length >= 0 && c->length != length) {
        snprintf(r->why, r->n, "column %s: %lld values in a batch of %lld rows", f->where, (long long)c->length, (long long)length);
        return -1;
    }
    const unsigned char *validity, *offsets = NULL;
    size_t validity_len, offsets_len = 0;
    if (take_buffer(r, f->where, &validity, &validity_len)) return -1;
    // A column without nulls may omit its bitmap; Arrow readers ignore one that is there.
    if (null_count > 0) {
        if (!holds(validity_len, c->length, 0)) return fail(r, "column %s: a validity bitmap shorter than its %lld values", f->where, c->length);
        c->validity = validity;
    }
    const int nested = f->type == DY_ARROW_LIST || f->type == DY_ARROW_LARGE_LIST;
    const int has_offsets = nested || f->type == DY_ARROW_UTF8 || f->type == DY_ARROW_LARGE_UTF8;
    if (has_offsets) {
        if (take_buffer(r, f->where, &offsets, &offsets_len)) return -1;
        // An empty column may leave out its offsets (the one offset 0).
        if (c->length > 0 || offsets_len > 0) {
            if (!holds(offsets_len, c->length + 1, offset_width(f->type)))
                return fail(r, "column %s: an offsets buffer shorter than its %lld values", f->where, c->length);
            c->offsets = offsets;
        }
    }
    if (nested) {
        c->child = c + 1;
        if (read_column(r, f->child, -1, c->child)) return -1;
        return check_offsets(r, c, c->child->length);
    }
    if (take_buffer(r, f->where, &c->values, &c->values_len)) return -1;
    if (has_offsets) return check_offsets(r, c, (int64_t)c->values_len);
    const int width = f->type == DY_ARROW_BOOL ? 0 : f->type == DY_ARROW_INT32 ? 4 : 8;
    if (!holds(c->values_len, c->length, width)) return fail(r, "column %s: a data buffer shorter than its %lld values", f->where, c->length);
    return 0;
}

// String i of c as JSON, or NULL with why (out of memory when why is empty).
static cJSON *string_value(reader *r, const column *c, int64_t i, const char *what) {
    const int64_t start = offset_at(c, i), len = offset_at(c, i + 1) - start;
    const unsigned char *s = c->values + start;
    for (int64_t k = 0; k < len;) {
        int prefix;
        const int seq = s[k] ? dy_utf8_sequence(s + k, (size_t)(len - k), &prefix) : 0;
        if (!seq) {
            snprintf(r->why, r->n, "column %s: %s %lld: %s at byte %lld of the string", c->field->where, what, (long long)i,
                     s[k] ? "not UTF-8" : "a NUL byte", (long long)k);
            return NULL;
        }
        k += seq;
    }
    if ((size_t)len >= r->scratch_cap) {
        char *grown = realloc(r->scratch, (size_t)len + 1);
        if (!grown) return NULL;
        r->scratch = grown;
        r->scratch_cap = (size_t)len + 1;
    }
    memcpy(r->scratch, s, (size_t)len);
    r->scratch[len] = 0;
    return cJSON_CreateString(r->scratch);
}

// Value i of c as JSON, or NULL with why (out of memory when why is empty).
static cJSON *value(reader *r, const column *c, int64_t i) {
    const char *what = c->what;
    if (c->validity && !(c->validity[i / 8] >> (i % 8) & 1)) return cJSON_CreateNull();
    switch (c->field->type) {
    case DY_ARROW_BOOL:
        return cJSON_CreateBool(c->values[i / 8] >> (i % 8) & 1);
    case DY_ARROW_INT32:
        return cJSON_CreateNumber(load_i32(c->values + 4 * i));
    case DY_ARROW_INT64: {
        const int64_t v = load_i64(c->values + 8 * i);
        if (v > MAX_EXACT_INT || v < -MAX_EXACT_INT) {
            snprintf(r->why, r->n, "column %s: %s %lld: %lld is beyond 2^53, which a JSON number does not hold exactly",
                     c->field->where, what, (long long)i, (long long)v);
            return NULL;
        }
        return cJSON_CreateNumber((double)v);
    }
    case DY_ARROW_FLOAT64: {
        const uint64_t bits = dy_le_load(c->values + 8 * i, 8);
        double v;
        memcpy(&v, &bits, sizeof v);
        if (!isfinite(v)) {
            snprintf(r->why, r->n, "column %s: %s %lld: %g has no JSON number", c->field->where, what, (long long)i, v);
            return NULL;
        }
        return cJSON_CreateNumber(v);
    }
    case DY_ARROW_UTF8:
    case DY_ARROW_LARGE_UTF8:
        return string_value(r, c, i, what);
    case DY_ARROW_LIST:
    case DY_ARROW_LARGE_LIST: {
        cJSON *list = cJSON_CreateArray();
        for (int64_t j = offset_at(c, i), end = offset_at(c, i + 1); list && j < end; j++) {
            cJSON *item = value(r, c->child, j);
            if (!item) {
                cJSON_Delete(list);
                return NULL;
            }
            cJSON_AddItemToArray(list, item);
        }
        return list;
    }
    }
    return NULL;
}

// The field nodes of a top-level column: its own and its items' (a list has one child).
static size_t nodes_of(const dy_arrow_field *f) {
    size_t n = 0;
    for (; f; f = f->child) n++;
    return n;
}

static int add_rows(reader *r, const dy_arrow_schema *s, int64_t length, cJSON *rows) {
    for (int64_t i = 0; i < length; i++) {
        cJSON *row = cJSON_CreateObject();
        for (size_t k = 0, node = 0; row && k < s->n_fields; k++) {
            cJSON *v = value(r, &r->columns[node], i);
            if (!v) {
                cJSON_Delete(row);
                row = NULL;
                break;
            }
            cJSON_AddItemToObject(row, s->fields[k].name, v);
            node += nodes_of(&s->fields[k]);
        }
        if (!row) {
            if (!r->why[0]) snprintf(r->why, r->n, "out of memory");
            return -1;
        }
        cJSON_AddItemToArray(rows, row);
    }
    return 0;
}

int dy_arrow_batch_read(dy_fb *fb, const dy_fb_table *batch, const unsigned char *body, size_t body_len,
                        const dy_arrow_schema *s, cJSON *rows, char *why, size_t n) {
    why[0] = 0;
    if (dy_fb_present(batch, BATCH_COMPRESSION) && dy_fb_table_at(fb, batch, BATCH_COMPRESSION).at)
        return snprintf(why, n, "compressed arrow buffers are not supported"), -1;
    reader r = {.fb = fb, .body = body, .body_len = body_len, .why = why, .n = n};
    const int64_t length = (int64_t)dy_fb_scalar(fb, batch, BATCH_LENGTH, 8, 0);
    r.nodes = dy_fb_vector_at(fb, batch, BATCH_NODES, STRUCT_BYTES);
    r.buffers = dy_fb_vector_at(fb, batch, BATCH_BUFFERS, STRUCT_BYTES);
    if (fb->problem) return snprintf(why, n, "metadata: %s", fb->problem), -1;
    if (length < 0) return snprintf(why, n, "a negative row count"), -1;
    if (r.nodes.n != s->n_nodes || r.buffers.n != s->n_buffers)
        return snprintf(why, n, "%zu field nodes and %zu buffers, the schema's columns have %zu and %zu", r.nodes.n,
                        r.buffers.n, s->n_nodes, s->n_buffers), -1;
    if (!(r.columns = calloc(s->n_nodes, sizeof *r.columns))) return snprintf(why, n, "out of memory"), -1;
    int rc = 0;
    for (size_t k = 0, node = 0; !rc && k < s->n_fields; k++) {
        rc = read_column(&r, &s->fields[k], length, &r.columns[node]);
        node += nodes_of(&s->fields[k]);
    }
    if (!rc) rc = add_rows(&r, s, length, rows);
    free(r.columns);
    free(r.scratch);
    return rc;
}

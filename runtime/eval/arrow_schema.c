// Arrow's Schema message (Schema.fbs) into the reader's columns: the supported types, their
// nesting, and how many field nodes and buffers each record batch must then carry.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_format.h"
#include "runtime/util/utf8.h"

// Schema.fbs's slots: Schema {endianness, fields, ...}, Field {name, nullable, type_type, type,
// dictionary, children, ...}, Int {bitWidth, is_signed}, FloatingPoint {precision}.
enum { SCHEMA_ENDIANNESS = 0, SCHEMA_FIELDS = 1 };
enum { FIELD_NAME = 0, FIELD_TYPE_TYPE = 2, FIELD_TYPE = 3, FIELD_DICTIONARY = 4, FIELD_CHILDREN = 5 };
enum { INT_BIT_WIDTH = 0, INT_IS_SIGNED = 1, FLOAT_PRECISION = 0, PRECISION_DOUBLE = 2 };

// Bounds on what a schema may declare (Hugging Face datasets have a few short column names): the
// duplicate-name check is quadratic in the columns, and every row copies every name as its key,
// so a name's length multiplies the memory a one-bit value of the body costs.
#define MAX_COLUMNS 4096
#define MAX_NAME_BYTES 256

// The Type union's member names (Schema.fbs order), for "type X is not supported".
static const char *const TYPE_NAMES[] = {
    "NONE", "Null", "Int", "FloatingPoint", "Binary", "Utf8", "Bool", "Decimal", "Date", "Time",
    "Timestamp", "Interval", "List", "Struct_", "Union", "FixedSizeBinary", "FixedSizeList", "Map",
    "Duration", "LargeBinary", "LargeUtf8", "LargeList", "RunEndEncoded", "BinaryView", "Utf8View",
    "ListView", "LargeListView",
};
enum { TYPE_INT = 2, TYPE_FLOAT = 3, TYPE_UTF8 = 5, TYPE_BOOL = 6, TYPE_LIST = 12, TYPE_LARGE_UTF8 = 20, TYPE_LARGE_LIST = 21 };

static void field_free(dy_arrow_field *f) {
    if (!f) return;
    field_free(f->child);
    free(f->child);
    free(f->name);
    free(f->where);
}

static char *copy(const char *s, size_t n) {
    char *c = malloc(n + 1);
    if (c) {
        memcpy(c, s, n);
        c[n] = 0;
    }
    return c;
}

// Why name (n bytes) cannot be a JSON key that error lines name, NULL when it can: UTF-8 without
// control characters (a newline would break the one-line message).
static const char *name_problem(const char *name, size_t n) {
    if (n > MAX_NAME_BYTES) return "a column name longer than 256 bytes";
    for (size_t i = 0; i < n;) {
        const unsigned char c = (unsigned char)name[i];
        int prefix;
        const int k = c >= 0x20 && c != 0x7f ? dy_utf8_sequence((const unsigned char *)name + i, n - i, &prefix) : 0;
        if (!k) return "a column name that is not UTF-8 text without control characters";
        i += (size_t)k;
    }
    return NULL;
}

// The supported type of a Type union member, or -1 with why.
static int field_type(dy_fb *fb, const dy_fb_table *f, dy_arrow_type *type, char *why, size_t n) {
    const unsigned tag = (unsigned)dy_fb_scalar(fb, f, FIELD_TYPE_TYPE, 1, 0);
    const dy_fb_table t = dy_fb_table_at(fb, f, FIELD_TYPE);
    if (tag == TYPE_INT) {
        const long bits = (long)(int32_t)dy_fb_scalar(fb, &t, INT_BIT_WIDTH, 4, 0);
        const int is_signed = (int)dy_fb_scalar(fb, &t, INT_IS_SIGNED, 1, 0);
        if (is_signed && (bits == 32 || bits == 64)) {
            *type = bits == 32 ? DY_ARROW_INT32 : DY_ARROW_INT64;
            return 0;
        }
        snprintf(why, n, "type %sint%ld is not supported (int32, int64)", is_signed ? "" : "u", bits);
        return -1;
    }
    if (tag == TYPE_FLOAT) {
        if (dy_fb_scalar(fb, &t, FLOAT_PRECISION, 2, 0) == PRECISION_DOUBLE) {
            *type = DY_ARROW_FLOAT64;
            return 0;
        }
        snprintf(why, n, "type FloatingPoint other than DOUBLE is not supported");
        return -1;
    }
    static const struct { unsigned tag; dy_arrow_type type; } plain[] = {
        {TYPE_UTF8, DY_ARROW_UTF8}, {TYPE_LARGE_UTF8, DY_ARROW_LARGE_UTF8}, {TYPE_BOOL, DY_ARROW_BOOL},
        {TYPE_LIST, DY_ARROW_LIST}, {TYPE_LARGE_LIST, DY_ARROW_LARGE_LIST},
    };
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        if (tag == plain[i].tag) {
            *type = plain[i].type;
            return 0;
        }
    if (tag < sizeof TYPE_NAMES / sizeof *TYPE_NAMES) snprintf(why, n, "type %s is not supported", TYPE_NAMES[tag]);
    else snprintf(why, n, "unknown type %u", tag);
    return -1;
}

static int read_field(dy_fb *fb, const dy_fb_table *f, const char *parent, int depth, dy_arrow_field *out,
                      dy_arrow_schema *s, char *why, size_t n) {
    size_t name_len;
    const char *name = dy_fb_string(fb, f, FIELD_NAME, &name_len);
    if (!name) name = "";
    const char *bad = name_problem(name, name_len);
    if (bad) {
        snprintf(why, n, "%s%s%s", parent ? parent : "", parent ? ": " : "", bad);
        return -1;
    }
    const size_t parent_len = parent ? strlen(parent) : 0;
    out->name = copy(name, name_len);
    out->where = malloc(parent_len + name_len + 2);
    if (!out->name || !out->where) return snprintf(why, n, "out of memory"), -1;
    if (parent) snprintf(out->where, parent_len + name_len + 2, "%s.%s", parent, out->name);
    else memcpy(out->where, out->name, name_len + 1);
    if (depth > DY_ARROW_MAX_DEPTH) return snprintf(why, n, "%s: nested deeper than %d levels", out->where, DY_ARROW_MAX_DEPTH), -1;
    char type_why[160];
    if (field_type(fb, f, &out->type, type_why, sizeof type_why))
        return snprintf(why, n, "%s: %s", out->where, type_why), -1;
    if (dy_fb_present(f, FIELD_DICTIONARY) && dy_fb_table_at(fb, f, FIELD_DICTIONARY).at)
        return snprintf(why, n, "%s: dictionary-encoded columns are not supported", out->where), -1;
    const dy_fb_vector children = dy_fb_vector_at(fb, f, FIELD_CHILDREN, 4);
    const int is_list = out->type == DY_ARROW_LIST || out->type == DY_ARROW_LARGE_LIST;
    if (children.n != (is_list ? 1u : 0u))
        return snprintf(why, n, "%s: %zu child fields, expected %d", out->where, children.n, is_list), -1;
    s->n_nodes++;
    s->n_buffers += out->type == DY_ARROW_UTF8 || out->type == DY_ARROW_LARGE_UTF8 ? 3 : 2;
    if (!is_list) return 0;
    const dy_fb_table child = dy_fb_vector_table(fb, &children, 0);
    if (!(out->child = calloc(1, sizeof *out->child))) return snprintf(why, n, "out of memory"), -1;
    return read_field(fb, &child, out->where, depth + 1, out->child, s, why, n);
}

int dy_arrow_schema_read(dy_fb *fb, const dy_fb_table *schema, dy_arrow_schema *s, char *why, size_t n) {
    *s = (dy_arrow_schema){0};
    if (dy_fb_scalar(fb, schema, SCHEMA_ENDIANNESS, 2, 0) != 0)
        return snprintf(why, n, "big-endian data is not supported"), -1;
    const dy_fb_vector fields = dy_fb_vector_at(fb, schema, SCHEMA_FIELDS, 4);
    if (fields.n == 0 || fields.n > MAX_COLUMNS)
        return snprintf(why, n, "%zu columns (expected 1 to %d)", fields.n, MAX_COLUMNS), -1;
    if (!(s->fields = calloc(fields.n, sizeof *s->fields))) return snprintf(why, n, "out of memory"), -1;
    s->n_fields = fields.n;
    for (size_t i = 0; i < fields.n; i++) {
        const dy_fb_table f = dy_fb_vector_table(fb, &fields, i);
        if (read_field(fb, &f, NULL, 1, &s->fields[i], s, why, n)) return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->fields[j].name, s->fields[i].name) == 0)
                return snprintf(why, n, "two columns named '%s'", s->fields[i].name), -1;
    }
    return 0;
}

void dy_arrow_schema_free(dy_arrow_schema *s) {
    for (size_t i = 0; s->fields && i < s->n_fields; i++) field_free(&s->fields[i]);
    free(s->fields);
    *s = (dy_arrow_schema){0};
}

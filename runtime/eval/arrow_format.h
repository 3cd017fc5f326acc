// The pieces of the Arrow IPC reader (arrow_ipc.h) shared by its files: the columns a schema
// declares, the schema message read into them, and a record batch's body read into rows.
// Private to runtime/eval.
#ifndef DYSCO_ARROW_FORMAT_H
#define DYSCO_ARROW_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "flatbuf.h"

// The column types the reader supports (Schema.fbs's Type union members in brackets).
typedef enum {
    DY_ARROW_BOOL,        // [Bool]
    DY_ARROW_INT32,       // [Int] bitWidth 32, signed
    DY_ARROW_INT64,       // [Int] bitWidth 64, signed
    DY_ARROW_FLOAT64,     // [FloatingPoint] DOUBLE
    DY_ARROW_UTF8,        // [Utf8]: int32 offsets
    DY_ARROW_LARGE_UTF8,  // [LargeUtf8]: int64 offsets
    DY_ARROW_LIST,        // [List]: int32 offsets into its one child
    DY_ARROW_LARGE_LIST,  // [LargeList]: int64 offsets
} dy_arrow_type;

// A column; a list's item column is its child.
typedef struct dy_arrow_field {
    char *name;   // the JSON key of a top-level column
    char *where;  // its dotted path ("answer", "answer.item"), which error lines name
    dy_arrow_type type;
    struct dy_arrow_field *child;
} dy_arrow_field;

typedef struct {
    dy_arrow_field *fields;  // the top-level columns
    size_t n_fields;
    size_t n_nodes, n_buffers;  // of every record batch: one node per field (children too), its buffers
} dy_arrow_schema;

// Nesting deeper than this (list<list<...>>) is an error: no dataset column needs it, and it
// bounds the recursion.
#define DY_ARROW_MAX_DEPTH 8

// The Schema table of a message into s; on failure -1 with the problem in why (n bytes).
int dy_arrow_schema_read(dy_fb *fb, const dy_fb_table *schema, dy_arrow_schema *s, char *why, size_t n);
void dy_arrow_schema_free(dy_arrow_schema *s);

// The rows of a RecordBatch table whose body is body[0..body_len), appended to rows as objects
// keyed by column name; on failure -1 with the problem in why.
int dy_arrow_batch_read(dy_fb *fb, const dy_fb_table *batch, const unsigned char *body, size_t body_len,
                        const dy_arrow_schema *s, cJSON *rows, char *why, size_t n);

#endif

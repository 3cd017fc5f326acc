// A bounds-checked reader of flatbuffers (the encoding of Arrow's IPC metadata), written for the
// Arrow stream reader: tables through their vtables, scalars, strings, vectors of tables and of
// structs. Every access checks the bytes it touches; the first fault is kept in problem and every
// later access of that reader gives the field's default, so callers check once per message.
#ifndef DYSCO_FLATBUF_H
#define DYSCO_FLATBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const unsigned char *data;
    size_t len;
    const char *problem;  // the first fault met, NULL while none
} dy_fb;

// A table: at is its position (0 when absent: no table starts at 0, the root offset is there).
typedef struct {
    size_t at, vtable;
    size_t n_slots;    // fields the vtable describes; later ones are absent
    size_t inline_len; // bytes of the table itself, which every field must lie within
} dy_fb_table;

// A vector: n elements of elem_size bytes from at.
typedef struct {
    size_t at, n;
} dy_fb_vector;

dy_fb_table dy_fb_root(dy_fb *fb);
bool dy_fb_present(const dy_fb_table *t, int slot);
// The unsigned little-endian scalar of width bytes (1, 2, 4 or 8) in slot, or dflt when absent.
uint64_t dy_fb_scalar(dy_fb *fb, const dy_fb_table *t, int slot, int width, uint64_t dflt);
// The table slot refers to; at 0 when absent.
dy_fb_table dy_fb_table_at(dy_fb *fb, const dy_fb_table *t, int slot);
// The string in slot (its bytes, NUL-terminated in the buffer; *n its length), NULL when absent.
const char *dy_fb_string(dy_fb *fb, const dy_fb_table *t, int slot, size_t *n);
// The vector in slot with elements of elem_size bytes; n 0 when absent.
dy_fb_vector dy_fb_vector_at(dy_fb *fb, const dy_fb_table *t, int slot, size_t elem_size);
// Element i of a vector of tables.
dy_fb_table dy_fb_vector_table(dy_fb *fb, const dy_fb_vector *v, size_t i);
// The little-endian value of width bytes at pos (a struct field of a vector element); the
// caller has checked the bytes lie in the buffer (dy_fb_vector_at did for its elements).
uint64_t dy_fb_load(const dy_fb *fb, size_t pos, int width);
// The unsigned little-endian value of width bytes at p: Arrow's metadata and data are little-endian
// whatever the host's order.
uint64_t dy_le_load(const unsigned char *p, int width);

#endif

#include "flatbuf.h"

uint64_t dy_le_load(const unsigned char *p, int width) {
    uint64_t v = 0;
    for (int i = width - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

uint64_t dy_fb_load(const dy_fb *fb, size_t pos, int width) { return dy_le_load(fb->data + pos, width); }

static bool fault(dy_fb *fb, const char *problem) {
    if (!fb->problem) fb->problem = problem;
    return false;
}

// Whether n bytes from pos lie in the buffer (a fault otherwise).
static bool within(dy_fb *fb, size_t pos, size_t n, const char *problem) {
    return (pos <= fb->len && n <= fb->len - pos) || fault(fb, problem);
}

static dy_fb_table table_from(dy_fb *fb, size_t at) {
    const dy_fb_table none = {0};
    // Position 0 holds the root offset, so no table starts there; it marks "absent".
    if (fb->problem || at == 0 || !within(fb, at, 4, "a table lies outside the metadata")) return none;
    const int64_t vtable = (int64_t)at - (int32_t)(uint32_t)dy_fb_load(fb, at, 4);
    if (vtable < 0 || !within(fb, (size_t)vtable, 4, "a table's vtable lies outside the metadata")) return none;
    const size_t vt_len = (size_t)dy_fb_load(fb, (size_t)vtable, 2), inline_len = (size_t)dy_fb_load(fb, (size_t)vtable + 2, 2);
    if (vt_len < 4 || vt_len % 2 || !within(fb, (size_t)vtable, vt_len, "a table's vtable lies outside the metadata")) return none;
    if (inline_len < 4 || !within(fb, at, inline_len, "a table runs past the metadata")) return none;
    return (dy_fb_table){.at = at, .vtable = (size_t)vtable, .n_slots = (vt_len - 4) / 2, .inline_len = inline_len};
}

dy_fb_table dy_fb_root(dy_fb *fb) {
    if (!within(fb, 0, 4, "the metadata is shorter than its root offset")) return (dy_fb_table){0};
    return table_from(fb, (size_t)dy_fb_load(fb, 0, 4));
}

bool dy_fb_present(const dy_fb_table *t, int slot) {
    return t->at && (size_t)slot < t->n_slots;
}

// The offset of slot's field of width bytes within the table, 0 when absent.
static size_t field_offset(dy_fb *fb, const dy_fb_table *t, int slot, int width) {
    if (fb->problem || !dy_fb_present(t, slot)) return 0;
    const size_t off = (size_t)dy_fb_load(fb, t->vtable + 4 + 2 * (size_t)slot, 2);
    if (off && (off < 4 || off + (size_t)width > t->inline_len)) return fault(fb, "a field lies outside its table"), 0;
    return off;
}

uint64_t dy_fb_scalar(dy_fb *fb, const dy_fb_table *t, int slot, int width, uint64_t dflt) {
    const size_t off = field_offset(fb, t, slot, width);
    return off ? dy_fb_load(fb, t->at + off, width) : dflt;
}

// Where the offset at pos points (4 bytes there checked by the caller), 0 on a fault.
static size_t follow(dy_fb *fb, size_t pos) {
    const size_t target = pos + (size_t)dy_fb_load(fb, pos, 4);
    return within(fb, target, 4, "an offset points outside the metadata") ? target : 0;
}

// The target of slot's offset field, 0 when absent.
static size_t slot_target(dy_fb *fb, const dy_fb_table *t, int slot) {
    const size_t off = field_offset(fb, t, slot, 4);
    return off ? follow(fb, t->at + off) : 0;
}

dy_fb_table dy_fb_table_at(dy_fb *fb, const dy_fb_table *t, int slot) {
    return table_from(fb, slot_target(fb, t, slot));
}

const char *dy_fb_string(dy_fb *fb, const dy_fb_table *t, int slot, size_t *n) {
    const size_t at = slot_target(fb, t, slot);
    *n = 0;
    if (!at) return NULL;
    const size_t len = (size_t)dy_fb_load(fb, at, 4);
    if (!within(fb, at + 4, len + 1, "a string runs past the metadata")) return NULL;
    if (fb->data[at + 4 + len] != 0) return fault(fb, "a string lacks its NUL terminator"), NULL;
    *n = len;
    return (const char *)fb->data + at + 4;
}

dy_fb_vector dy_fb_vector_at(dy_fb *fb, const dy_fb_table *t, int slot, size_t elem_size) {
    const size_t at = slot_target(fb, t, slot);
    if (!at) return (dy_fb_vector){0};
    const size_t n = (size_t)dy_fb_load(fb, at, 4);
    if (n > (fb->len - at - 4) / elem_size) return fault(fb, "a vector runs past the metadata"), (dy_fb_vector){0};
    return (dy_fb_vector){.at = at + 4, .n = n};
}

dy_fb_table dy_fb_vector_table(dy_fb *fb, const dy_fb_vector *v, size_t i) {
    return fb->problem ? (dy_fb_table){0} : table_from(fb, follow(fb, v->at + 4 * i));
}

#include "hash_map.h"

#include <stdlib.h>
#include <string.h>

#include "kernels/base/huge_pages.h"

static uint32_t capacity_for(uint32_t expected) {
    uint32_t cap = 16;
    while (cap < 2 * expected) cap *= 2;
    return cap;
}

// 64-bit FNV-1a over 8-byte words with a final avalanche: fast for short keys, well mixed.
uint64_t dy_hash_bytes(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull ^ len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

int dy_str_map_init(dy_str_map *m, uint32_t expected) {
    memset(m, 0, sizeof *m);
    m->cap = capacity_for(expected);
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) return -1;
    dy_advise_huge_pages(m->slots, (size_t)m->cap * sizeof *m->slots);
    return 0;
}

void dy_str_map_free(dy_str_map *m) {
    free(m->slots);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

void dy_str_map_clear(dy_str_map *m) {
    memset(m->slots, 0, (size_t)m->cap * sizeof *m->slots);
    m->n = 0;
    m->arena_len = 0;
}

static dy_str_slot *find_slot(const dy_str_map *m, const char *key, size_t len, uint64_t h) {
    uint32_t mask = m->cap - 1;
    for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
        dy_str_slot *s = &m->slots[i];
        if (s->hash == 0 || (s->hash == h && s->len == len && memcmp(m->arena + s->offset, key, len) == 0)) return s;
    }
}

static int grow(dy_str_map *m) {
    dy_str_map bigger = *m;
    bigger.cap = m->cap * 2;
    bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
    if (!bigger.slots) return -1;
    dy_advise_huge_pages(bigger.slots, (size_t)bigger.cap * sizeof *bigger.slots);
    for (uint32_t i = 0; i < m->cap; i++) {
        const dy_str_slot *s = &m->slots[i];
        if (s->hash) *find_slot(&bigger, m->arena + s->offset, s->len, s->hash) = *s;
    }
    free(m->slots);
    m->slots = bigger.slots;
    m->cap = bigger.cap;
    return 0;
}

int dy_str_map_put(dy_str_map *m, const char *key, size_t len, int32_t value) {
    if (2 * (m->n + 1) > m->cap && grow(m)) return -1;
    uint64_t h = dy_hash_bytes(key, len);
    dy_str_slot *s = find_slot(m, key, len, h);
    if (s->hash) {
        s->value = value;
        return 0;
    }
    if (!m->arena || m->arena_len + len > m->arena_cap) {  // an arena even for "": slots point into it
        size_t cap = m->arena_cap ? m->arena_cap : 4096;
        while (cap < m->arena_len + len) cap *= 2;
        char *a = realloc(m->arena, cap);
        if (!a) return -1;
        m->arena = a;
        m->arena_cap = cap;
        dy_advise_huge_pages(a, cap);
    }
    memcpy(m->arena + m->arena_len, key, len);
    *s = (dy_str_slot){h, (uint32_t)m->arena_len, (uint32_t)len, value};
    m->arena_len += len;
    m->n++;
    return 0;
}

int32_t dy_str_map_get(const dy_str_map *m, const char *key, size_t len) {
    const dy_str_slot *s = find_slot(m, key, len, dy_hash_bytes(key, len));
    return s->hash ? s->value : -1;
}

int dy_u64_map_init(dy_u64_map *m, uint32_t expected) {
    m->cap = capacity_for(expected);
    m->n = 0;
    m->keys = malloc((size_t)m->cap * sizeof *m->keys);
    m->vals = malloc((size_t)m->cap * sizeof *m->vals);
    if (!m->keys || !m->vals) return -1;
    dy_advise_huge_pages(m->keys, (size_t)m->cap * sizeof *m->keys);
    dy_advise_huge_pages(m->vals, (size_t)m->cap * sizeof *m->vals);
    memset(m->keys, 0xff, (size_t)m->cap * sizeof *m->keys);
    return 0;
}

void dy_u64_map_free(dy_u64_map *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static uint32_t u64_slot(const dy_u64_map *m, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    uint32_t mask = m->cap - 1;
    uint32_t i = (uint32_t)(h >> 32) & mask;
    while (m->keys[i] != UINT64_MAX && m->keys[i] != key) i = (i + 1) & mask;
    return i;
}

int dy_u64_map_put(dy_u64_map *m, uint64_t key, uint64_t value) {
    if (2 * (m->n + 1) > m->cap) {
        dy_u64_map bigger;
        if (dy_u64_map_init(&bigger, m->cap)) return -1;
        for (uint32_t i = 0; i < m->cap; i++)
            if (m->keys[i] != UINT64_MAX) {
                uint32_t j = u64_slot(&bigger, m->keys[i]);
                bigger.keys[j] = m->keys[i];
                bigger.vals[j] = m->vals[i];
            }
        bigger.n = m->n;
        dy_u64_map_free(m);
        *m = bigger;
    }
    uint32_t i = u64_slot(m, key);
    if (m->keys[i] == UINT64_MAX) m->n++;
    m->keys[i] = key;
    m->vals[i] = value;
    return 0;
}

bool dy_u64_map_get(const dy_u64_map *m, uint64_t key, uint64_t *value) {
    uint32_t i = u64_slot(m, key);
    if (m->keys[i] == UINT64_MAX) return false;
    *value = m->vals[i];
    return true;
}

// Open-addressing hash maps for the tokenizer's hot paths: byte strings -> int32 (vocabulary,
// word cache) and u64 -> u64 (BPE merges keyed by the pair of token ids). Linear probing,
// power-of-two capacity, load factor <= 1/2; no deletion (the word cache clears whole).
#ifndef DYSCO_HASH_MAP_H
#define DYSCO_HASH_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t hash;
    uint32_t offset, len;  // the key's bytes in the arena
    int32_t value;
} dy_str_slot;

typedef struct {
    dy_str_slot *slots;  // hash 0 marks an empty slot (real hashes are forced non-zero)
    uint32_t cap, n;
    char *arena;
    size_t arena_len, arena_cap;
} dy_str_map;

int dy_str_map_init(dy_str_map *m, uint32_t expected);
void dy_str_map_free(dy_str_map *m);
void dy_str_map_clear(dy_str_map *m);
// Inserts or overwrites; -1 on allocation failure.
int dy_str_map_put(dy_str_map *m, const char *key, size_t len, int32_t value);
// The value, or -1 when absent (values stored are never negative).
int32_t dy_str_map_get(const dy_str_map *m, const char *key, size_t len);

typedef struct {
    uint64_t *keys;  // UINT64_MAX marks an empty slot
    uint64_t *vals;
    uint32_t cap, n;
} dy_u64_map;

int dy_u64_map_init(dy_u64_map *m, uint32_t expected);
void dy_u64_map_free(dy_u64_map *m);
int dy_u64_map_put(dy_u64_map *m, uint64_t key, uint64_t value);
bool dy_u64_map_get(const dy_u64_map *m, uint64_t key, uint64_t *value);

uint64_t dy_hash_bytes(const char *s, size_t len);

#endif

// dy_json_parse for the few large JSON files (tokenizer.json: ~600k values in 11 MB), with every
// value and string in one arena: cJSON otherwise mallocs each one apart, and that allocation and
// the first touch of its scattered pages were most of a tokenizer's load time.
#ifndef DYSCO_JSON_ARENA_H
#define DYSCO_JSON_ARENA_H

#include <stddef.h>

#include <cJSON.h>

typedef struct dy_json_arena dy_json_arena;

// As dy_json_parse; on success *arena owns the tree: release it with dy_json_arena_free, never
// with cJSON_Delete, and do not add values to it. Not for concurrent use from several threads
// (cJSON's allocation hooks are global; they are restored before this returns).
cJSON *dy_json_parse_in_arena(const char *text, size_t len, dy_json_arena **arena, char *problem, size_t n);
void dy_json_arena_free(dy_json_arena *arena);

#endif

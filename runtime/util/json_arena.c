#include "json_arena.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/base/huge_pages.h"
#include "json_util.h"

// Values are cut from chunks of 32 MiB. Under AddressSanitizer each value gets a chunk of its own,
// so the sanitizer still sees the bounds of every value and string.
#if defined(__SANITIZE_ADDRESS__)
#define DY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DY_ASAN 1
#endif
#endif
#ifdef DY_ASAN
enum { CHUNK_BYTES = 0 };
#else
enum { CHUNK_BYTES = 32 << 20 };
#endif
enum { ALIGN = 16 };

typedef struct chunk {
    struct chunk *next;
    size_t used, size;  // bytes of the chunk, its header included
} chunk;

struct dy_json_arena {
    chunk *head;  // the chunk being filled; older ones follow
    bool out_of_memory;
};

static dy_json_arena *filling;  // the arena the hooks allocate from, only while a parse runs

static const size_t HEADER = (sizeof(chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1);

static void *arena_alloc(size_t bytes) {
    bytes = (bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    chunk *c = filling->head;
    if (!c || c->size - c->used < bytes) {
        const size_t size = HEADER + bytes > CHUNK_BYTES ? HEADER + bytes : CHUNK_BYTES;
        if (!(c = malloc(size))) {
            filling->out_of_memory = true;
            return NULL;
        }
        dy_advise_huge_pages(c, size);
        *c = (chunk){filling->head, HEADER, size};
        filling->head = c;
    }
    void *p = (char *)c + c->used;
    c->used += bytes;
    return p;
}

static void arena_release(void *p) { (void)p; }  // the whole arena goes at once

void dy_json_arena_free(dy_json_arena *arena) {
    if (!arena) return;
    for (chunk *c = arena->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(arena);
}

cJSON *dy_json_parse_in_arena(const char *text, size_t len, dy_json_arena **arena, char *problem, size_t n) {
    *arena = calloc(1, sizeof **arena);
    if (!*arena) {
        snprintf(problem, n, "out of memory");
        return NULL;
    }
    filling = *arena;
    cJSON_Hooks hooks = {arena_alloc, arena_release};
    cJSON_InitHooks(&hooks);
    cJSON *root = dy_json_parse(text, len, problem, n);
    cJSON_InitHooks(NULL);
    filling = NULL;
    if (!root) {
        if ((*arena)->out_of_memory) snprintf(problem, n, "out of memory");
        dy_json_arena_free(*arena);
        *arena = NULL;
    }
    return root;
}

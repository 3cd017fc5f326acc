#include "merge_queue.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/base/huge_pages.h"

static void heap_push(uint32_t *h, size_t *n, uint32_t key) {
    size_t i = (*n)++;
    while (i > 0 && key < h[(i - 1) / 2]) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = key;
}

static void heap_pop(uint32_t *h, size_t *n) {
    const uint32_t last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1] < h[c]) c++;
        if (h[c] >= last) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = last;
}

int dy_merge_queue_start(dy_merge_queue *q, size_t n, uint32_t n_ranks) {
    if (!q->run) {  // the tokenizer's first word
        const size_t n_alloc = n_ranks ? n_ranks : 1;
        q->run = malloc(n_alloc * sizeof *q->run);
        q->queued = calloc(n_alloc, 1);
        q->ranks = malloc(n_alloc * sizeof *q->ranks);
        if (!q->run || !q->queued || !q->ranks) {
            dy_merge_queue_free(q);
            return -1;
        }
        for (uint32_t r = 0; r < n_ranks; r++) q->run[r] = (dy_merge_run){-1, -1};
    }
    if (n > q->cap_slots) {
        size_t cap = q->cap_slots ? q->cap_slots : 256;
        while (cap < n) cap *= 2;
        dy_merge_slot *slot = realloc(q->slot, cap * sizeof *slot);
        if (!slot) return -1;
        q->slot = slot;
        q->cap_slots = cap;
        dy_advise_huge_pages(slot, cap * sizeof *slot);
    }
    for (size_t i = 0; i < n; i++) q->slot[i].rank = DY_NO_PAIR;
    return 0;
}

void dy_merge_queue_add(dy_merge_queue *q, int32_t pos, uint32_t rank) {
    dy_merge_slot *s = &q->slot[pos];
    dy_merge_run *run = &q->run[rank];
    assert(run->tail < pos);  // runs stay in position order (merge_queue.h says why)
    s->rank = rank;
    s->prev = run->tail;
    s->next = -1;
    if (run->tail >= 0) q->slot[run->tail].next = pos;
    else run->head = pos;
    run->tail = pos;
    if (!q->queued[rank]) {
        q->queued[rank] = 1;
        heap_push(q->ranks, &q->n_queued, rank);
    }
}

void dy_merge_queue_remove(dy_merge_queue *q, int32_t pos) {
    dy_merge_slot *s = &q->slot[pos];
    if (s->rank == DY_NO_PAIR) return;
    dy_merge_run *run = &q->run[s->rank];
    s->rank = DY_NO_PAIR;
    if (s->prev >= 0) q->slot[s->prev].next = s->next;
    else run->head = s->next;
    if (s->next >= 0) q->slot[s->next].prev = s->prev;
    else run->tail = s->prev;
}

int32_t dy_merge_queue_pop(dy_merge_queue *q, uint32_t *rank) {
    while (q->n_queued && q->run[q->ranks[0]].head < 0) {  // ranks whose run has emptied leave here
        q->queued[q->ranks[0]] = 0;
        heap_pop(q->ranks, &q->n_queued);
    }
    if (!q->n_queued) return -1;
    *rank = q->ranks[0];
    const int32_t pos = q->run[*rank].head;
    dy_merge_queue_remove(q, pos);
    return pos;
}

void dy_merge_queue_free(dy_merge_queue *q) {
    free(q->slot);
    free(q->run);
    free(q->queued);
    free(q->ranks);
    memset(q, 0, sizeof *q);
}

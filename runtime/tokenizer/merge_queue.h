// The BPE merge queue: the live pairs of one word, each a position (its left symbol) and the rank
// of its merge, handed out lowest rank first and, among equal ranks, leftmost first (the order of
// the `tokenizers` library).
//
// A word of n bytes has at most n - 1 live pairs and the queue holds exactly those (a pair that a
// merge destroys leaves at once), so no stale candidates pile up. The pairs of each rank form a
// "run", a list in position order linked through the positions, and the ranks with a run sit in
// a small min-heap, so each step is O(1) plus a heap step over distinct ranks, and a long word is
// walked mostly in memory order.
//
// Why appending keeps a run in position order, for any merge table: a pair (X, Y) is added only
// when X or Y has just been made. Take two copies of one string at p < q, each made of whole
// symbols. The merges inside each copy are the same sequence (each is the lowest pair inside the
// copy at the time), and the left copy is never behind: when the right copy takes its next merge,
// a left copy at the same step would offer the same merge further left, which pops first. So
// when a pair is made at p, the same pair cannot already stand at any q > p.
#ifndef DYSCO_MERGE_QUEUE_H
#define DYSCO_MERGE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t rank;       // the pair's merge rank, or DY_NO_PAIR
    int32_t prev, next;  // neighbours in the rank's run, -1 at its ends
} dy_merge_slot;

typedef struct {
    int32_t head, tail;  // first and last position of the rank's run; -1 when empty
} dy_merge_run;

typedef struct {
    dy_merge_slot *slot;  // (cap_slots) per position
    size_t cap_slots;
    dy_merge_run *run;  // (n_ranks) per rank; all empty between words
    uint8_t *queued;    // (n_ranks) the rank is in the heap
    uint32_t *ranks;    // (n_ranks) min-heap of ranks whose run may be non-empty
    size_t n_queued;
} dy_merge_queue;

#define DY_NO_PAIR UINT32_MAX

// Room for a word of n positions over a table of n_ranks merge ranks; every position starts
// without a pair. -1 on allocation failure.
int dy_merge_queue_start(dy_merge_queue *q, size_t n, uint32_t n_ranks);
// The pair at pos (which has none now) has merge rank `rank` < n_ranks. Pairs are added as the
// merge loop makes them: the word's first pairs left to right, then the pairs each merge makes.
void dy_merge_queue_add(dy_merge_queue *q, int32_t pos, uint32_t rank);
// The pair at pos is gone (no-op when it has none).
void dy_merge_queue_remove(dy_merge_queue *q, int32_t pos);
// Removes and returns the position of the lowest (rank, position) pair and sets *rank; -1 when
// the queue is empty (it is then ready for the next word).
int32_t dy_merge_queue_pop(dy_merge_queue *q, uint32_t *rank);
void dy_merge_queue_free(dy_merge_queue *q);

#endif

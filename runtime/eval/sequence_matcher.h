// difflib.SequenceMatcher(None, a, b).ratio() over code points, replicated step for step (MRCR's
// score depends on which blocks difflib picks): b's elements occurring more than len(b)//100 + 1
// times are "popular" when len(b) >= 200 (the autojunk heuristic) and seed no match, though
// matches extend over them; the longest block is the first found scanning a, then b; the ranges
// left and right of it are matched the same way. ratio = 2 * (matched elements) / (len(a) + len(b)),
// 1.0 when both are empty.
#ifndef DYSCO_SEQUENCE_MATCHER_H
#define DYSCO_SEQUENCE_MATCHER_H

#include <stddef.h>
#include <stdint.h>

// -1 when out of memory.
int dy_sequence_matcher_ratio(const uint32_t *a, size_t la, const uint32_t *b, size_t lb, double *ratio);

#endif

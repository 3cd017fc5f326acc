// ROUGE-L and ROUGE-Lsum as rouge_score computes them with RougeScorer(["rougeL", "rougeLsum"],
// use_stemmer=True): its tokenizer (str.lower(), every run of characters other than a-z and 0-9
// a separator, nltk's Porter stem for tokens longer than 3), the LCS over tokens for rougeL, and
// for rougeLsum the union LCS of each target line against every prediction line, each token
// counted at most as often as both texts hold it.
#ifndef DYSCO_ROUGE_H
#define DYSCO_ROUGE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/base/error.h"
#include "metrics.h"

// A Score's fmeasure and recall: int 0 where rouge_score returns Score(0, 0, 0) (no tokens on a
// side), floats otherwise.
typedef struct {
    dy_metric fmeasure, recall;
} dy_rouge;

int dy_rouge_score(const uint32_t *target, size_t n_target, const uint32_t *prediction, size_t n_prediction,
                   dy_rouge *rouge_l, dy_rouge *rouge_lsum, dy_error *err);

#endif

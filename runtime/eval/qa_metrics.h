// HELMET's QA metrics (eval_datasets/helmet/helmet_utils.py): normalize_answer, exact_match, f1
// and substring_exact_match maximised over the gold answers, ROUGE-L / ROUGE-Lsum on request,
// and parse_output's "Answer:" re-parse.
#ifndef DYSCO_QA_METRICS_H
#define DYSCO_QA_METRICS_H

#include <stdbool.h>

#include <cJSON.h>

#include "kernels/base/error.h"
#include "metrics.h"
#include "py_text.h"

// The gold answers: item.answer as a string, a list of strings or a list of lists of strings,
// flattened as drqa_metric_max_over_ground_truths flattens it.
typedef struct {
    dy_ustr *answer;
    int n;
} dy_qa_golds;

int dy_qa_golds_read(const cJSON *example, dy_qa_golds *g, dy_error *err);
void dy_qa_golds_free(dy_qa_golds *g);

// normalize_answer: lower(), ASCII punctuation removed, the words a, an and the replaced by a
// space, whitespace runs collapsed to one space and trimmed. Appended to *out.
int dy_qa_normalize(const uint32_t *s, size_t n, dy_ustr *out);

// calculate_metrics(prediction, answers, compute_rouge): exact_match, f1, substring_exact_match
// and, with rouge, rougeL_f1, rougeL_recall, rougeLsum_f1, rougeLsum_recall.
int dy_qa_calculate_metrics(const uint32_t *prediction, size_t n, const dy_qa_golds *g, bool rouge, dy_metrics *m,
                            dy_error *err);

// parse_output(output, "Answer:"): the rest of the line after the first "Answer:" (any case),
// else the first line; stripped, one leading "Answer:" dropped, stripped again.
int dy_qa_parse_output(const uint32_t *s, size_t n, dy_ustr *out);

// Each metric of *m replaced by max(it, the same metric of *other) (the re-parse's max).
void dy_qa_max_metrics(dy_metrics *m, const dy_metrics *other);

#endif

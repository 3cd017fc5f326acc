// One scorer per dataset family, each the reference's eval function for that family (spec
// section 5): the model's output (code points) and its example in, the metrics dict out.
#ifndef DYSCO_EVAL_SCORERS_H
#define DYSCO_EVAL_SCORERS_H

#include <stdbool.h>

#include <cJSON.h>

#include "kernels/base/error.h"
#include "metrics.h"
#include "py_text.h"

// LongProc path_walking: eval_path_traversal (accuracy, partial_accuracy, extraction_rate).
int dy_score_path_walking(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err);
// HELMET hotpot (rouge false) and infbench_qa (rouge true): qa_post_process.
int dy_score_helmet_qa(const dy_ustr *output, const cJSON *example, bool rouge, dy_metrics *m, dy_error *err);
// HELMET infbench_choice: choice_post_process.
int dy_score_infbench_choice(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err);
// LongBench v2: _eval_longbenchv2 (accuracy, extraction).
int dy_score_longbench_v2(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err);
// MRCR: _eval_mrcr (match_ratio).
int dy_score_mrcr(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err);
// CLIPPER: post_process (accuracy, parsed_successfully), and run_eval.py's accuracy over n >= 2
// examples: the fraction of consecutive (TRUE, FALSE) pairs with both right (n must be even).
int dy_score_clipper(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err);
int dy_clipper_paired_accuracy(const dy_metrics *per_example, int n, double *accuracy, dy_error *err);

#endif

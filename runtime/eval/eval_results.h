// A run's results: run_eval.py's results file (json.dump(..., indent=2) of {"args", "saving_info":
// [{"data", "output": {prompt, output, success, thinking_part, generation_logging, time_taken},
// "metric"}], "avg_metrics", "test_size"}, and beside it "...scores.json" with avg_metrics), and
// dysco's journal of the finished examples ("....jsonl"): a header line naming the run, then one
// line per example, appended and fsync'd as each one ends. A run that finds the journal of the
// same run resumes after its last complete line; the results files are written from the journal
// when every example is in it, so a resumed run writes what an uninterrupted one does.
#ifndef DYSCO_EVAL_RESULTS_H
#define DYSCO_EVAL_RESULTS_H

#include <limits.h>

#include <cJSON.h>

#include "eval_dataset.h"
#include "kernels/base/error.h"
#include "metrics.h"

typedef struct {
    char json_path[PATH_MAX], journal_path[PATH_MAX], scores_path[PATH_MAX];
    dy_eval_family family;
    int fd;              // the journal, open for appending
    int done;            // the examples in it
    cJSON *records;      // their lines, in order
    dy_metrics *metrics;  // their metrics, scored from their outputs (room for n_examples)
} dy_eval_results;

// Opens the journal of the run whose results file is json_path (its folder is made), with room
// for n_examples. header identifies the run ({"args", the examples' fingerprint}): a journal
// with another header is an error naming the first difference; one with the same header is
// resumed (a torn last line, from a run killed while writing it, is cut off).
int dy_eval_results_open(dy_eval_results *r, const char *json_path, dy_eval_family family, const cJSON *header,
                         int n_examples, dy_error *err);
// Scores output against example and journals the example's line: {"index", "data": example,
// "output": {prompt, output, success, thinking_part (NULL: null), generation_logging (taken;
// NULL: null), time_taken}, "metric"}. *m gets the metrics.
int dy_eval_results_add(dy_eval_results *r, const cJSON *example, const char *output, const char *thinking,
                        cJSON *generation_logging, double time_taken, dy_metrics *m, dy_error *err);
// The results file and the scores file from the journal (every example done), each written to a
// temporary file and renamed over the old one. avg gets avg_metrics.
int dy_eval_results_finish(dy_eval_results *r, const cJSON *args, dy_metrics *avg, dy_error *err);
void dy_eval_results_close(dy_eval_results *r);

#endif

// The reference's dataset names (run_eval.py --dataset, routed by data_utils.py), the scorer of
// each, and run_eval.py's avg_metrics.
#ifndef DYSCO_EVAL_DATASET_H
#define DYSCO_EVAL_DATASET_H

#include <cJSON.h>

#include "kernels/base/error.h"
#include "metrics.h"

typedef enum {
    DY_EVAL_PATH_WALKING,     // path_walking_{4k,8k,16k,32k}
    DY_EVAL_HOTPOT,           // hotpot_nocot_*, hotpot_cot_*
    DY_EVAL_INFBENCH_QA,      // infbench_qa_eng_*
    DY_EVAL_INFBENCH_CHOICE,  // infbench_choice_eng_*
    DY_EVAL_LONGBENCH_V2,     // longbenchv2_*
    DY_EVAL_MRCR,             // mrcr_{2,4,8}needle_*
    DY_EVAL_CLIPPER,          // clipper, clipper_sp1, clipper_sp2
} dy_eval_family;

// The families in words, as the error for an unknown name lists them.
extern const char dy_eval_dataset_names[];

// The family of a dataset name the reference accepts; an unknown name is an error listing them.
int dy_eval_dataset_family(const char *name, dy_eval_family *family, dy_error *err);

// The reference's eval function for the family: output (UTF-8, len bytes) against example.
int dy_eval_score(dy_eval_family family, const char *output, size_t len, const cJSON *example, dy_metrics *m,
                  dy_error *err);

// avg_metrics of run_eval.py over n >= 1 examples' metrics: the mean of each metric of the first
// example (floats), and for CLIPPER the paired accuracy first.
int dy_eval_average(dy_eval_family family, const dy_metrics *per_example, int n, dy_metrics *avg, dy_error *err);

#endif

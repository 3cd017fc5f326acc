// An example's metrics as the reference's eval functions return them: an ordered dict of Python
// bools, ints and floats (json.dumps writes true, 0 and 0.0 for three kinds of zero, and the
// reference's scorers produce all three), and the Python operations its scorers apply to them.
#ifndef DYSCO_EVAL_METRICS_H
#define DYSCO_EVAL_METRICS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { DY_METRIC_BOOL, DY_METRIC_INT, DY_METRIC_FLOAT } dy_metric_type;

typedef struct {
    dy_metric_type type;
    double value;  // a bool is 0 or 1, an int a whole number
} dy_metric;

enum { DY_MAX_METRICS = 8 };  // the most any scorer returns (infbench_qa: 7)

typedef struct {
    const char *name[DY_MAX_METRICS];  // static strings
    dy_metric value[DY_MAX_METRICS];
    int n;
} dy_metrics;

dy_metric dy_metric_bool(bool v);
dy_metric dy_metric_int(long v);
dy_metric dy_metric_float(double v);
// Python's max(a, b): b only when b > a, so of equal values the first (and its type) is kept.
dy_metric dy_metric_max(dy_metric a, dy_metric b);

// metrics[name] = v: replaces the value in place when the key exists, else appends.
void dy_metrics_set(dy_metrics *m, const char *name, dy_metric v);
// metrics.pop(name).
void dy_metrics_remove(dy_metrics *m, const char *name);
// The value of name, or NULL.
const dy_metric *dy_metrics_get(const dy_metrics *m, const char *name);

// repr(float) into out (32 bytes suffice): the shortest digits that read back as v, fixed
// notation for decimal exponents -4..15 and scientific otherwise, ".0" on whole numbers.
void dy_py_float_repr(double v, char *out, size_t n);
// json.dumps(metrics) (separators ", " and ": "), malloc'd; NULL when out of memory.
char *dy_metrics_json(const dy_metrics *m);

#endif

// eval_path_traversal (eval_datasets/longproc/longproc_data.py): the route between the first
// "<Route>" and the first "</Route>", compared with answer_nl whole and line by line.
#include "eval_example.h"
#include "scorers.h"

static void set_all(dy_metrics *m, double accuracy, double partial, double extraction) {
    dy_metrics_set(m, "accuracy", dy_metric_float(accuracy));
    dy_metrics_set(m, "partial_accuracy", dy_metric_float(partial));
    dy_metrics_set(m, "extraction_rate", dy_metric_float(extraction));
}

// The number of lines of s[a..b) as str.split("\n") counts them.
static size_t line_count(const uint32_t *s, size_t a, size_t b) {
    size_t n = 1;
    for (size_t i = a; i < b; i++) n += s[i] == '\n';
    return n;
}

// Where the line starting at start ends (its "\n", or b).
static size_t line_end(const uint32_t *s, size_t start, size_t b) {
    while (start < b && s[start] != '\n') start++;
    return start;
}

int dy_score_path_walking(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err) {
    dy_ustr gt = {0};
    if (dy_example_text(example, false, "reference_output", &gt, err)) return -1;
    const uint32_t *o = output->cp;
    const ptrdiff_t open = dy_ustr_find_ascii(o, output->n, 0, "<Route>", false);
    const ptrdiff_t close = dy_ustr_find_ascii(o, output->n, 0, "</Route>", false);
    if (open < 0 || close < 0) {
        set_all(m, 0, 0, 0);
        dy_ustr_free(&gt);
        return 0;
    }
    // response[start + 7:end]: empty when the first "</Route>" comes before the "<Route>".
    const size_t from = (size_t)open + 7, to = (size_t)close > from ? (size_t)close : from;
    size_t pa, pb, ga, gb;
    dy_py_strip(o + from, to - from, &pa, &pb);
    pa += from;
    pb += from;
    dy_py_strip(gt.cp, gt.n, &ga, &gb);
    if (dy_ustr_equal(o + pa, pb - pa, gt.cp + ga, gb - ga)) {
        set_all(m, 1, 1, 1);
        dy_ustr_free(&gt);
        return 0;
    }
    // The first mismatching line counts as matched (the reference's `i += 1` after the loop), and
    // with no mismatch within the shorter list the count is its length.
    const size_t n_gt = line_count(gt.cp, ga, gb), n_pred = line_count(o, pa, pb);
    const size_t n_zip = n_gt < n_pred ? n_gt : n_pred;
    size_t matched = n_zip;
    for (size_t k = 0, g = ga, p = pa; k < n_zip; k++) {
        const size_t ge = line_end(gt.cp, g, gb), pe = line_end(o, p, pb);
        if (!dy_ustr_equal(gt.cp + g, ge - g, o + p, pe - p)) {
            matched = k + 1;
            break;
        }
        g = ge + 1;
        p = pe + 1;
    }
    set_all(m, 0, (double)matched / (double)n_gt, 1);
    dy_ustr_free(&gt);
    return 0;
}

// _eval_mrcr (eval_datasets/mrcr/mrcr_data.py): 0 unless the stripped output starts with the
// record's random prefix; else difflib's ratio of the output and the gold answer, both without it.
#include "eval_example.h"
#include "scorers.h"
#include "sequence_matcher.h"

int dy_score_mrcr(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err) {
    dy_ustr answer = {0}, prefix = {0};
    int rc = dy_example_text(example, false, "reference_output", &answer, err) ||
             dy_example_text(example, false, "random_string_to_prepend", &prefix, err);
    if (rc == 0) {
        size_t a, b;
        dy_py_strip(output->cp, output->n, &a, &b);
        double ratio = 0;
        if (b - a >= prefix.n && dy_ustr_equal(output->cp + a, prefix.n, prefix.cp, prefix.n)) {
            // answer.removeprefix(prefix): the gold answer loses the prefix only where it has it.
            const size_t skip = answer.n >= prefix.n && dy_ustr_equal(answer.cp, prefix.n, prefix.cp, prefix.n) ? prefix.n : 0;
            if (dy_sequence_matcher_ratio(output->cp + a + prefix.n, b - a - prefix.n, answer.cp + skip, answer.n - skip, &ratio))
                rc = dy_fail(err, "output: out of memory");
        }
        dy_metrics_set(m, "match_ratio", dy_metric_float(ratio));
    }
    dy_ustr_free(&answer);
    dy_ustr_free(&prefix);
    return rc ? -1 : 0;
}

// CLIPPER (eval_datasets/clipper/clipper_utils.py, clipper_data.py and run_eval.py): the answer
// inside the first <answer>...</answer> (any case), else "true"/"false" when only one of the two
// words occurs; an example is right when it is the item's label; the dataset's accuracy counts
// a (TRUE, FALSE) pair right only when both are.
#include <string.h>

#include "eval_example.h"
#include "scorers.h"

typedef enum { PARSED_NONE, PARSED_TRUE, PARSED_FALSE, PARSED_OTHER } parsed_answer;

static bool is_word(const dy_ustr *s, const char *word) {
    return dy_ustr_find_ascii(s->cp, s->n, 0, word, false) == 0 && s->n == strlen(word);
}

// parse_clipper_answer: -1 when out of memory.
static int parse(const dy_ustr *o, parsed_answer *out) {
    dy_ustr lower = {0};
    const ptrdiff_t open = dy_ustr_find_ascii(o->cp, o->n, 0, "<answer>", true);
    // re.findall's first match: the first opening tag with a closing tag after it. When the first
    // opening tag has none, no later one has either.
    const ptrdiff_t close = open < 0 ? -1 : dy_ustr_find_ascii(o->cp, o->n, (size_t)open + 8, "</answer>", true);
    int rc;
    if (close >= 0) {
        size_t a, b;
        dy_py_strip(o->cp + open + 8, (size_t)(close - open - 8), &a, &b);
        rc = dy_py_lower(o->cp + open + 8 + a, b - a, &lower);
        *out = is_word(&lower, "true") ? PARSED_TRUE : is_word(&lower, "false") ? PARSED_FALSE : PARSED_OTHER;
    } else {
        rc = dy_py_lower(o->cp, o->n, &lower);
        const bool t = dy_ustr_find_ascii(lower.cp, lower.n, 0, "true", false) >= 0;
        const bool f = dy_ustr_find_ascii(lower.cp, lower.n, 0, "false", false) >= 0;
        *out = t && !f ? PARSED_TRUE : f && !t ? PARSED_FALSE : PARSED_NONE;
    }
    dy_ustr_free(&lower);
    return rc;
}

int dy_score_clipper(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err) {
    const cJSON *label = dy_example_field(example, true, "label", err);
    if (!label) return -1;
    if (!cJSON_IsBool(label)) return dy_fail(err, "example.item.label: expected true or false");
    parsed_answer parsed;
    if (parse(output, &parsed)) return dy_fail(err, "output: out of memory");
    const bool correct = parsed == (cJSON_IsTrue(label) ? PARSED_TRUE : PARSED_FALSE);
    dy_metrics_set(m, "accuracy", dy_metric_int(correct ? 1 : 0));
    dy_metrics_set(m, "parsed_successfully", dy_metric_int(parsed != PARSED_NONE ? 1 : 0));
    return 0;
}

int dy_clipper_paired_accuracy(const dy_metrics *per_example, int n, double *accuracy, dy_error *err) {
    if (n % 2) return dy_fail(err, "clipper: %d examples; its accuracy needs whole (TRUE, FALSE) pairs", n);
    int pairs_right = 0;
    for (int i = 0; i + 1 < n; i += 2)
        pairs_right += dy_metrics_get(&per_example[i], "accuracy")->value == 1 &&
                       dy_metrics_get(&per_example[i + 1], "accuracy")->value == 1;
    *accuracy = (double)pairs_right / (n / 2);
    return 0;
}

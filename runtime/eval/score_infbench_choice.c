// choice_post_process (eval_datasets/helmet/helmet_data.py): exact_match and f1 of the output and
// of its "Answer:" re-parse against [letter, "X. option"], each the larger; then
// substring_exact_match, and exact_match with it, is true when "X. option" occurs in the output
// (both lowercased).
#include "eval_example.h"
#include "qa_metrics.h"
#include "scorers.h"

static int metrics_without_substring(const dy_ustr *text, const dy_qa_golds *golds, dy_metrics *m, dy_error *err) {
    if (dy_qa_calculate_metrics(text->cp, text->n, golds, false, m, err)) return -1;
    dy_metrics_remove(m, "substring_exact_match");
    return 0;
}

int dy_score_infbench_choice(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err) {
    const cJSON *answer = dy_example_field(example, true, "answer", err);
    if (!answer) return -1;
    if (!cJSON_IsArray(answer) || cJSON_GetArraySize(answer) < 2 || !cJSON_IsString(answer->child) ||
        !cJSON_IsString(answer->child->next))
        return dy_fail(err, "example.item.answer: expected [letter, \"X. option\"]");
    dy_qa_golds golds = {0};
    if (dy_qa_golds_read(example, &golds, err)) return -1;
    dy_ustr parsed = {0}, option = {0}, lower_output = {0};
    dy_metrics reparsed;
    int rc = metrics_without_substring(output, &golds, m, err);
    if (rc == 0 && dy_qa_parse_output(output->cp, output->n, &parsed)) rc = dy_fail(err, "output: out of memory");
    if (rc == 0) rc = metrics_without_substring(&parsed, &golds, &reparsed, err);
    if (rc == 0) {
        dy_qa_max_metrics(m, &reparsed);
        if (dy_py_lower(golds.answer[1].cp, golds.answer[1].n, &option) ||
            dy_py_lower(output->cp, output->n, &lower_output))
            rc = dy_fail(err, "output: out of memory");
    }
    const ptrdiff_t at = rc == 0 ? dy_ustr_find(lower_output.cp, lower_output.n, 0, option.cp, option.n) : -1;
    if (at < -1) rc = dy_fail(err, "output: out of memory");
    if (rc == 0) {
        dy_metrics_set(m, "substring_exact_match", dy_metric_bool(at >= 0));
        if (at >= 0) dy_metrics_set(m, "exact_match", dy_metric_bool(true));
    }
    dy_ustr_free(&parsed);
    dy_ustr_free(&option);
    dy_ustr_free(&lower_output);
    dy_qa_golds_free(&golds);
    return rc;
}

// qa_post_process (eval_datasets/helmet/helmet_data.py), the scorer of hotpot_* and, with ROUGE,
// infbench_qa_*: the metrics of the whole output and of its "Answer:" re-parse, each the larger.
#include "qa_metrics.h"
#include "scorers.h"

int dy_score_helmet_qa(const dy_ustr *output, const cJSON *example, bool rouge, dy_metrics *m, dy_error *err) {
    dy_qa_golds golds = {0};
    if (dy_qa_golds_read(example, &golds, err)) return -1;
    dy_ustr parsed = {0};
    dy_metrics reparsed;
    int rc = dy_qa_calculate_metrics(output->cp, output->n, &golds, rouge, m, err);
    if (rc == 0 && dy_qa_parse_output(output->cp, output->n, &parsed)) rc = dy_fail(err, "output: out of memory");
    if (rc == 0) rc = dy_qa_calculate_metrics(parsed.cp, parsed.n, &golds, rouge, &reparsed, err);
    if (rc == 0) dy_qa_max_metrics(m, &reparsed);
    dy_ustr_free(&parsed);
    dy_qa_golds_free(&golds);
    return rc;
}

// One line of `dysco eval score --input F.jsonl` ({"output": ..., "example": ...}, NUL bytes
// included) through dy_cli_eval_score_line under one family's scorer, then what the verb does
// with the metrics: printed as JSON and, as --summary does, averaged (over this one line). The
// first byte picks the family ('0' + i picks dy_eval_family i; any byte picks one, by its
// distance from '0' modulo their number); the rest is the line. A line either scores or fails
// with one line naming the file and line.
//
// Two scorers take time in the product of the output's and the answer's lengths, as the
// reference's do: infbench_qa's ROUGE-L (the LCS table of rouge_score) and MRCR's difflib ratio
// (find_longest_match over b's positions of each element of a). Lines of theirs longer than
// QUADRATIC_LINE bytes are not scored here: near 1 MiB one takes hours, or ROUGE's table asks for
// hundreds of gigabytes (2,000 x 2,000 tokens already take most of a second under ASan), which
// run_long.sh's -timeout=1 and its memory limit would report on every run. Every other scorer is
// linear and takes lines of any length.
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "runtime/cli/cli_eval_line.h"

enum { N_FAMILIES = DY_EVAL_CLIPPER + 1, QUADRATIC_LINE = 4096 };
static const char WHERE[] = "scores.jsonl:1";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const dy_eval_family family = (dy_eval_family)((uint8_t)(data[0] - '0') % N_FAMILIES);
    if ((family == DY_EVAL_INFBENCH_QA || family == DY_EVAL_MRCR) && size - 1 > QUADRATIC_LINE) return 0;
    dy_metrics m, avg;
    dy_error err;
    if (dy_cli_eval_score_line(family, (const char *)data + 1, size - 1, WHERE, &m, &err)) {
        const char *const names[] = {WHERE, NULL};
        fuzz_check_error(&err, names);
        return 0;
    }
    free(dy_metrics_json(&m));
    (void)dy_eval_average(family, &m, 1, &avg, &err);
    return 0;
}

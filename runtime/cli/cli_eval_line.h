// One line of `dysco eval score --input F.jsonl`: {"output": the model's text, "example": ...}
// parsed and scored. Apart from the verb so that the fuzz target of the format (tests/fuzz) runs
// the same code.
#ifndef DYSCO_CLI_EVAL_LINE_H
#define DYSCO_CLI_EVAL_LINE_H

#include <stddef.h>

#include "kernels/base/error.h"
#include "runtime/eval/eval_dataset.h"

// The metrics of the line (len bytes, the whole line as read) under the family's scorer. `where`
// ("FILE:LINE") prefixes the error.
int dy_cli_eval_score_line(dy_eval_family family, const char *line, size_t len, const char *where, dy_metrics *m,
                           dy_error *err);

#endif

// The dysco command-line verbs and the small argument helpers they share.
#ifndef DYSCO_CLI_H
#define DYSCO_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/base/error.h"

// Exit statuses: 0 success, 1 bad input or failure (one "dysco: ..." line on stderr), 2 usage error.
enum { DY_EXIT_OK = 0, DY_EXIT_FAIL = 1, DY_EXIT_USAGE = 2 };

// Tokens per prefill pass (at most) of dysco generate and bench, and what dysco inspect plans for.
enum { DY_DEFAULT_PREFILL_CHUNK = 8192 };

int dy_cli_inspect(int argc, char **argv);
int dy_cli_make_model(int argc, char **argv);
int dy_cli_tokenize(int argc, char **argv);
int dy_cli_generate(int argc, char **argv);
int dy_cli_score(int argc, char **argv);
int dy_cli_bench(int argc, char **argv);

// Option values: `--name VALUE` advances *i past VALUE. Each names the option in its error.
int dy_arg_string(int argc, char **argv, int *i, const char **out, dy_error *err);
int dy_arg_int(int argc, char **argv, int *i, int64_t min, int64_t max, int64_t *out, dy_error *err);
int dy_arg_double(int argc, char **argv, int *i, double min, double *out, dy_error *err);

// Prints "dysco: MESSAGE" and returns status.
int dy_report(int status, const dy_error *err);

#endif

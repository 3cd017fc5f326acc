// The dysco command-line verbs and what they share (exit statuses, the --method and --device choices).
#ifndef DYSCO_CLI_H
#define DYSCO_CLI_H

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
int dy_cli_eval(int argc, char **argv);
int dy_cli_detect_heads(int argc, char **argv);
int dy_cli_retrieve(int argc, char **argv);
// dysco eval with a model (the run; cli_eval.c dispatches eval score itself).
int dy_cli_eval_run(int argc, char **argv);

// --method of generate, score and bench (NULL-terminated), as dy_method_parse reads them.
extern const char *const dy_cli_methods[];
// --device of generate, score and bench: cpu, the fp32 reference, is every verb's default, so a
// result never depends on the machine that ran the command; cpu-bf16 is the CPU twin of the GPU's
// bf16 storage (what the GPU's results are compared with); cuda is bf16 on GPU 0. The help line
// is what their usages say of it.
extern const char *const dy_cli_devices[];
#define DY_CLI_DEFAULT_DEVICE "cpu"
#define DY_CLI_DEVICE_HELP                                                                                \
    "cpu: the fp32 reference; cpu-bf16: the same ops storing bf16 where the GPU does\n"                  \
    "(its twin: weights, activations, KV cache; fp32 logits); cuda: bf16 on GPU 0"
// --nccl (generate, score, bench): NCCL for the collectives at one process too.
#define DY_CLI_NCCL_HELP "cuda: the collectives through NCCL at one process too\n(what the NCCL path itself costs; always on with several)"

// Prints "dysco: MESSAGE" (in a job of several processes "dysco: rank R of N: MESSAGE") and
// returns status.
int dy_report(int status, const dy_error *err);

#endif

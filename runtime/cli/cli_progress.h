// The progress of a run over examples on stderr: on a terminal one line redrawn in place (a bar,
// examples done, prefill and decode tokens/s, the running metric, the time left), otherwise one
// plain line per example, for logs.
#ifndef DYSCO_CLI_PROGRESS_H
#define DYSCO_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    FILE *out;
    bool terminal;
    int total, done, resumed;  // examples: all, finished, finished before this run
    const char *metric;        // the running metric's name (NULL until the first example)
    double metric_sum;         // over every finished example
    double seconds;            // this run's examples: wall time, and
    double prefill_tokens, prefill_seconds, decode_tokens, decode_seconds;
} dy_cli_progress;

// Wall seconds of a run's phases before its examples, so a slow start shows where it went.
typedef struct {
    double open;     // the checkpoint's headers, the tokenizer and the chat template
    double data;     // the examples: read, length-filtered, tokenized (rank 0's preparation)
    double backend;  // the backend (a GPU's context) and the communicators
    double load;     // the model: its memory plan, weights and KV cache
    // Not startup, but where first-use costs land (a GPU's graph capture, GEMM heuristics, lazily
    // loaded kernels): the first example this run decodes, -1 when it decodes none.
    double first_example;
} dy_cli_startup;

// One line "VERB: startup: ..." with each phase's seconds.
void dy_cli_startup_print(FILE *out, const char *verb, const dy_cli_startup *s);

// total examples, of which resumed were finished by an earlier run (their metric sum given).
void dy_cli_progress_start(dy_cli_progress *p, FILE *out, int total, int resumed, const char *metric, double metric_sum);
// One more example: its metric value, wall time, and its prefill and decode tokens and seconds.
void dy_cli_progress_step(dy_cli_progress *p, const char *metric, double value, double seconds, int prefill_tokens,
                          double prefill_seconds, int decode_tokens, double decode_seconds);
// Ends a terminal's line.
void dy_cli_progress_end(dy_cli_progress *p);

#endif

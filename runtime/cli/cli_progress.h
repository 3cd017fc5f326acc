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

// total examples, of which resumed were finished by an earlier run (their metric sum given).
void dy_cli_progress_start(dy_cli_progress *p, FILE *out, int total, int resumed, const char *metric, double metric_sum);
// One more example: its metric value, wall time, and its prefill and decode tokens and seconds.
void dy_cli_progress_step(dy_cli_progress *p, const char *metric, double value, double seconds, int prefill_tokens,
                          double prefill_seconds, int decode_tokens, double decode_seconds);
// Ends a terminal's line.
void dy_cli_progress_end(dy_cli_progress *p);

#endif

#include "cli_progress.h"

#include <unistd.h>

enum { BAR_WIDTH = 24 };

void dy_cli_progress_start(dy_cli_progress *p, FILE *out, int total, int resumed, const char *metric, double metric_sum) {
    *p = (dy_cli_progress){.out = out, .terminal = isatty(fileno(out)) == 1, .total = total, .done = resumed,
                           .resumed = resumed, .metric = metric, .metric_sum = metric_sum};
}

void dy_cli_startup_print(FILE *out, const char *verb, const dy_cli_startup *s) {
    fprintf(out, "%s: startup: open %.2f s (checkpoint headers, tokenizer), data %.2f s, backend %.2f s, model load %.2f s\n",
            verb, s->open, s->data, s->backend, s->load);
    fflush(out);
}

static double rate(double tokens, double seconds) { return seconds > 0 ? tokens / seconds : 0; }

void dy_cli_progress_step(dy_cli_progress *p, const char *metric, double value, double seconds, int prefill_tokens,
                          double prefill_seconds, int decode_tokens, double decode_seconds) {
    p->done++;
    p->metric = metric;
    p->metric_sum += value;
    p->seconds += seconds;
    p->prefill_tokens += prefill_tokens;
    p->prefill_seconds += prefill_seconds;
    p->decode_tokens += decode_tokens;
    p->decode_seconds += decode_seconds;
    // The time left at this run's pace so far.
    const double left = p->seconds / (p->done - p->resumed) * (p->total - p->done);
    const int minutes = (int)(left / 60), secs = (int)left % 60;
    const double mean = p->metric_sum / p->done;
    if (!p->terminal) {
        fprintf(p->out, "eval: %d/%d examples, prefill %.0f tokens/s, decode %.1f tokens/s, %s %.4f, %.0f s left\n", p->done,
                p->total, rate(p->prefill_tokens, p->prefill_seconds), rate(p->decode_tokens, p->decode_seconds), p->metric,
                mean, left);
    } else {
        char bar[BAR_WIDTH + 1];
        const int filled = p->done * BAR_WIDTH / p->total;
        for (int i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        fprintf(p->out, "\r\033[K[%s] %d/%d  prefill %.0f tok/s  decode %.1f tok/s  %s %.4f  ETA %d:%02d", bar, p->done,
                p->total, rate(p->prefill_tokens, p->prefill_seconds), rate(p->decode_tokens, p->decode_seconds), p->metric,
                mean, minutes, secs);
    }
    fflush(p->out);
}

void dy_cli_progress_end(dy_cli_progress *p) {
    if (p->terminal && p->done > p->resumed) fputc('\n', p->out);
    fflush(p->out);
}

// dysco eval: the reference's evaluation (run_eval.py). `eval score` scores given outputs as the
// reference's eval functions do, one JSONL line per example, without a model; `eval` with a model
// runs the evaluation (cli_eval_run.c).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_batch.h"
#include "cli_eval_line.h"
#include "cli_job.h"
#include "runtime/eval/eval_dataset.h"

static const char SCORE_USAGE[] =
    "usage: dysco eval score --dataset NAME --input F.jsonl [--summary]\n"
    "\n"
    "Each line of F.jsonl is {\"output\": the model's text, \"example\": the example as the reference's\n"
    "loader returns it} ({input_prompt, reference_output, item}, or MRCR's raw record). Prints one\n"
    "JSON object per line: that example's metrics, keys and values as the reference's eval function\n"
    "returns them (json.dumps of its dict). Blank lines are skipped.\n";

// The dataset names wrapped at about 96 columns, breaking only at ", " outside braces.
static void print_score_notes(FILE *out) {
    fputs("\ndatasets (the reference's names; the length does not change the scoring):\n  ", out);
    int column = 1, depth = 0;
    for (const char *p = dy_eval_dataset_names; *p; p++) {
        depth += (*p == '{') - (*p == '}');
        if (depth == 0 && p[0] == ',' && p[1] == ' ') {
            const char *next = strstr(p + 2, ", ");
            const int word = next ? (int)(next - p) : (int)strlen(p);
            fputc(',', out);
            p++;
            if (column + word > 96) {
                fputs("\n ", out);
                column = 1;
            }
            fputc(' ', out);
            column += 2;
            continue;
        }
        fputc(*p, out);
        column++;
    }
    fputs("\n\nThe first bad line ends the run with one line naming the file, the line, the field and the\n"
          "problem, and exit status 1; the lines before it have been printed.\n",
          out);
}

typedef struct {
    dy_metrics *all;
    int n, cap;
} metrics_list;

static int keep(metrics_list *l, const dy_metrics *m, dy_error *err) {
    if (l->n == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 64;
        dy_metrics *p = realloc(l->all, (size_t)cap * sizeof *p);
        if (!p) return dy_fail(err, "--summary: out of memory");
        l->all = p;
        l->cap = cap;
    }
    l->all[l->n++] = *m;
    return 0;
}

static int print_metrics(const char *prefix, const dy_metrics *m, const char *suffix, dy_error *err) {
    char *json = dy_metrics_json(m);
    if (!json) return dy_fail(err, "out of memory");
    printf("%s%s%s\n", prefix, json, suffix);
    free(json);
    return 0;
}

typedef struct {
    dy_eval_family family;
    bool summary;
    metrics_list kept;  // with summary: every line's metrics
} scoring;

// One input line: {"output": ..., "example": ...} scored and printed.
static int score_line(const char *line, size_t len, const char *where, void *ctx, dy_error *err) {
    scoring *s = ctx;
    dy_metrics m;
    if (dy_cli_eval_score_line(s->family, line, len, where, &m, err) || print_metrics("", &m, "", err) ||
        (s->summary && keep(&s->kept, &m, err)))
        return -1;
    return 0;
}

static int run_score(const char *dataset, const char *input, bool summary, dy_error *err) {
    scoring s = {.summary = summary};
    if (dy_eval_dataset_family(dataset, &s.family, err)) return DY_EXIT_USAGE;
    int rc = dy_cli_jsonl_each_line(input, score_line, &s, err);
    if (rc == 0 && summary) {
        dy_metrics avg;
        char tail[32];
        snprintf(tail, sizeof tail, ", \"test_size\": %d}", s.kept.n);
        if (s.kept.n == 0)
            rc = dy_fail(err, "%s: --summary: no examples", input);
        else
            rc = dy_eval_average(s.family, s.kept.all, s.kept.n, &avg, err) ||
                 print_metrics("{\"avg_metrics\": ", &avg, tail, err);
    }
    free(s.kept.all);
    return rc ? DY_EXIT_FAIL : DY_EXIT_OK;
}

static int cli_eval_score(int argc, char **argv) {
    const char *dataset = NULL, *input = NULL;
    bool summary = false;
    const dy_option table[] = {
        {"--dataset", "NAME", "the reference's dataset name (see below): chooses the scorer", .string = &dataset},
        {"--input", "F.jsonl", "the outputs and their examples, one {\"output\", \"example\"} object a line",
         .string = &input},
        {"--summary", NULL,
         "after the lines, print {\"avg_metrics\": ..., \"test_size\": N} as run_eval.py averages them\n"
         "(the mean of each metric; CLIPPER's accuracy counts consecutive (TRUE, FALSE) pairs)",
         .flag = &summary},
    };
    const dy_args_spec spec = {.verb = "eval score", .usage = SCORE_USAGE, .options = table,
                               .n_options = DY_COUNT_OF(table), .print_notes = print_score_notes};
    int status;
    if (!dy_args_parse_verb(&spec, argc, argv, &status)) return status;
    dy_error err;
    if (!dataset || !input) {
        dy_fail(&err, "eval score: needs --dataset NAME and --input F.jsonl (see dysco eval score --help)");
        return dy_report(DY_EXIT_USAGE, &err);
    }
    status = run_score(dataset, input, summary, &err);
    return status == DY_EXIT_OK ? status : dy_report(status, &err);
}

int dy_cli_eval(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "score") != 0) return dy_cli_eval_run(argc, argv);
    dy_error err;
    // Scoring prints every line: under a launcher each rank would print them all.
    if (dy_cli_job_single("eval score", &err)) return dy_report(DY_EXIT_USAGE, &err);
    return cli_eval_score(argc - 1, argv + 1);
}

// dysco retrieve: QRRetriever.score_docs (spec/qrhead.md §3): the query over the documents in one
// prompt, the calibrated attention mass of the chosen heads summed, then each document's
// outlier-filtered sum. Prints {doc idx: score} in the documents' order.
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_job.h"
#include "cli_qrhead.h"
#include "runtime/eval/py_json.h"
#include "runtime/qrhead/qrhead_mass.h"
#include "runtime/qrhead/qrhead_score.h"
#include "runtime/util/file_util.h"

static const char USAGE[] =
    "usage: dysco retrieve --model DIR (--heads LIST | --config F.yaml) --query TEXT --docs F.json [options]\n"
    "\n"
    "Scores each document of F.json (a JSON list of {idx, title, paragraph_text}) for the query by the\n"
    "attention mass the heads put on it (QRRetriever.score_docs) and prints {idx: score}, higher\n"
    "is more relevant.\n";

typedef struct {
    const char *model, *heads, *config, *query, *docs, *null_query, *output, *device;
    int64_t tp;
} options;

static bool parse_options(int argc, char **argv, options *o, int *status) {
    *o = (options){.null_query = "N/A", .device = DY_CLI_DEFAULT_DEVICE};
    const dy_option rows[] = {
        {"--model", "DIR", "the checkpoint (its tokenizer.json is needed)", .string = &o->model},
        {"--heads", "LIST", "the heads as layer-head pairs, \"13-18,13-21\" (QRHead's configs) or\n"
                            "\"[(13,18),(13,21)]\" (DySCO's); all: every head (full_heads)",
         .string = &o->heads},
        {"--config", "F.yaml", "the heads of a DySCO config (its selected_heads)", .string = &o->config},
        {"--query", "TEXT", "the query", .string = &o->query},
        {"--docs", "F.json", "the documents", .string = &o->docs},
        {"--null-query", "TEXT", "the calibration query", .string = &o->null_query},
        {"--device", NULL, DY_CLI_DEVICE_HELP, .string = &o->device, .choices = dy_cli_devices},
        {"--tp", "N", "must equal the number of processes the launcher started", .integer = &o->tp, .min = 1,
         .max = 4096, .default_text = "the world size"},
        {"--output", "F.json", "also write the scores to F.json", .string = &o->output},
    };
    const dy_args_spec spec = {.verb = "retrieve", .usage = USAGE, .options = rows, .n_options = DY_COUNT_OF(rows)};
    return dy_args_parse_verb(&spec, argc, argv, status);
}

static int check_options(const options *o, dy_error *err) {
    if (!o->model) return dy_fail(err, "retrieve: needs --model DIR");
    if (!!o->heads + !!o->config != 1) return dy_fail(err, "retrieve: needs exactly one of --heads LIST, --config F.yaml");
    if (!o->query) return dy_fail(err, "retrieve: needs --query TEXT");
    if (!o->docs) return dy_fail(err, "retrieve: needs --docs F.json");
    return 0;
}

// QRHead's "13-18,13-21" into DySCO's pair list, which dy_dysco_parse_heads reads.
static int parse_heads(const char *text, dy_dysco_config *c, dy_error *err) {
    if (strchr(text, '(') || strchr(text, '[')) return dy_dysco_parse_heads(text, c, "--heads", err);
    char *list = malloc(strlen(text) * 3 + 5), *w = list;
    if (!list) return dy_fail(err, "retrieve: out of memory");
    w += sprintf(w, "[(");
    for (const char *p = text; *p; p++) {
        if (*p == '-') *w++ = ',';
        else if (*p == ',') w += sprintf(w, "),(");
        else *w++ = *p;
    }
    sprintf(w, ")]");
    int rc = dy_dysco_parse_heads(list, c, "--heads", err);
    free(list);
    return rc;
}

// The heads, checked against the model; all: every head, layer-major.
static int resolve_heads(const options *o, const dy_model_config *cfg, int **layer, int **head, int *n, dy_error *err) {
    dy_dysco_config c;
    dy_dysco_config_defaults(&c);
    const bool all = o->heads && strcmp(o->heads, "all") == 0;
    if (!all && (o->config ? dy_dysco_config_load(o->config, &c, err) : parse_heads(o->heads, &c, err))) return -1;
    if (!all && c.n_heads == 0) return dy_fail(err, "%s: no heads", o->config ? o->config : "--heads");
    *n = all ? cfg->n_layers * cfg->n_heads : c.n_heads;
    *layer = malloc((size_t)*n * sizeof **layer);
    *head = malloc((size_t)*n * sizeof **head);
    if (!*layer || !*head) return dy_fail(err, "retrieve: out of memory");
    for (int i = 0; i < *n; i++) {
        (*layer)[i] = all ? i / cfg->n_heads : c.heads[i].layer;
        (*head)[i] = all ? i % cfg->n_heads : c.heads[i].head;
        if ((*layer)[i] >= cfg->n_layers || (*head)[i] >= cfg->n_heads)
            return dy_fail(err, "%s: head (%d, %d) is outside the model's %d layers x %d heads",
                           o->config ? o->config : "--heads", (*layer)[i], (*head)[i], cfg->n_layers, cfg->n_heads);
    }
    return 0;
}

static int write_scores(const options *o, const dy_qr_example *e, const double *scores, dy_error *err) {
    cJSON *obj = cJSON_CreateObject();
    for (int k = 0; k < e->n_docs; k++) cJSON_AddItemToObject(obj, e->docs[k].idx, dy_py_json_float(scores[k]));
    char *json = dy_py_json_dumps(obj, 2);
    cJSON_Delete(obj);
    if (!json) return dy_fail(err, "retrieve: out of memory");
    puts(json);
    int rc = o->output ? dy_write_file(o->output, json, strlen(json), err) : 0;
    free(json);
    return rc;
}

// The one scoring: every rank's heads' mass summed, the sums added over the ranks, then filtered.
static int score(dy_cli_qrhead *q, const int *layer, const int *head, int n, double *scores, dy_error *err) {
    const dy_qr_pair *p = &q->pairs[0];
    const int prefix = p->real.query.first;
    double *mass = malloc((size_t)n * (size_t)prefix * sizeof *mass), *sum = malloc((size_t)prefix * sizeof *sum);
    int rc = mass && sum ? 0 : dy_fail(err, "retrieve: out of memory for %d heads x %d positions", n, prefix);
    if (rc == 0) rc = dy_qr_calibrated_mass(&q->s.model, &p->real, &p->null_query, n, layer, head, mass, err);
    if (rc == 0) {
        dy_qrhead_sum_heads(mass, n, prefix, sum);
        rc = dy_qr_sum_over_ranks(q->s.comm, sum, (size_t)prefix, err);
    }
    if (rc == 0) dy_qrhead_doc_scores(sum, p->real.docs, p->real.n_docs, scores);
    free(mass);
    free(sum);
    return rc;
}

static int read_query(const options *o, dy_qr_data *d, dy_error *err) {
    if (!(d->ex = calloc(1, sizeof *d->ex))) return dy_fail(err, "retrieve: out of memory");
    d->n = 1;
    dy_qr_example *e = d->ex;
    if (!(e->idx = strdup("query")) || !(e->question = strdup(o->query))) return dy_fail(err, "retrieve: out of memory");
    return dy_qr_docs_load(o->docs, &e->docs, &e->n_docs, err);
}

static int run(const options *o, dy_comm *comm, dy_error *err) {
    dy_cli_qrhead q = {0};
    int *layer = NULL, *head = NULL, n = 0;
    double *scores = NULL;
    int rc = read_query(o, &q.data, err);
    int status = dy_cli_qrhead_start(&q, o->model, o->docs, o->null_query, o->device, comm, rc, err);
    if (status == DY_EXIT_OK) {
        rc = resolve_heads(o, &q.s.model.cfg, &layer, &head, &n, err);
        bool quiet = false;
        if (dy_cli_job_agree(comm, rc, &quiet)) status = quiet ? DY_EXIT_FAIL : dy_report(DY_EXIT_FAIL, err);
    }
    if (status == DY_EXIT_OK) {
        if (!(scores = calloc((size_t)q.data.ex->n_docs, sizeof *scores))) rc = dy_fail(err, "retrieve: out of memory");
        else rc = score(&q, layer, head, n, scores, err);
        if (rc) status = dy_cli_job_fail(comm, DY_EXIT_FAIL, err);
    }
    if (status == DY_EXIT_OK && comm->rank == 0 && write_scores(o, q.data.ex, scores, err))
        status = dy_report(DY_EXIT_FAIL, err);
    free(layer);
    free(head);
    free(scores);
    dy_cli_qrhead_close(&q);
    return status;
}

int dy_cli_retrieve(int argc, char **argv) {
    options o;
    dy_error err;
    int status;
    if (!parse_options(argc, argv, &o, &status)) return status;
    if (check_options(&o, &err)) return dy_report(DY_EXIT_USAGE, &err);
    if (dy_cli_job_check_tp("retrieve", o.tp, &err)) return dy_report(DY_EXIT_USAGE, &err);
    dy_comm *comm = dy_comm_create(dy_cli_job_env(), &err);
    if (!comm) return dy_report(DY_EXIT_FAIL, &err);
    status = run(&o, comm, &err);
    comm->destroy(comm);
    return status;
}

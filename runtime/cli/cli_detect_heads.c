// dysco detect-heads: QRHead detection (spec/qrhead.md §2) over a calibration file. Every example
// is scored by every head (the real-query and null-query passes, runtime/qrhead), each head's
// documents filtered on its own mass, and each head judged by the criterion (LME: the mean mass
// on the gold documents; BEIR: nDCG@10 of its own ranking). Writes the reference's list of
// ["layer-head", score] pairs, and a DySCO config with the top heads.
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_args.h"
#include "cli_job.h"
#include "cli_qrhead.h"
#include "kernels/base/timing.h"
#include "runtime/dysco/dysco_config_write.h"
#include "runtime/eval/py_json.h"
#include "runtime/eval/py_random.h"
#include "runtime/qrhead/qrhead_mass.h"
#include "runtime/qrhead/qrhead_ndcg.h"
#include "runtime/qrhead/qrhead_score.h"
#include "runtime/util/file_util.h"

static const char USAGE[] =
    "usage: dysco detect-heads --model DIR --data F.json [--criterion lme|beir] [--qrels F] [options]\n"
    "\n"
    "Scores every attention head of the model as a query-focused retrieval head (QRHead) over the\n"
    "calibration examples of F.json: a JSON list of {idx, question, paragraphs: [{idx, title,\n"
    "paragraph_text}], gt_docs: [paragraph idx]} (gt_docs for --criterion lme). Prints (or writes)\n"
    "every head as [\"layer-head\", score], best first, and with --config-out a DySCO config of the\n"
    "--top best heads that generate --dysco-config and eval --dysco-config take.\n";

static const char *const CRITERIA[] = {"lme", "beir", NULL};

typedef struct {
    const char *model, *data, *criterion, *qrels, *null_query, *output, *config_out, *config_base, *device;
    int64_t top, truncate_words, tp;
} options;

static bool parse_options(int argc, char **argv, options *o, int *status) {
    *o = (options){.criterion = "lme", .null_query = "N/A", .device = DY_CLI_DEFAULT_DEVICE, .top = 16};
    const dy_option rows[] = {
        {"--model", "DIR", "the checkpoint (its tokenizer.json is needed)", .string = &o->model},
        {"--data", "F.json", "the calibration examples", .string = &o->data},
        {"--criterion", NULL, "lme: mean calibrated mass on the gold paragraphs (LongMemEval's);\n"
                              "beir: nDCG@10 of each head's ranking against --qrels (BEIR NQ's);\n"
                              "beir also shuffles the paragraphs (random.seed(42)) as the reference",
         .string = &o->criterion, .choices = CRITERIA},
        {"--qrels", "F", "beir: judgments, TREC (QUERY ITER DOC REL) or BEIR TSV (QUERY DOC REL) lines",
         .string = &o->qrels},
        {"--truncate-words", "N", "cut each paragraph to its first N space-separated words (the reference's\n"
                                  "BEIR detection uses 400); 0: whole paragraphs",
         .integer = &o->truncate_words, .min = 0, .max = 1 << 30},
        {"--null-query", "TEXT", "the calibration query that replaces the question", .string = &o->null_query},
        {"--device", NULL, DY_CLI_DEVICE_HELP, .string = &o->device, .choices = dy_cli_devices},
        {"--tp", "N", "must equal the number of processes the launcher started", .integer = &o->tp, .min = 1,
         .max = 4096, .default_text = "the world size"},
        {.help = "output:"},
        {"--output", "F.json", "the scores of all heads (default: stdout)", .string = &o->output},
        {"--top", "K", "heads in --config-out", .integer = &o->top, .min = 1, .max = DY_DYSCO_MAX_HEADS},
        {"--config-out", "F.yaml", "a DySCO config with the --top best heads", .string = &o->config_out},
        {"--config-base", "F.yaml", "the DySCO settings other than the heads for --config-out (default: the\n"
                                    "reference's values for Qwen3-8B and Llama-3.1-8B, the model's chat\n"
                                    "template headers as template_sequences)",
         .string = &o->config_base},
    };
    const dy_args_spec spec = {.verb = "detect-heads", .usage = USAGE, .options = rows, .n_options = DY_COUNT_OF(rows)};
    return dy_args_parse_verb(&spec, argc, argv, status);
}

static int check_options(const options *o, bool beir, dy_error *err) {
    if (!o->model) return dy_fail(err, "detect-heads: needs --model DIR");
    if (!o->data) return dy_fail(err, "detect-heads: needs --data F.json");
    if (beir && !o->qrels) return dy_fail(err, "detect-heads: --criterion beir needs --qrels F");
    if (!beir && o->qrels) return dy_fail(err, "detect-heads: --qrels is for --criterion beir");
    if (o->config_base && !o->config_out) return dy_fail(err, "detect-heads: --config-base needs --config-out F.yaml");
    return 0;
}

// The reference's preparation of each example: paragraphs stripped (and truncated), and for BEIR
// shuffled by one random.seed(42) stream over the examples in file order.
static void prepare_examples(dy_qr_data *d, bool beir, int truncate_words) {
    dy_py_random rng;
    dy_py_random_seed(&rng, 42);
    for (int i = 0; i < d->n; i++) {
        dy_qr_example *e = &d->ex[i];
        if (beir) {
            int order[e->n_docs];
            dy_qr_doc shuffled[e->n_docs];
            for (int k = 0; k < e->n_docs; k++) order[k] = k;
            dy_py_random_shuffle(&rng, order, e->n_docs);
            for (int k = 0; k < e->n_docs; k++) shuffled[k] = e->docs[order[k]];
            memcpy(e->docs, shuffled, sizeof shuffled);
        }
        for (int k = 0; k < e->n_docs; k++) dy_qr_prepare_text(&e->docs[k], truncate_words);
    }
}

// Per head, the sum of the example's gold paragraphs' scores (LME). table: (n_docs, n_heads).
static void gold_sums(const dy_qr_example *e, const double *table, int n_heads, double *out) {
    for (int h = 0; h < n_heads; h++) out[h] = 0;
    for (int g = 0; g < e->n_gold; g++)
        for (int k = 0; k < e->n_docs; k++)
            if (strcmp(e->docs[k].idx, e->gold[g]) == 0)
                for (int h = 0; h < n_heads; h++) out[h] += table[(size_t)k * (size_t)n_heads + (size_t)h];
}

// Each head's criterion. lme: gold (n_examples, n_heads) sums; beir: tables[i] (n_docs, n_heads).
static int head_scores(const options *o, const dy_qr_data *d, const dy_qrels *q, const double *gold,
                       double *const *tables, int n_heads, double *scores, dy_error *err) {
    if (!q) {
        double column[d->n];
        for (int h = 0; h < n_heads; h++) {
            for (int i = 0; i < d->n; i++) column[i] = gold[(size_t)i * (size_t)n_heads + (size_t)h];
            scores[h] = dy_qrhead_lme_criterion(column, d->n);
        }
        return 0;
    }
    // Each example's judgments once; then per head its ranking of every judged example.
    int total_docs = 0, evaluated = 0;
    for (int i = 0; i < d->n; i++) total_docs += d->ex[i].n_docs;
    int *rel = malloc((size_t)total_docs * sizeof *rel);
    double *ideal = malloc((size_t)d->n * sizeof *ideal), *s = malloc((size_t)total_docs * sizeof *s);
    const char **docs = malloc((size_t)total_docs * sizeof *docs);
    bool *judged = malloc((size_t)d->n * sizeof *judged);
    int rc = rel && ideal && s && docs && judged ? 0 : dy_fail(err, "detect-heads: out of memory");
    for (int i = 0, at = 0; rc == 0 && i < d->n; at += d->ex[i].n_docs, i++) {
        for (int k = 0; k < d->ex[i].n_docs; k++) docs[at + k] = d->ex[i].docs[k].idx;
        judged[i] = dy_ndcg_prepare(q, d->ex[i].idx, docs + at, d->ex[i].n_docs, rel + at, &ideal[i]);
        evaluated += judged[i];
    }
    for (int h = 0; rc == 0 && h < n_heads; h++) {
        double sum = 0;
        for (int i = 0, at = 0; i < d->n; at += d->ex[i].n_docs, i++) {
            if (!judged[i]) continue;
            for (int k = 0; k < d->ex[i].n_docs; k++) s[at + k] = tables[i][(size_t)k * (size_t)n_heads + (size_t)h];
            sum += dy_ndcg10(docs + at, rel + at, s + at, d->ex[i].n_docs, ideal[i]);
        }
        scores[h] = dy_ndcg_mean_rounded(sum, evaluated);
    }
    free(rel);
    free(ideal);
    free(s);
    free(docs);
    free(judged);
    if (rc) return -1;
    if (evaluated == 0) return dy_fail(err, "%s: judges none of %s's example idx", o->qrels, o->data);
    return 0;
}

static int write_scores(const options *o, const double *scores, const int *order, int n_heads, int heads_per_layer,
                        dy_error *err) {
    cJSON *list = cJSON_CreateArray();
    for (int r = 0; r < n_heads; r++) {
        char name[32];
        snprintf(name, sizeof name, "%d-%d", order[r] / heads_per_layer, order[r] % heads_per_layer);
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(name));
        cJSON_AddItemToArray(pair, dy_py_json_float(scores[order[r]]));
        cJSON_AddItemToArray(list, pair);
    }
    char *json = dy_py_json_dumps(list, 4);  // json.dump(head_scores_list, f, indent=4)
    cJSON_Delete(list);
    if (!json) return dy_fail(err, "detect-heads: out of memory");
    int rc = 0;
    if (o->output) rc = dy_write_file(o->output, json, strlen(json), err);
    else puts(json);
    free(json);
    return rc;
}

// base: --config-base's settings (read before the work), or NULL for the reference's defaults.
static int write_config(const options *o, const dy_dysco_config *base, dy_cli_session *s, const int *order,
                        int heads_per_layer, dy_error *err) {
    dy_dysco_config c;
    if (base) c = *base;
    else if (dy_cli_qrhead_default_dysco(s, &c, err)) return -1;
    c.n_heads = (int)o->top < s->ck.config.n_layers * heads_per_layer ? (int)o->top
                                                                      : s->ck.config.n_layers * heads_per_layer;
    for (int i = 0; i < c.n_heads; i++) c.heads[i] = (dy_dysco_head){order[i] / heads_per_layer, order[i] % heads_per_layer};
    char comment[512];
    snprintf(comment, sizeof comment,
             "DySCO for %s: the %d best QRHeads of dysco detect-heads --criterion %s --data %s,\n"
             "as (layer, query head); the other settings from %s.",
             o->model, c.n_heads, o->criterion, o->data, o->config_base ? o->config_base : "the reference's defaults");
    char *yaml = dy_dysco_config_format(&c, comment);
    if (!yaml) return dy_fail(err, "detect-heads: out of memory");
    int rc = dy_write_file(o->config_out, yaml, strlen(yaml), err);
    free(yaml);
    return rc;
}

// The examples, one at a time on every rank: the two passes over all heads, each head's table of
// paragraph scores summed over the ranks, kept for the criterion.
static int score_examples(dy_cli_qrhead *q, bool beir, double *gold, double **tables, dy_error *err) {
    const dy_model_config *c = &q->s.model.cfg;
    const int n_heads = c->n_layers * c->n_heads;
    int *layer = malloc((size_t)n_heads * sizeof *layer), *head = malloc((size_t)n_heads * sizeof *head);
    double *mass = NULL;
    int rc = layer && head ? 0 : dy_fail(err, "detect-heads: out of memory");
    for (int h = 0; h < n_heads; h++) layer[h] = h / c->n_heads, head[h] = h % c->n_heads;
    const double t0 = dy_now();
    for (int i = 0; rc == 0 && i < q->data.n; i++) {
        const dy_qr_example *e = &q->data.ex[i];
        const dy_qr_pair *p = &q->pairs[i];
        const int prefix = p->real.query.first;
        double *next = realloc(mass, (size_t)n_heads * (size_t)prefix * sizeof *mass);
        if (next) mass = next;
        double *table = malloc((size_t)e->n_docs * (size_t)n_heads * sizeof *table);
        if (!next || !table) {
            free(table);
            rc = dy_fail(err, "detect-heads: out of memory for %d heads x %d positions", n_heads, prefix);
            break;
        }
        rc = dy_qr_calibrated_mass(&q->s.model, &p->real, &p->null_query, n_heads, layer, head, mass, err);
        if (rc == 0) {
            dy_qrhead_doc_scores_per_head(mass, n_heads, prefix, p->real.docs, e->n_docs, table);
            rc = dy_qr_sum_over_ranks(q->s.comm, table, (size_t)e->n_docs * (size_t)n_heads, err);
        }
        if (rc == 0 && !beir) gold_sums(e, table, n_heads, gold + (size_t)i * (size_t)n_heads);
        if (beir) tables[i] = table;
        else free(table);
        if (rc == 0 && q->s.comm->rank == 0) {
            const double spent = dy_now() - t0;
            fprintf(stderr, "detect-heads: %d/%d examples, %d tokens, %.1f s, %.0f s left\n", i + 1, q->data.n,
                    p->real.ids.n, spent, spent / (i + 1) * (q->data.n - i - 1));
        }
    }
    free(mass);
    free(layer);
    free(head);
    return rc;
}

static int run(const options *o, dy_comm *comm, dy_error *err) {
    const bool beir = strcmp(o->criterion, "beir") == 0;
    dy_cli_qrhead q = {0};
    dy_qrels qrels = {0};
    // Everything that could fail at the end is checked first: the files read, the folders written.
    static dy_dysco_config base;
    int rc = dy_qr_data_load(o->data, !beir, &q.data, err);
    if (rc == 0 && beir) rc = dy_qrels_load(o->qrels, &qrels, err);
    if (rc == 0 && o->config_base) rc = dy_dysco_config_load(o->config_base, &base, err);
    if (rc == 0 && o->output) rc = dy_check_writable(o->output, "--output", err);
    if (rc == 0 && o->config_out) rc = dy_check_writable(o->config_out, "--config-out", err);
    if (rc == 0) prepare_examples(&q.data, beir, (int)o->truncate_words);
    int status = dy_cli_qrhead_start(&q, o->model, o->data, o->null_query, o->device, comm, rc, err);
    const int n_heads = status == DY_EXIT_OK ? q.s.model.cfg.n_layers * q.s.model.cfg.n_heads : 0;
    double *gold = NULL, **tables = NULL, *scores = NULL;
    int *order = NULL;
    if (status == DY_EXIT_OK) {
        gold = calloc((size_t)q.data.n * (size_t)n_heads, sizeof *gold);
        tables = calloc((size_t)q.data.n, sizeof *tables);
        scores = calloc((size_t)n_heads, sizeof *scores);
        order = calloc((size_t)n_heads, sizeof *order);
        rc = gold && tables && scores && order ? 0 : dy_fail(err, "detect-heads: out of memory");
        if (rc == 0) rc = score_examples(&q, beir, gold, tables, err);
        if (rc) status = dy_cli_job_fail(comm, DY_EXIT_FAIL, err);
    }
    if (status == DY_EXIT_OK && comm->rank == 0) {
        rc = head_scores(o, &q.data, beir ? &qrels : NULL, gold, tables, n_heads, scores, err);
        if (rc == 0) dy_qrhead_rank(scores, n_heads, order);
        if (rc == 0) rc = write_scores(o, scores, order, n_heads, q.s.model.cfg.n_heads, err);
        if (rc == 0 && o->config_out) rc = write_config(o, o->config_base ? &base : NULL, &q.s, order, q.s.model.cfg.n_heads, err);
        if (rc) status = dy_report(DY_EXIT_FAIL, err);
    }
    for (int i = 0; tables && i < q.data.n; i++) free(tables[i]);
    free(tables);
    free(gold);
    free(scores);
    free(order);
    dy_qrels_free(&qrels);
    dy_cli_qrhead_close(&q);
    return status;
}

int dy_cli_detect_heads(int argc, char **argv) {
    options o;
    dy_error err;
    int status;
    if (!parse_options(argc, argv, &o, &status)) return status;
    if (check_options(&o, strcmp(o.criterion, "beir") == 0, &err)) return dy_report(DY_EXIT_USAGE, &err);
    if (dy_cli_job_check_tp("detect-heads", o.tp, &err)) return dy_report(DY_EXIT_USAGE, &err);
    dy_comm *comm = dy_comm_create(dy_cli_job_env(), &err);
    if (!comm) return dy_report(DY_EXIT_FAIL, &err);
    status = run(&o, comm, &err);
    comm->destroy(comm);
    return status;
}

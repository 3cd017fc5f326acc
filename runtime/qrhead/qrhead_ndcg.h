// The BEIR criterion of QRHead detection (spec/qrhead.md §2.3): a head's nDCG@10 over the
// examples when it ranks each example's documents alone, computed as BEIR's EvaluateRetrieval
// does through pytrec_eval (trec_eval's ndcg_cut_10): gains are the relevance levels, discount
// log2(rank + 1), ties in score broken by document id in descending strcmp order, documents whose
// id equals the query's dropped, judgments of relevance 0 dropped, the mean over the queries
// rounded to 5 decimals.
#ifndef DYSCO_QRHEAD_NDCG_H
#define DYSCO_QRHEAD_NDCG_H

#include <stdbool.h>

#include "kernels/base/error.h"

typedef struct {
    char *query, *doc;
    int rel;  // > 0: judgments of 0 are dropped when read
} dy_qrel;

typedef struct {
    dy_qrel *at;
    int n;
} dy_qrels;

// A qrels file: TREC lines "QUERY ITER DOC REL" or BEIR's TSV "QUERY DOC REL" (a header line
// "query-id corpus-id score" skipped), fields split by spaces or tabs. Errors name the line.
int dy_qrels_load(const char *path, dy_qrels *q, dy_error *err);
void dy_qrels_free(dy_qrels *q);

// One query's judgments over its documents, looked up once for all heads: rel[k] the relevance of
// docs[k] (0 when unjudged, -1 for a document whose id is the query's, which BEIR drops), *ideal
// its ideal DCG@10. False when the query has no relevant judgment (trec_eval skips it).
bool dy_ndcg_prepare(const dy_qrels *q, const char *query, const char *const *docs, int n, int *rel, double *ideal);
// nDCG@10 of one ranking of those documents by scores (n of them).
double dy_ndcg10(const char *const *docs, const int *rel, const double *scores, int n, double ideal);
// The mean of the evaluated queries' values rounded to 5 decimals, as BEIR reports it.
double dy_ndcg_mean_rounded(double sum, int n_queries);

#endif

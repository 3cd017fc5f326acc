#include "tp_pick.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/pick_candidates.h"

// What each rank contributes to every pick.
typedef struct {
    double max, sum;     // the slice's largest logit and sum of exp(logit - max); -inf, 0 when empty
    int64_t vocab0;      // the slice's first id
    int32_t best;        // the id of its largest logit (the lowest such id), -1 when empty
    float forced_logit;  // p->forced's, where the slice holds it
    int32_t vocab;       // the slice's length
} rank_summary;

static void *alloc_or_abort(dy_comm *comm, size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "dysco[rank %d]: pick: out of memory (%zu bytes)\n", comm->rank, bytes);
        comm->abort(comm, 1);
    }
    return p;
}

static rank_summary summarise(const float *logits, int64_t vocab0, int vocab, int32_t forced) {
    rank_summary s = {.max = -INFINITY, .vocab0 = vocab0, .best = -1, .vocab = vocab};
    int best = 0;
    for (int i = 1; i < vocab; i++)
        if (logits[i] > logits[best]) best = i;  // strict: the first index wins ties
    if (vocab > 0) {
        s.max = logits[best];
        s.best = (int32_t)(vocab0 + best);
        for (int i = 0; i < vocab; i++) s.sum += exp((double)logits[i] - s.max);
    }
    if (forced >= vocab0 && forced < vocab0 + vocab) s.forced_logit = logits[forced - vocab0];
    return s;
}

// The rank whose slice holds id.
static int owner_of(const rank_summary *all, int size, int64_t id) {
    int r = 0;
    while (r + 1 < size && all[r + 1].vocab0 <= id) r++;
    return r;
}

// The tempered probabilities of the slice, as pick computes them for the whole vocabulary.
static void tempered(const float *logits, int64_t vocab0, int vocab, double max, float temperature,
                     dy_pick_candidate *c) {
    for (int i = 0; i < vocab; i++)
        c[i] = (dy_pick_candidate){(float)exp(((double)logits[i] - max) / temperature), (int32_t)(vocab0 + i)};
}

// Sampling over the whole vocabulary: the walk crosses the ranks in order, and the rank it ends
// in finds the id and broadcasts it.
static int32_t sample_walk(dy_comm *comm, const dy_pick_candidate *c, int vocab, const double *mass,
                           const dy_pick_params *p) {
    double total = 0;
    for (int r = 0; r < comm->size; r++) total += mass[r];
    double left = p->u * total;
    int owner = -1;
    for (int r = 0; r < comm->size && owner < 0; r++) {
        if (left < mass[r]) owner = r;
        else left -= mass[r];
    }
    if (owner < 0)  // rounding left the walk past the end: the last rank with mass ends it
        for (int r = 0; r < comm->size; r++)
            if (mass[r] > 0) owner = r;
    int32_t token = -1;
    if (owner == comm->rank) {  // pick's walk over this slice
        int32_t last = c[0].id;
        for (int i = 0; i < vocab && token < 0; i++) {
            if (c[i].p > 0) last = c[i].id;
            left -= c[i].p;
            if (left < 0) token = c[i].id;
        }
        if (token < 0) token = last;
    }
    comm->broadcast(comm, &token, sizeof token, owner < 0 ? 0 : owner);
    return token;
}

// Top-k or top-p: the ranks' candidates, gathered; every rank samples the same union.
static int32_t sample_union(dy_comm *comm, dy_pick_candidate *c, int vocab, double total, int64_t full_vocab,
                            const dy_pick_params *p) {
    dy_pick_params q = *p;
    q.sample_top_k = p->sample_top_k > 0 && p->sample_top_k < full_vocab ? p->sample_top_k : 0;
    dy_pick_sort_candidates(c, vocab);
    int32_t n = vocab;
    if (q.sample_top_k > 0) {
        if (q.sample_top_k < n) n = q.sample_top_k;
    } else {  // top-p alone: stop once the mass before the next token reaches top_p of the whole
        const double bound = p->sample_top_p * total * (1 + 1e-9);
        double mass = 0;
        n = 0;
        while (n < vocab && mass < bound) mass += c[n++].p;
    }
    int32_t counts[comm->size];
    comm->all_gather(comm, &n, counts, sizeof n);
    int32_t most = 0, all = 0;
    for (int r = 0; r < comm->size; r++) {
        most = counts[r] > most ? counts[r] : most;
        all += counts[r];
    }
    dy_pick_candidate *sent = alloc_or_abort(comm, (size_t)most * sizeof *sent);
    dy_pick_candidate *got = alloc_or_abort(comm, (size_t)comm->size * (size_t)most * sizeof *got);
    for (int i = 0; i < most; i++) sent[i] = i < n ? c[i] : (dy_pick_candidate){0};
    comm->all_gather(comm, sent, got, (size_t)most * sizeof *sent);
    int32_t k = 0;  // compact the padded blocks
    for (int r = 0; r < comm->size; r++)
        for (int i = 0; i < counts[r]; i++) got[k++] = got[(size_t)r * (size_t)most + (size_t)i];
    const int32_t token = dy_pick_sample_candidates(got, all, q.sample_top_k > 0 ? -1 : total, &q);
    free(sent);
    free(got);
    return token;
}

void dy_tp_pick(dy_comm *comm, const float *logits, int64_t vocab0, int vocab, const dy_pick_params *p, dy_pick *out) {
    const int size = comm->size;
    rank_summary mine = summarise(logits, vocab0, vocab, p->forced), all[size];
    comm->all_gather(comm, &mine, all, sizeof mine);
    int best = 0;  // the first rank holding the largest logit holds the lowest such id
    for (int r = 1; r < size; r++)
        if (all[r].max > all[best].max) best = r;
    const double max = all[best].max;
    double sum = 0;
    for (int r = 0; r < size; r++)
        if (all[r].vocab > 0) sum += all[r].sum * exp(all[r].max - max);
    const int32_t argmax = all[best].best;
    int32_t token = argmax;
    float logit = (float)max;
    if (p->forced >= 0) {
        token = p->forced;
        logit = all[owner_of(all, size, token)].forced_logit;
    } else if (p->temperature > 0) {
        dy_pick_candidate *c = alloc_or_abort(comm, (size_t)vocab * sizeof *c);
        tempered(logits, vocab0, vocab, max, p->temperature, c);
        double mass = 0, masses[size], total = 0;
        for (int i = 0; i < vocab; i++) mass += c[i].p;
        comm->all_gather(comm, &mass, masses, sizeof mass);
        for (int r = 0; r < size; r++) total += masses[r];
        const int64_t full_vocab = all[size - 1].vocab0 + all[size - 1].vocab;
        const bool truncated = (p->sample_top_k > 0 && p->sample_top_k < full_vocab) || p->sample_top_p < 1;
        token = truncated ? sample_union(comm, c, vocab, total, full_vocab, p) : sample_walk(comm, c, vocab, masses, p);
        free(c);
        const int owner = owner_of(all, size, token);  // its logit, for the log-probability
        if (owner == comm->rank) logit = logits[token - vocab0];
        comm->broadcast(comm, &logit, sizeof logit, owner);
    }
    *out = (dy_pick){.token = token, .argmax = argmax, .logprob = (float)((double)logit - max - log(sum))};
}

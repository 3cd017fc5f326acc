// The next token from a vocabulary split across the ranks (the LM head's rows by vocabulary,
// runtime/model/tp_shard.h): the same choice pick makes on the whole vocabulary
// (kernels/backend.h), from small per-rank summaries, never the whole logit vector.
//   greedy and forced: one all-gather of 40 bytes per rank (the rank's best logit and its id, its
//     log-sum-exp parts, the forced token's logit where the rank holds it): the argmax is the
//     lowest id among the ranks' best (ranks hold ascending ranges), the log-probability
//     logit - M - log(sum_r s_r exp(m_r - M)).
//   sampling without top-k and top-p: the ranks' tempered masses, then the rank whose range the
//     inverse-CDF walk ends in walks its slice and broadcasts the id.
//   top-k: each rank sends its own k best; top-p alone: each rank sends its most likely tokens
//     until their mass reaches top_p of the whole vocabulary's (a superset of its part of the
//     nucleus); every rank then samples the union as pick samples the vocabulary
//     (kernels/pick_candidates.h).
// Sums over the vocabulary are added per rank, then across ranks in rank order, so they may
// differ from one process's in the last bits of a double; every rank holds the same result.
#ifndef DYSCO_TP_PICK_H
#define DYSCO_TP_PICK_H

#include "comm.h"
#include "kernels/backend.h"

// logits: host (vocab) this rank's slice, token ids [vocab0, vocab0 + vocab); every rank of comm
// calls it with the same p. A failure (out of memory) ends the job, like the collectives.
void dy_tp_pick(dy_comm *comm, const float *logits, int64_t vocab0, int vocab, const dy_pick_params *p, dy_pick *out);

#endif

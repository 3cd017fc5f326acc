// The DySCO controller (runtime/dysco/README.md §1-§7): the phase timeline,
// the decayed importance of every key position, token selection (top-k, nucleus, hybrid), the
// logit bias of the real pass and the generation_logging counters. Plain arrays; the model and
// the attention capture belong to the generation loop.
//
// Deliberate differences from the reference, which works in bf16: importance, head mean and bias
// are fp32 (sums, renormalisation and the nucleus cumsum in double); the nucleus threshold is p
// as given (the reference compares at bf16 precision, 0.975 -> 0.9765625); the bias is log(s)
// rounded to fp32 (the reference rounds log(s) to bf16, e.g. log 2 = 0.69140625). Static mode
// with Wc <= 1 selects over fp32 zeros (the reference's vector is int64 there, dysco/README §9).
#ifndef DYSCO_DYSCO_CONTROLLER_H
#define DYSCO_DYSCO_CONTROLLER_H

#include <stdbool.h>
#include <stdint.h>

#include "dysco_config.h"
#include "kernels/base/error.h"

// ---- Timeline (dysco/README §1) --------------------------------------------------------------
// Iteration 0 prefills x[0 .. N-T-1] (T = Wc + Wi). Every later iteration feeds one token at
// position cur_len - 1, where cur_len is the sequence length including it (= the KV length c).

typedef enum {
    DY_DYSCO_WARMUP,     // one full pass capturing the heads' attention; decay update; no logits
    DY_DYSCO_INTERVENE,  // dynamic: speculative pass (layers 0..Lmax) + update; selection; biased real pass
} dy_dysco_phase;

// N - T: the number of prompt tokens in the prefill.
int dy_dysco_prefill_len(int prompt_len, int ctx_warmup, int interv_warmup);
// Warmup while cur_len < N - Wi, intervention from then on (Wc - 1 warmup steps in all).
dy_dysco_phase dy_dysco_phase_at(int cur_len, int prompt_len, int interv_warmup);
// Whether the step's logits choose the next token: from the step feeding x[N-1] on. Earlier
// steps (teacher-forced look-back tokens) discard them.
bool dy_dysco_step_produces(int cur_len, int prompt_len);

// ---- State ------------------------------------------------------------------------------------

enum { DY_DYSCO_LOG_AVG_NUM_TOKEN, DY_DYSCO_LOG_AVG_NUCLEUS_MASS, DY_DYSCO_LOG_SCALE_BY_TOKEN,
       DY_DYSCO_LOG_SCALE_BY_NUCLEUS, DY_DYSCO_LOG_NUM_GENERATIONS, DY_DYSCO_LOG_N };
// The reference's generation_logging keys, indexed by DY_DYSCO_LOG_*.
extern const char *const dy_dysco_log_names[DY_DYSCO_LOG_N];

typedef struct {
    bool has_select_top_k, has_select_top_p, dynamic;
    int select_top_k;
    double select_top_p, strength, decay;
    int max_ctx;
    int len;             // entries of importance (N - T zeros until the first update)
    float *importance;   // (max_ctx) decayed, normalised importance
    float *attn;         // (max_ctx) the last update's head mean
    double *head_sum;    // (max_ctx) its sum over the heads, before the division
    bool *selected;      // (max_ctx) the last selection, before template masking; static: the frozen one
    int n_selected;      // its count
    bool frozen;         // static: the selection was made
    bool *template_mask;  // (prompt_len) positions inside a template occurrence; NULL: no masking
    int prompt_len;
    uint32_t *keys, *keys_tmp;  // (max_ctx) radix-sort scratch
    int32_t *order, *order_tmp;
    double log[DY_DYSCO_LOG_N];  // running sums (dysco/README §7)
} dy_dysco_state;

// cfg must be validated; interv_warmup is the resolved Wi; max_ctx bounds the KV length (at
// least N). Checks the prompt (dy_dysco_check_prompt) and marks the template occurrences of the
// prompt (all of them, overlaps allowed) unless cfg->scale_template_tokens.
int dy_dysco_init(dy_dysco_state *s, const dy_dysco_config *cfg, const int32_t *prompt, int prompt_len,
                  int interv_warmup, int max_ctx, dy_error *err);
void dy_dysco_free(dy_dysco_state *s);

// After a pass that captured the newest query's attention for the selected heads: probs is
// (n_pairs, c) row-major, c = s->len + 1 (asserted, as are the lengths below). Averages the rows and applies the decay update
// new[j] = a[j] + lambda old[j] (j < c-1), new[c-1] = a[c-1], divided by its sum.
void dy_dysco_update(dy_dysco_state *s, const float *probs, int n_pairs, int c);
// The update in two halves, so that tensor-parallel ranks can add their heads' partial sums
// between them: s->head_sum[j] = the rows of probs (n_pairs, c) added in row order in double;
// then the mean over n_pairs heads and the decay update from s->head_sum (c entries), by then the
// sum over all of them.
void dy_dysco_head_sum(dy_dysco_state *s, const float *probs, int n_pairs, int c);
void dy_dysco_update_from_sum(dy_dysco_state *s, int n_pairs, int c);

// Selection and the bias of the real pass at KV length c, written to bias[0 .. c-1]. Dynamic:
// selects on the current importance (s->len == c) and logs. Static: the first call selects on
// the importance left by the warmup (s->len == c - 1) and logs once; later calls reuse it.
// 0 < s < 99: log(s) on selected positions not masked as template, 0 elsewhere; s >= 99: 0 on
// selected positions, -inf elsewhere, no template masking. Position c-1 always gets log(s) / 0.
void dy_dysco_select_and_bias(dy_dysco_state *s, int c, float *bias);

// For traces: the count of the last selection (before template masking), and up to max positions
// of highest importance, descending, ties to the lower index; returns how many were written.
int dy_dysco_last_n_selected(const dy_dysco_state *s);
int dy_dysco_top_positions(const dy_dysco_state *s, int *out, int max);

// generation_logging as the reference returns it: the first four divided by num_generations
// (all 0 before any selection), then num_generations. Indexed by DY_DYSCO_LOG_*.
void dy_dysco_logging(const dy_dysco_state *s, double out[DY_DYSCO_LOG_N]);

#endif

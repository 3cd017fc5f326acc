#include "dysco_controller.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int dy_dysco_prefill_len(int prompt_len, int ctx_warmup, int interv_warmup) {
    return prompt_len - ctx_warmup - interv_warmup;
}

dy_dysco_phase dy_dysco_phase_at(int cur_len, int prompt_len, int interv_warmup) {
    return cur_len < prompt_len - interv_warmup ? DY_DYSCO_WARMUP : DY_DYSCO_INTERVENE;
}

bool dy_dysco_step_produces(int cur_len, int prompt_len) { return cur_len >= prompt_len; }

// Every occurrence of every template sequence in the prompt, overlaps included (dysco/README §5).
// An empty sequence marks nothing, as in the reference.
static void mark_templates(bool *mask, const int32_t *x, int n, const dy_dysco_config *cfg) {
    for (int t = 0; t < cfg->n_templates; t++) {
        const int32_t *seq = cfg->template_tokens + cfg->template_start[t];
        const int len = cfg->template_start[t + 1] - cfg->template_start[t];
        for (int i = 0; len > 0 && i + len <= n; i++)
            if (memcmp(x + i, seq, (size_t)len * sizeof *seq) == 0)
                for (int j = i; j < i + len; j++) mask[j] = true;
    }
}

int dy_dysco_init(dy_dysco_state *s, const dy_dysco_config *cfg, const int32_t *prompt, int prompt_len,
                  int interv_warmup, int max_ctx, dy_error *err) {
    memset(s, 0, sizeof *s);
    if (dy_dysco_check_prompt(cfg, interv_warmup, prompt_len, err)) return -1;
    if (max_ctx < prompt_len)
        return dy_fail(err, "dysco: a context of %d tokens cannot hold the %d-token prompt", max_ctx, prompt_len);
    s->has_select_top_k = cfg->has_select_top_k;
    s->select_top_k = cfg->select_top_k;
    s->has_select_top_p = cfg->has_select_top_p;
    s->select_top_p = cfg->select_top_p;
    s->strength = cfg->strength;
    s->decay = cfg->decay;
    s->dynamic = cfg->dynamic;
    s->max_ctx = max_ctx;
    s->prompt_len = prompt_len;
    s->len = dy_dysco_prefill_len(prompt_len, cfg->ctx_warmup, interv_warmup);
    const size_t n = (size_t)max_ctx;
    s->importance = calloc(n, sizeof *s->importance);  // zeros: the reference's initial importance
    s->attn = calloc(n, sizeof *s->attn);
    s->head_sum = malloc(n * sizeof *s->head_sum);
    s->selected = calloc(n, sizeof *s->selected);  // zeros: static mode extends its mask with False
    s->keys = malloc(n * sizeof *s->keys);
    s->keys_tmp = malloc(n * sizeof *s->keys_tmp);
    s->order = malloc(n * sizeof *s->order);
    s->order_tmp = malloc(n * sizeof *s->order_tmp);
    bool ok = s->importance && s->attn && s->head_sum && s->selected && s->keys && s->keys_tmp && s->order && s->order_tmp;
    if (ok && !cfg->scale_template_tokens && cfg->n_templates > 0) {
        s->template_mask = calloc((size_t)prompt_len, sizeof *s->template_mask);
        ok = s->template_mask != NULL;
        if (ok) mark_templates(s->template_mask, prompt, prompt_len, cfg);
    }
    if (!ok) {
        dy_dysco_free(s);
        return dy_fail(err, "dysco: out of memory for the state of a %d-token context", max_ctx);
    }
    return 0;
}

void dy_dysco_free(dy_dysco_state *s) {
    free(s->importance);
    free(s->attn);
    free(s->head_sum);
    free(s->selected);
    free(s->template_mask);
    free(s->keys);
    free(s->keys_tmp);
    free(s->order);
    free(s->order_tmp);
    memset(s, 0, sizeof *s);
}

// new[j] = a[j] + lambda old[j] for j < c-1; the current position c-1 has no history.
static double decayed(const dy_dysco_state *s, int j, int c) {
    return j < c - 1 ? (double)s->attn[j] + s->decay * s->importance[j] : (double)s->attn[j];
}

void dy_dysco_head_sum(dy_dysco_state *s, const float *probs, int n_pairs, int c) {
    assert(c <= s->max_ctx);
    // In blocks of positions so that every row is read sequentially (16 interleaved row streams
    // ran 2.5x slower at 128k).
    enum { BLOCK = 512 };
    for (int j0 = 0; j0 < c; j0 += BLOCK) {
        const int n = c - j0 < BLOCK ? c - j0 : BLOCK;
        double acc[BLOCK] = {0};
        for (int i = 0; i < n_pairs; i++) {
            const float *row = probs + (size_t)i * (size_t)c + (size_t)j0;
            for (int j = 0; j < n; j++) acc[j] += row[j];
        }
        memcpy(s->head_sum + j0, acc, (size_t)n * sizeof *acc);
    }
}

void dy_dysco_update_from_sum(dy_dysco_state *s, int n_pairs, int c) {
    assert(c == s->len + 1 && c <= s->max_ctx && n_pairs > 0);
    for (int j = 0; j < c; j++) s->attn[j] = (float)(s->head_sum[j] / n_pairs);
    // Divided by the actual sum (~1 + lambda), not by 1 + lambda. Position j reads only its own
    // old value, so the second pass can overwrite in place.
    double total = 0;
    for (int j = 0; j < c; j++) total += decayed(s, j, c);
    for (int j = 0; j < c; j++) s->importance[j] = (float)(decayed(s, j, c) / total);
    s->len = c;
}

void dy_dysco_update(dy_dysco_state *s, const float *probs, int n_pairs, int c) {
    dy_dysco_head_sum(s, probs, n_pairs, c);
    dy_dysco_update_from_sum(s, n_pairs, c);
}

// Positions 0 .. c-1 by value, descending, equal values in increasing index order: the order of
// torch's stable descending sort, whose first k are also torch.topk's picks. An LSD radix sort
// on the float bits (stable by construction) is O(c): at 128k positions selection takes ~1.5 ms
// per decoded token, where qsort took ~20 ms.
static const int32_t *sort_desc(dy_dysco_state *s, const float *v, int c) {
    uint32_t *k = s->keys, *kt = s->keys_tmp;
    int32_t *o = s->order, *ot = s->order_tmp;
    for (int j = 0; j < c; j++) {
        uint32_t u;
        memcpy(&u, &v[j], sizeof u);
        u = (u & 0x80000000u) ? ~u : u | 0x80000000u;  // float order as unsigned order
        k[j] = ~u;                                      // descending
        o[j] = j;
    }
    for (int shift = 0; shift < 32; shift += 8) {
        int start[257] = {0};
        for (int j = 0; j < c; j++) start[((k[j] >> shift) & 255u) + 1]++;
        if (start[((k[0] >> shift) & 255u) + 1] == c) continue;  // every key has this byte
        for (int b = 0; b < 256; b++) start[b + 1] += start[b];
        for (int j = 0; j < c; j++) {
            const int d = start[(k[j] >> shift) & 255u]++;
            kt[d] = k[j];
            ot[d] = o[j];
        }
        uint32_t *tk = k;
        k = kt;
        kt = tk;
        int32_t *to = o;
        o = ot;
        ot = to;
    }
    return o;
}

// Nucleus (dysco/README §3): renormalise by the sum, keep sorted position i iff the cumulative mass up
// to it is <= p (the crossing token is excluded), always keep the first. With an all-zero vector
// the reference's renormalisation is NaN and only the first survives; so here.
static int nucleus(dy_dysco_state *s, const float *v, int c, const int32_t *order) {
    double sum = 0;
    for (int j = 0; j < c; j++) sum += v[j];
    for (int j = 0; j < c; j++) s->selected[j] = false;
    s->selected[order[0]] = true;
    int count = 1;
    double cum = 0;
    for (int i = 0; sum > 0 && i < c; i++) {
        cum += v[order[i]] / sum;
        if (i > 0 && cum <= s->select_top_p) {
            s->selected[order[i]] = true;
            count++;
        }
    }
    return count;
}

// top_k, top_p or hybrid (nucleus unless it holds more than k positions) over v[0 .. c-1] into
// s->selected, with the logging of dysco/README §7.
static void select_tokens(dy_dysco_state *s, const float *v, int c) {
    const int32_t *order = sort_desc(s, v, c);
    int count = 0;
    bool by_token = true;
    if (s->has_select_top_p) {
        count = nucleus(s, v, c, order);
        by_token = s->has_select_top_k && count > s->select_top_k;
    }
    if (by_token) {
        count = s->select_top_k < c ? s->select_top_k : c;
        double mass = 0;
        for (int j = 0; j < c; j++) s->selected[j] = false;
        for (int i = 0; i < count; i++) {
            s->selected[order[i]] = true;
            mass += v[order[i]];
        }
        s->log[DY_DYSCO_LOG_AVG_NUCLEUS_MASS] += mass;
        s->log[DY_DYSCO_LOG_SCALE_BY_TOKEN] += 1;
    } else {
        s->log[DY_DYSCO_LOG_AVG_NUCLEUS_MASS] += s->select_top_p;  // the parameter, not the realised mass
        s->log[DY_DYSCO_LOG_SCALE_BY_NUCLEUS] += 1;
    }
    s->log[DY_DYSCO_LOG_AVG_NUM_TOKEN] += count;
    s->log[DY_DYSCO_LOG_NUM_GENERATIONS] += 1;
    s->n_selected = count;
}

void dy_dysco_select_and_bias(dy_dysco_state *s, int c, float *bias) {
    if (s->dynamic) {
        assert(s->len == c);
        select_tokens(s, s->importance, c);
    } else if (!s->frozen) {
        assert(s->len == c - 1);
        select_tokens(s, s->importance, c - 1);
        s->frozen = true;
    }
    const bool hard = s->strength >= 99;
    const float on = hard ? 0.0f : (float)log(s->strength), off = hard ? -INFINITY : 0.0f;
    // Template positions lose their selection, prompt positions only and only when 0 < s < 99.
    const int masked = hard || !s->template_mask ? 0 : s->prompt_len;
    for (int j = 0; j < c; j++) bias[j] = s->selected[j] && !(j < masked && s->template_mask[j]) ? on : off;
    bias[c - 1] = on;  // the current token is always up-weighted
}

int dy_dysco_last_n_selected(const dy_dysco_state *s) { return s->n_selected; }

// A running list of the best `max` so far: O(len * max) at worst, far less in practice.
int dy_dysco_top_positions(const dy_dysco_state *s, int *out, int max) {
    int n = 0;
    for (int j = 0; j < s->len && max > 0; j++) {
        const float v = s->importance[j];
        if (n == max && !(v > s->importance[out[n - 1]])) continue;
        int i = n < max ? n++ : n - 1;
        for (; i > 0 && v > s->importance[out[i - 1]]; i--) out[i] = out[i - 1];
        out[i] = j;
    }
    return n;
}

const char *const dy_dysco_log_names[DY_DYSCO_LOG_N] = {
    [DY_DYSCO_LOG_AVG_NUM_TOKEN] = "avg_num_token",       [DY_DYSCO_LOG_AVG_NUCLEUS_MASS] = "avg_nucleus_mass",
    [DY_DYSCO_LOG_SCALE_BY_TOKEN] = "scale_by_token",     [DY_DYSCO_LOG_SCALE_BY_NUCLEUS] = "scale_by_nucleus",
    [DY_DYSCO_LOG_NUM_GENERATIONS] = "num_generations",
};

void dy_dysco_logging(const dy_dysco_state *s, double out[DY_DYSCO_LOG_N]) {
    const double g = s->log[DY_DYSCO_LOG_NUM_GENERATIONS];
    for (int i = 0; i < DY_DYSCO_LOG_NUM_GENERATIONS; i++) out[i] = g > 0 ? s->log[i] / g : 0;
    out[DY_DYSCO_LOG_NUM_GENERATIONS] = g;
}

#include "tp_shard.h"

#include "model.h"

static int check_divides(int n, int tp, const char *what, dy_error *err) {
    if (n % tp != 0) return dy_fail(err, "--tp %d: %s (%d) is not divisible by %d", tp, what, n, tp);
    return 0;
}

int dy_tp_check(const dy_model_config *c, int tp, dy_error *err) {
    if (tp < 1) return dy_fail(err, "--tp %d: must be at least 1", tp);
    if (check_divides(c->n_heads, tp, "num_attention_heads", err) ||
        check_divides(c->intermediate_size, tp, "intermediate_size", err) ||
        (c->arch == DY_ARCH_QWEN3_MOE && check_divides(c->moe_intermediate_size, tp, "moe_intermediate_size", err)))
        return -1;
    if (tp > c->n_kv_heads && tp % c->n_kv_heads != 0)
        return dy_fail(err, "--tp %d: must be a multiple of num_key_value_heads (%d) to replicate KV heads", tp,
                       c->n_kv_heads);
    if (tp <= c->n_kv_heads) return check_divides(c->n_kv_heads, tp, "num_key_value_heads", err);
    return 0;
}

int dy_tp_kv_heads_per_rank(const dy_model_config *c, int tp) { return tp >= c->n_kv_heads ? 1 : c->n_kv_heads / tp; }

dy_shard_range dy_tp_shard(const dy_model_config *c, const dy_tensor_spec *s, int tp, int rank) {
    const int64_t rows = s->shape[0], cols = s->ndim == 2 ? s->shape[1] : s->shape[0];
    dy_shard_range r = {0, s->ndim == 2 ? rows : 1, 0, cols};
    switch (s->split) {
    case DY_SPLIT_NONE: break;
    case DY_SPLIT_ROWS:
        r.rows = rows / tp;
        r.row0 = rank * r.rows;
        break;
    case DY_SPLIT_KV_ROWS: {
        int per_rank = dy_tp_kv_heads_per_rank(c, tp);
        int first_head = tp >= c->n_kv_heads ? rank * c->n_kv_heads / tp : rank * per_rank;
        r.rows = (int64_t)per_rank * c->head_dim;
        r.row0 = (int64_t)first_head * c->head_dim;
        break;
    }
    case DY_SPLIT_COLS:
        r.cols = cols / tp;
        r.col0 = rank * r.cols;
        break;
    case DY_SPLIT_VOCAB: dy_tp_vocab_range(c, tp, rank, &r.row0, &r.rows); break;
    }
    return r;
}

void dy_tp_vocab_range(const dy_model_config *c, int tp, int rank, int64_t *first, int64_t *n) {
    const int64_t vocab = c->vocab_size, per = (vocab + tp - 1) / tp;
    *first = rank * per < vocab ? rank * per : vocab;
    *n = vocab - *first < per ? vocab - *first : per;
}

dy_model_shard dy_model_shard_of(const dy_model_config *c, dy_comm *comm) {
    const int tp = comm ? comm->size : 1, rank = comm ? comm->rank : 0;
    dy_model_shard s = {comm, tp, rank, c->n_heads / tp, dy_tp_kv_heads_per_rank(c, tp), 0, 0};
    dy_tp_vocab_range(c, tp, rank, &s.vocab0, &s.vocab);
    return s;
}

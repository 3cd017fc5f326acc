#include "cli_qrhead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_job.h"

static int build_pairs(dy_cli_qrhead *q, const char *data_path, const char *null_query, int *longest, dy_error *err) {
    dy_cli_session *s = &q->s;
    if (!s->tok) return dy_fail(err, "%s: no tokenizer.json (the scoring prompts need it)", s->dir);
    if (!(q->pairs = calloc((size_t)q->data.n, sizeof *q->pairs))) return dy_fail(err, "qrhead: out of memory");
    *longest = 0;
    for (int i = 0; i < q->data.n; i++) {
        const dy_qr_example *e = &q->data.ex[i];
        char what[256];
        if (q->data.n == 1) snprintf(what, sizeof what, "%s", data_path);
        else snprintf(what, sizeof what, "%s: example %d (idx %.60s)", data_path, i, e->idx);
        if (dy_qr_pair_build(s->ck.config.arch, s->tok, e->question, null_query, e->docs, e->n_docs, what, &q->pairs[i],
                             err))
            return -1;
        const int n = dy_qr_pair_positions(&q->pairs[i]);
        *longest = n > *longest ? n : *longest;
    }
    return 0;
}

int dy_cli_qrhead_start(dy_cli_qrhead *q, const char *model_dir, const char *data_path, const char *null_query,
                        const char *device, dy_comm *comm, int rc, dy_error *err) {
    int longest = 0;
    if (rc == 0) rc = dy_cli_session_open(&q->s, model_dir, false, err);
    if (rc == 0) rc = build_pairs(q, data_path, null_query, &longest, err);
    int status = dy_cli_session_backend(&q->s, comm, device, false, rc, err);
    if (status != DY_EXIT_OK) return status;
    rc = dy_cli_session_load(&q->s, longest, 0, "the longest scoring prompt", err);
    bool quiet = false;
    if (dy_cli_job_agree(comm, rc, &quiet)) return quiet ? DY_EXIT_FAIL : dy_report(DY_EXIT_FAIL, err);
    return DY_EXIT_OK;
}

void dy_cli_qrhead_close(dy_cli_qrhead *q) {
    for (int i = 0; q->pairs && i < q->data.n; i++) dy_qr_pair_free(&q->pairs[i]);
    free(q->pairs);
    dy_qr_data_free(&q->data);
    dy_cli_session_close(&q->s);
}

int dy_cli_qrhead_default_dysco(dy_cli_session *s, dy_dysco_config *c, dy_error *err) {
    static const char *const qwen[] = {"<|im_start|>system\n", "<|im_start|>user\n", "<|im_start|>assistant\n",
                                       "<think>\n\n</think>\n\n", NULL};
    static const char *const llama[] = {"<|begin_of_text|>", "<|start_header_id|>system<|end_header_id|>\n\n",
                                        "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n",
                                        "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n", NULL};
    dy_dysco_config_defaults(c);
    c->has_select_top_k = true;
    c->select_top_k = 4096;
    c->has_select_top_p = true;
    c->select_top_p = 0.975;
    c->strength = 2.0;
    c->decay = 0.75;
    c->ctx_warmup = 8;
    const char *const *headers = s->ck.config.arch == DY_ARCH_LLAMA ? llama : qwen;
    c->template_start[0] = 0;
    for (int t = 0; headers[t]; t++) {
        dy_tokens ids = {0};
        if (dy_tokenizer_encode(s->tok, headers[t], strlen(headers[t]), false, &ids, err)) return -1;
        for (int i = 0; i < ids.n; i++) c->template_tokens[c->template_start[t] + i] = ids.ids[i];
        c->template_start[t + 1] = c->template_start[t] + ids.n;
        c->n_templates = t + 1;
        dy_tokens_free(&ids);
    }
    return 0;
}

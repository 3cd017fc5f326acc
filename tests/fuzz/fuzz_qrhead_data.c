// A QRHead calibration file (dysco detect-heads --data) through dy_qr_data_load, with and without
// the gold ids LME needs, then each example's preparation (strip, a word cut) and its pair of
// scoring prompts with the real Qwen3 tokenizer (prompt text, offsets, the span search); and the
// same bytes as a qrels file (dy_qrels_load) with an nDCG@10 of the first example over it.
#include <limits.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "runtime/qrhead/qrhead_ndcg.h"
#include "runtime/qrhead/qrhead_prompt.h"
#include "runtime/tokenizer/chat_template.h"

static void prompts(const dy_qr_data *d, dy_tokenizer *tok, const char *path) {
    for (int i = 0; i < d->n && i < 4; i++) {
        dy_qr_example *e = &d->ex[i];
        for (int k = 0; k < e->n_docs; k++) dy_qr_prepare_text(&e->docs[k], i % 2 ? 3 : 0);
        dy_qr_pair p;
        dy_error err;
        const char *names[] = {path, NULL};
        if (dy_qr_pair_build(i % 2 ? DY_ARCH_LLAMA : DY_ARCH_QWEN3, tok, e->question, "N/A", e->docs, e->n_docs, path,
                             &p, &err) == 0)
            dy_qr_pair_free(&p);
        else
            fuzz_check_error(&err, names);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[PATH_MAX];
    fuzz_write("data.json", data, size, path);
    const char *names[] = {path, NULL};
    static dy_tokenizer *tok;
    static dy_chat_template tmpl;
    if (!tok) tok = fuzz_qwen3_tokenizer(&tmpl);
    for (int gold = 0; gold < 2; gold++) {
        dy_qr_data d;
        dy_error err;
        if (dy_qr_data_load(path, gold, &d, &err) == 0) {
            prompts(&d, tok, path);
            dy_qr_data_free(&d);
        } else {
            fuzz_check_error(&err, names);
        }
    }
    dy_qrels q;
    dy_error err;
    if (dy_qrels_load(path, &q, &err) == 0) {
        const char *docs[] = {q.at[0].doc, "d", q.at[0].query};
        const double scores[] = {0.5, 0.5, 1.0};
        int rel[3];
        double ideal;
        if (dy_ndcg_prepare(&q, q.at[0].query, docs, 3, rel, &ideal)) (void)dy_ndcg10(docs, rel, scores, 3, ideal);
        dy_qrels_free(&q);
    } else {
        fuzz_check_error(&err, names);
    }
    return 0;
}

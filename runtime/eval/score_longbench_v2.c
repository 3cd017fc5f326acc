// _eval_longbenchv2 (eval_datasets/longbenchv2/longbenchv2_data.py): the letter of the first
// "The correct answer is (X)", else of the first "The correct answer is X", with every "*" of the
// output removed first, against item.answer.
#include "eval_example.h"
#include "scorers.h"

// The letter A-D right after the first occurrence of lead in s that has one (and ")" after the
// letter, when parenthesised), or 0.
static uint32_t answer_after(const dy_ustr *s, const char *lead, size_t lead_len, bool parenthesised) {
    for (ptrdiff_t at = dy_ustr_find_ascii(s->cp, s->n, 0, lead, false); at >= 0;
         at = dy_ustr_find_ascii(s->cp, s->n, (size_t)at + 1, lead, false)) {
        const size_t k = (size_t)at + lead_len;
        if (k < s->n && s->cp[k] >= 'A' && s->cp[k] <= 'D' && (!parenthesised || (k + 1 < s->n && s->cp[k + 1] == ')')))
            return s->cp[k];
    }
    return 0;
}

int dy_score_longbench_v2(const dy_ustr *output, const cJSON *example, dy_metrics *m, dy_error *err) {
    dy_ustr gt = {0}, text = {0};
    if (dy_example_text(example, true, "answer", &gt, err)) return -1;
    for (size_t i = 0; i < output->n; i++)
        if (output->cp[i] != '*' && dy_ustr_push(&text, output->cp[i])) {
            dy_ustr_free(&gt);
            dy_ustr_free(&text);
            return dy_fail(err, "output: out of memory");
        }
    static const char with_parens[] = "The correct answer is (", plain[] = "The correct answer is ";
    uint32_t letter = answer_after(&text, with_parens, sizeof with_parens - 1, true);
    if (!letter) letter = answer_after(&text, plain, sizeof plain - 1, false);
    size_t a, b;
    dy_py_strip(gt.cp, gt.n, &a, &b);
    const bool correct = letter && b - a == 1 && gt.cp[a] == letter;
    dy_metrics_set(m, "accuracy", dy_metric_float(correct ? 1 : 0));
    dy_metrics_set(m, "extraction", dy_metric_float(letter ? 1 : 0));
    dy_ustr_free(&gt);
    dy_ustr_free(&text);
    return 0;
}

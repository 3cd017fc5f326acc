#include "dysco_config_write.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/text_buffer.h"

static void putf(dy_text_buffer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(dy_text_buffer *t, const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dy_text_puts(t, line);
}

// The shortest decimal that reads back as v (2.0 stays "2.0", 0.975 stays "0.975").
static void put_number(dy_text_buffer *t, const char *key, double v) {
    char text[40];
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v) break;
    }
    putf(t, "%s: %s%s\n", key, text, strpbrk(text, ".eni") ? "" : ".0");
}

static void put_comment(dy_text_buffer *t, const char *comment) {
    for (const char *p = comment; p && *p;) {
        const char *end = strchr(p, '\n');
        const size_t n = end ? (size_t)(end - p) : strlen(p);
        dy_text_puts(t, "# ");
        dy_text_put(t, p, n);
        dy_text_puts(t, "\n");
        p += n + (end != NULL);
    }
}

char *dy_dysco_config_format(const dy_dysco_config *c, const char *comment) {
    dy_text_buffer t = {0};
    put_comment(&t, comment);
    dy_text_puts(&t, "selected_heads: \"[");
    for (int i = 0; i < c->n_heads; i++) putf(&t, "%s(%d,%d)", i ? "," : "", c->heads[i].layer, c->heads[i].head);
    dy_text_puts(&t, "]\"\n");
    if (c->has_select_top_k) putf(&t, "top_k: %d\n", c->select_top_k);
    if (c->has_select_top_p) put_number(&t, "top_p", c->select_top_p);
    if (!isnan(c->strength)) put_number(&t, "strength", c->strength);
    if (!isnan(c->decay)) put_number(&t, "decay_factor", c->decay);
    putf(&t, "context_warmup_steps: %d\n", c->ctx_warmup);
    if (c->interv_auto) dy_text_puts(&t, "intervention_warmup: 'auto'\n");
    else putf(&t, "intervention_warmup: %d\n", c->interv_warmup);
    putf(&t, "scale_template_tokens: %s\n", c->scale_template_tokens ? "True" : "False");
    dy_text_puts(&t, c->n_templates ? "template_sequences:\n" : "template_sequences: []\n");
    for (int s = 0; s < c->n_templates; s++) {
        dy_text_puts(&t, "  - [");
        for (int i = c->template_start[s]; i < c->template_start[s + 1]; i++)
            putf(&t, "%s%d", i > c->template_start[s] ? ", " : "", c->template_tokens[i]);
        dy_text_puts(&t, "]\n");
    }
    putf(&t, "dynamic_rescale: %s\n", c->dynamic ? "True" : "False");
    return dy_text_take(&t);
}

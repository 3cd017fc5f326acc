#include "qrhead_prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/text_buffer.h"

typedef struct {
    const char *prefix, *sep, *suffix;
} prompt_strings;

static prompt_strings strings_of(dy_arch arch) {
    if (arch == DY_ARCH_LLAMA)
        return (prompt_strings){"<|start_header_id|>user<|end_header_id|>", " \n\n",
                                "<|eot_id|><|start_header_id|>assistant<|end_header_id|>"};
    return (prompt_strings){"<|im_start|>user", "\n\n", "<|im_end|>\n<|im_start|>assistant"};
}

static const char INSTRUCTION[] = " Here are some paragraphs:";
static const char INSTRUCTION_LATE[] = "Please find information that are relevant to the following query in the paragraphs above.";

// "[k] " + (title + "\n" when there is one) + paragraph text: a document's span text.
static void put_doc(dy_text_buffer *t, int k, const dy_qr_doc *d) {
    char label[24];
    snprintf(label, sizeof label, "[%d] ", k + 1);
    dy_text_puts(t, label);
    if (d->title) {
        dy_text_puts(t, d->title);
        dy_text_puts(t, "\n");
    }
    dy_text_puts(t, d->text);
}

static void put_query(dy_text_buffer *t, const prompt_strings *s, const char *query) {
    dy_text_puts(t, INSTRUCTION_LATE);
    dy_text_puts(t, s->sep);
    dy_text_puts(t, "Query: ");
    dy_text_puts(t, query);
    dy_text_puts(t, s->suffix);
}

// Code points before byte b of UTF-8 text (the continuation bytes 10xxxxxx are not counted).
static int64_t code_points_before(const char *text, size_t b) {
    int64_t n = 0;
    for (size_t i = 0; i < b; i++) n += ((unsigned char)text[i] & 0xC0) != 0x80;
    return n;
}

// The token holding each code point: the reference's char_offset_to_token_idx, where a later
// token covering the same character wins. -1 where no token covers it.
static int *token_of_char(const dy_token_offsets *o, int64_t n_chars) {
    int *map = malloc((size_t)(n_chars > 0 ? n_chars : 1) * sizeof *map);
    if (!map) return NULL;
    for (int64_t j = 0; j < n_chars; j++) map[j] = -1;
    for (int i = 0; i < o->n; i++)
        for (int64_t j = o->at[i].start; j < o->at[i].end && j < n_chars; j++) map[j] = i;
    return map;
}

// The span of the first occurrence of content (UTF-8) in the prompt.
static int find_span(const char *prompt, const int *map, const char *content, const char *what, dy_qr_span *span,
                     dy_error *err) {
    const char *at = strstr(prompt, content);
    if (!at || !*content) return dy_fail(err, "%s: its text is not in the prompt", what);
    const int64_t first = code_points_before(prompt, (size_t)(at - prompt));
    const int64_t last = first + code_points_before(content, strlen(content)) - 1;
    span->first = map[first];
    span->last = map[last];
    if (span->first < 0 || span->last < 0) return dy_fail(err, "%s: its first or last character is in no token", what);
    return 0;
}

int dy_qr_prompt_build(dy_arch arch, dy_tokenizer *tok, const char *query, const dy_qr_doc *docs, int n_docs,
                       dy_qr_prompt *out, dy_error *err) {
    *out = (dy_qr_prompt){0};
    const prompt_strings s = strings_of(arch);
    dy_text_buffer t = {0};
    dy_text_puts(&t, s.prefix);
    dy_text_puts(&t, INSTRUCTION);
    for (int k = 0; k < n_docs; k++) {
        dy_text_puts(&t, s.sep);
        put_doc(&t, k, &docs[k]);
    }
    dy_text_puts(&t, s.sep);
    put_query(&t, &s, query);
    if (!(out->text = dy_text_take(&t))) return dy_fail(err, "qrhead prompt: out of memory");

    dy_token_offsets offsets = {0};
    int *map = NULL;
    int rc = dy_tokenizer_encode_offsets(tok, out->text, strlen(out->text), true, &out->ids, &offsets, err);
    const int64_t n_chars = code_points_before(out->text, strlen(out->text));
    if (rc == 0 && !(map = token_of_char(&offsets, n_chars))) rc = dy_fail(err, "qrhead prompt: out of memory");
    if (rc == 0 && !(out->docs = calloc((size_t)n_docs, sizeof *out->docs)))
        rc = dy_fail(err, "qrhead prompt: out of memory");
    dy_text_buffer content = {0};
    put_query(&content, &s, query);
    char *text = dy_text_take(&content);
    if (rc == 0 && !text) rc = dy_fail(err, "qrhead prompt: out of memory");
    if (rc == 0) rc = find_span(out->text, map, text, "the query span", &out->query, err);
    free(text);
    out->n_docs = n_docs;
    for (int k = 0; rc == 0 && k < n_docs; k++) {
        put_doc(&content, k, &docs[k]);
        char what[80];
        snprintf(what, sizeof what, "paragraph %d (idx %.40s)", k, docs[k].idx);
        if (!(text = dy_text_take(&content))) rc = dy_fail(err, "qrhead prompt: out of memory");
        else rc = find_span(out->text, map, text, what, &out->docs[k], err);
        free(text);
        if (rc == 0 && out->docs[k].last >= out->query.first)
            rc = dy_fail(err, "%s: its tokens reach the query span (token %d of %d)", what, out->docs[k].last,
                         out->query.first);
    }
    if (rc == 0 && out->query.last != out->ids.n - 1)  // the tokenizer appended tokens after the suffix
        rc = dy_fail(err, "the query span ends at token %d, not the prompt's last (%d)", out->query.last, out->ids.n - 1);
    free(map);
    dy_token_offsets_free(&offsets);
    if (rc) dy_qr_prompt_free(out);
    return rc;
}

void dy_qr_prompt_free(dy_qr_prompt *p) {
    free(p->text);
    dy_tokens_free(&p->ids);
    free(p->docs);
    *p = (dy_qr_prompt){0};
}

int dy_qr_prompt_check_pair(const dy_qr_prompt *real, const dy_qr_prompt *null_query, const char *what,
                            dy_error *err) {
    const int q = real->query.first;
    if (null_query->query.first != q)
        return dy_fail(err, "%s: the query span starts at token %d, with the null query at %d (the prefix must be shared)",
                       what, q, null_query->query.first);
    if (null_query->ids.n < q || memcmp(real->ids.ids, null_query->ids.ids, (size_t)q * sizeof(int32_t)) != 0)
        return dy_fail(err, "%s: the tokens before the query span differ with the null query", what);
    return 0;
}

int dy_qr_pair_build(dy_arch arch, dy_tokenizer *tok, const char *query, const char *null_query, const dy_qr_doc *docs,
                     int n_docs, const char *what, dy_qr_pair *out, dy_error *err) {
    *out = (dy_qr_pair){0};
    char where[160];
    int rc = dy_qr_prompt_build(arch, tok, query, docs, n_docs, &out->real, err);
    if (rc == 0 && (rc = dy_qr_prompt_build(arch, tok, null_query, docs, n_docs, &out->null_query, err)))
        snprintf(where, sizeof where, "%s, null query", what);
    else if (rc)
        snprintf(where, sizeof where, "%s", what);
    if (rc) {  // the span problem, prefixed with the example it is in
        dy_error inner = *err;
        dy_fail(err, "%s: %s", where, inner.msg);
    }
    if (rc == 0) rc = dy_qr_prompt_check_pair(&out->real, &out->null_query, what, err);
    if (rc) dy_qr_pair_free(out);
    return rc;
}

void dy_qr_pair_free(dy_qr_pair *p) {
    dy_qr_prompt_free(&p->real);
    dy_qr_prompt_free(&p->null_query);
}

int dy_qr_pair_positions(const dy_qr_pair *p) {
    return p->real.ids.n > p->null_query.ids.n ? p->real.ids.n : p->null_query.ids.n;
}

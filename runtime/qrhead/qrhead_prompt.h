// QRHead's scoring prompt (spec/qrhead.md §1.1, §3.2): the documents and the query in one causal
// prompt, built by hand (not through the chat template), and the token spans of each document and
// of the query, found as the reference finds them: the first occurrence of the span's text in
// the prompt, mapped to tokens through the tokenizer's offsets.
#ifndef DYSCO_QRHEAD_PROMPT_H
#define DYSCO_QRHEAD_PROMPT_H

#include "qrhead_data.h"
#include "runtime/checkpoint/model_config.h"
#include "runtime/tokenizer/tokenizer.h"
#include "runtime/util/tokens.h"

typedef struct {
    int first, last;  // inclusive token indices
} dy_qr_span;

typedef struct {
    char *text;        // the prompt
    dy_tokens ids;     // its tokens (with the tokenizer's own special tokens, as tokenizer(prompt))
    dy_qr_span query;  // the last tokens: late instruction, "Query:", the question, the suffix
    dy_qr_span *docs;  // (n_docs)
    int n_docs;
} dy_qr_prompt;

// The reference knows Llama-3.x ("<|start_header_id|>user<|end_header_id|>", separator " \n\n")
// and Qwen2.5 ("<|im_start|>user", "\n\n"); Qwen3 and Qwen3-MoE take Qwen's strings.
// The prompt of the query over docs (in their order), its tokens and spans. Fails when a span's
// text does not map to tokens, or a document's span reaches into the query's.
int dy_qr_prompt_build(dy_arch arch, dy_tokenizer *tok, const char *query, const dy_qr_doc *docs, int n_docs,
                       dy_qr_prompt *out, dy_error *err);
void dy_qr_prompt_free(dy_qr_prompt *p);

// The real-query prompt and the null-query one must share their tokens before the query span,
// and it must start at the same token (the reference asserts both): the null pass reuses the
// prefix's KV cache. what names the example in the error.
int dy_qr_prompt_check_pair(const dy_qr_prompt *real, const dy_qr_prompt *null_query, const char *what, dy_error *err);

// One scoring: the prompt of the query and the prompt of the null query ("N/A" in the reference)
// over the same documents, checked as a pair.
typedef struct {
    dy_qr_prompt real, null_query;
} dy_qr_pair;

int dy_qr_pair_build(dy_arch arch, dy_tokenizer *tok, const char *query, const char *null_query, const dy_qr_doc *docs,
                     int n_docs, const char *what, dy_qr_pair *out, dy_error *err);
void dy_qr_pair_free(dy_qr_pair *p);
// The KV positions the pair needs: the longer prompt's tokens.
int dy_qr_pair_positions(const dy_qr_pair *p);

#endif

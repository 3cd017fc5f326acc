// One `dysco tokenize --batch` line (the whole line as read, NUL bytes included) through
// dy_cli_batch_line with the real Qwen3 tokenizer and chat template, loaded once.
#include <stdint.h>

#include "fuzz_util.h"
#include "runtime/cli/cli_batch.h"

static dy_tokenizer *tok;
static dy_chat_template tmpl;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tok = fuzz_qwen3_tokenizer(&tmpl);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dy_tokens ids = {0};
    dy_error err;
    (void)dy_cli_batch_line(tok, &tmpl, (const char *)data, size, "batch.jsonl:1", &ids, &err);
    dy_tokens_free(&ids);
    return 0;
}

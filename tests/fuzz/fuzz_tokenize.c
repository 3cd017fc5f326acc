// Arbitrary bytes encoded by the real Qwen3 tokenizer (loaded once), the ids decoded back, and
// the bytes as a user message (after a system message when the first byte is odd) rendered by
// Qwen3's chat template and encoded, and rendered by the Llama-3.1 template too; the first
// byte's other bits choose add_special, add_generation_prompt and enable_thinking.
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "runtime/tokenizer/prompt.h"

static dy_tokenizer *tok;
static dy_chat_template qwen3, llama31;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    tok = fuzz_qwen3_tokenizer(&qwen3);
    dy_error err;
    if (dy_chat_template_load(DYSCO_FUZZ_TOKENIZERS "/llama3_1/tokenizer_config.json", &llama31, &err)) fuzz_die(err.msg);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const unsigned flags = size ? data[0] : 0;
    dy_tokens ids = {0};
    dy_error err;
    if (dy_tokenizer_encode(tok, (const char *)data, size, flags & 2, &ids, &err) == 0)
        free(dy_tokenizer_decode(tok, ids.ids, ids.n, flags & 4, &err));
    dy_tokens_free(&ids);

    char *text = fuzz_text(data, size);
    const dy_chat_message msgs[] = {{"system", "You are a helpful assistant.", NULL}, {"user", text, NULL}};
    const int first = flags & 1 ? 0 : 1, thinking = (int)((flags >> 3) % 3) - 1;  // -1, 0 or 1
    const bool generation_prompt = flags & 32;
    dy_tokens chat = {0};
    (void)dy_prompt_encode_chat(tok, &qwen3, msgs + first, 2 - first, generation_prompt, thinking, &chat, &err);
    dy_tokens_free(&chat);
    free(dy_chat_render(&llama31, msgs + first, 2 - first, generation_prompt, -1, &err));
    free(text);
    return 0;
}

// A prompt as token ids ({"input_ids": [...]} or a bare array, NUL bytes included: generate
// --input-ids, score --continuation-ids, tokenize --decode) through dy_prompt_ids_from_json, as a
// prompt (non-empty) and as ids to decode (empty allowed); the ids read are decoded by the real
// Qwen3 tokenizer, which skips ids it has no token for.
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "runtime/tokenizer/prompt.h"

static dy_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    dy_chat_template unused;
    tok = fuzz_qwen3_tokenizer(&unused);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *json = (const char *)data;
    dy_tokens prompt = {0}, ids = {0};
    dy_error err;
    (void)dy_prompt_ids_from_json(json, size, "ids.json", false, &prompt, &err);
    if (dy_prompt_ids_from_json(json, size, "ids.json", true, &ids, &err) == 0)
        free(dy_tokenizer_decode(tok, ids.ids, ids.n, false, &err));
    dy_tokens_free(&prompt);
    dy_tokens_free(&ids);
    return 0;
}

// A model's tokenizer files: the input is tokenizer.json, a NUL byte, then tokenizer_config.json
// (further NUL bytes are its own, which its reader must refuse). tokenizer.json goes through
// dy_tokenizer_parse, tokenizer_config.json through dy_chat_template_load (it takes a path); what
// loads is then used as `dysco tokenize` uses it: a fixed text encoded and decoded, a chat
// rendered and encoded, and the generation prompt counted (--warmup).
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "runtime/tokenizer/prompt.h"

// Prose, digits, whitespace runs, accents, CJK, an emoji, special-token text, and a long run of
// one letter for Split patterns that backtrack on one ("(a+)+$").
static const char SAMPLE[] = "Hello world! 12345 <|im_start|>user\n\t  caf\xc3\xa9 \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x99\x82<|endoftext|>"
                             " aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";

static void use_tokenizer(dy_tokenizer *tok, const dy_chat_template *tmpl) {
    dy_tokens ids = {0};
    dy_error err;
    if (dy_tokenizer_encode(tok, SAMPLE, sizeof SAMPLE - 1, true, &ids, &err) == 0)
        free(dy_tokenizer_decode(tok, ids.ids, ids.n, false, &err));
    dy_tokens_free(&ids);
    if (!tmpl) return;
    const dy_chat_message msgs[] = {{"system", "Be brief.", NULL}, {"user", SAMPLE, NULL}};
    dy_tokens chat = {0};
    (void)dy_prompt_encode_chat(tok, tmpl, msgs, 2, true, -1, &chat, &err);
    dy_tokens_free(&chat);
    int n;
    (void)dy_prompt_auto_warmup(tok, tmpl, 0, &n, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, '\0', size);
    const size_t json_len = nul ? (size_t)(nul - data) : size;
    char path[PATH_MAX];
    const size_t config_at = nul ? json_len + 1 : size;
    fuzz_write("tokenizer_config.json", data + config_at, size - config_at, path);
    dy_tokenizer *tok;
    dy_chat_template tmpl;
    dy_error err;
    const int have_template = dy_chat_template_load(path, &tmpl, &err) == 0;
    if (dy_tokenizer_parse((const char *)data, json_len, "tokenizer.json", &tok, &err) == 0) {
        use_tokenizer(tok, have_template ? &tmpl : NULL);
        dy_tokenizer_free(tok);
    }
    return 0;
}

// Chat templates: the known Jinja templates re-implemented in C, output for output (whitespace
// and all). The template is recognised from the model's own tokenizer files, never guessed by the
// user; anything unrecognised is an error, and without the chat template the text is used as is.
// Output is the rendered UTF-8 text; tokenization happens elsewhere.
#ifndef DYSCO_CHAT_TEMPLATE_H
#define DYSCO_CHAT_TEMPLATE_H

#include <stdbool.h>

#include "kernels/base/error.h"

typedef enum { DY_CHAT_QWEN3, DY_CHAT_LLAMA3, DY_CHAT_LLAMA31 } dy_chat_family;

typedef struct {
    const char *role;               // "system" | "user" | "assistant" | "tool" (Llama 3.1 also "ipython")
    const char *content;            // never NULL
    const char *reasoning_content;  // NULL when the message has no such key (Qwen3 only)
} dy_chat_message;

typedef struct {
    dy_chat_family family;
    char bos_token[64];    // Llama: tokenizer_config "bos_token" (a string, or an object with "content")
    char date_string[32];  // Llama 3.1 style: "26 Jul 2024", or today's date when the template calls strftime_now
} dy_chat_template;

// Reads tokenizer_config.json and recognises its "chat_template" (a string, or a list of
// {"name", "template"} objects of which the one named "default" is used). As in transformers,
// a chat_template.jinja beside the file takes precedence over the inline template.
int dy_chat_template_load(const char *tokenizer_config_path, dy_chat_template *t, dy_error *err);

// Recognition from the template text itself; bos_token may be NULL (none); path only names the
// file in errors.
int dy_chat_template_detect(const char *template_text, const char *bos_token, const char *path, dy_chat_template *t,
                            dy_error *err);

// enable_thinking: -1 = not given (Jinja "undefined"), 0 = false, 1 = true. Returns a malloc'd
// string, or NULL with err set. Errors name the field ("messages: empty"); the caller, who knows
// where the messages came from, prefixes its file name.
char *dy_chat_render(const dy_chat_template *t, const dy_chat_message *msgs, int n_msgs, bool add_generation_prompt,
                     int enable_thinking, dy_error *err);

// "qwen3", "llama3" or "llama3.1", for messages and `inspect`.
const char *dy_chat_family_name(dy_chat_family f);

#endif

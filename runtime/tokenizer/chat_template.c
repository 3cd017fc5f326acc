#include "chat_template.h"

#include <cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"
#include "runtime/util/text_buffer.h"

// ---- Python string semantics on UTF-8 byte spans ----------------------------------------------

typedef struct {
    const char *p;
    size_t n;
} span;

static span span_of(const char *s) { return (span){s, strlen(s)}; }

static void put_span(dy_text_buffer *b, span s) { dy_text_put(b, s.p, s.n); }

// Python's str.isspace(): bidirectional class WS, B or S, or category Zs. U+200B is not one.
static bool py_isspace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

// Decodes one well-formed UTF-8 sequence of exactly n bytes at p; false for anything else, so
// malformed bytes are never whitespace and trimming stops at them.
static bool utf8_decode(const unsigned char *p, size_t n, uint32_t *cp) {
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t want = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (want != n) return false;
    uint32_t c = n == 1 ? p[0] : p[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return false;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min_cp[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    *cp = c;
    return true;
}

// Length of the whitespace code point that starts s, or 0.
static size_t space_at_start(span s) {
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t n = 1; n <= 4 && n <= s.n; n++) {
        uint32_t c;
        if (utf8_decode(p, n, &c)) return py_isspace(c) ? n : 0;
    }
    return 0;
}

// Length of the whitespace code point that ends s, or 0.
static size_t space_at_end(span s) {
    const unsigned char *p = (const unsigned char *)s.p;
    for (size_t n = 1; n <= 4 && n <= s.n; n++) {
        uint32_t c;
        if ((p[s.n - n] & 0xC0) == 0x80) continue;  // continuation byte: the sequence starts further back
        return utf8_decode(p + s.n - n, n, &c) && py_isspace(c) ? n : 0;
    }
    return 0;
}

// Jinja's |trim = Python str.strip(): Unicode whitespace off both ends.
static span py_strip(span s) {
    for (size_t k; (k = space_at_start(s)) > 0;) s.p += k, s.n -= k;
    for (size_t k; (k = space_at_end(s)) > 0;) s.n -= k;
    return s;
}

// str.lstrip('\n') / str.rstrip('\n'): newlines only, as the Qwen3 template asks.
static span lstrip_nl(span s) {
    while (s.n > 0 && s.p[0] == '\n') s.p++, s.n--;
    return s;
}

static span rstrip_nl(span s) {
    while (s.n > 0 && s.p[s.n - 1] == '\n') s.n--;
    return s;
}

static const char *find_last_in(span s, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = s.n; i >= k; i--)
        if (memcmp(s.p + i - k, needle, k) == 0) return s.p + i - k;
    return NULL;
}

static bool starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

static bool role_is(const dy_chat_message *m, const char *role) { return strcmp(m->role, role) == 0; }

// transformers' |tojson: json.dumps(x, ensure_ascii=False): only '"', '\\' and control
// characters are escaped (lowercase hex); everything else, non-ASCII included, is copied.
static void put_json_string(dy_text_buffer *b, const char *s) {
    dy_text_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': dy_text_puts(b, "\\\""); break;
        case '\\': dy_text_puts(b, "\\\\"); break;
        case '\n': dy_text_puts(b, "\\n"); break;
        case '\r': dy_text_puts(b, "\\r"); break;
        case '\t': dy_text_puts(b, "\\t"); break;
        case '\b': dy_text_puts(b, "\\b"); break;
        case '\f': dy_text_puts(b, "\\f"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                dy_text_puts(b, esc);
            } else {
                dy_text_put(b, (const char *)p, 1);
            }
        }
    }
    dy_text_puts(b, "\"");
}

// ---- Qwen3 (hybrid thinking), no tools ----------------------------------------------------------

// The last real user query: tool results that the template sends as user messages wrapped in
// <tool_response> do not count. Assistant turns after it keep their reasoning.
static int qwen3_last_query(const dy_chat_message *m, int n) {
    for (int i = n - 1; i >= 0; i--)
        if (role_is(&m[i], "user") &&
            !(starts_with(m[i].content, "<tool_response>") && ends_with(m[i].content, "</tool_response>")))
            return i;
    return n - 1;
}

static void qwen3_assistant(dy_text_buffer *b, const dy_chat_message *m, bool after_query, bool last) {
    span content = span_of(m->content), reasoning = {"", 0};
    if (m->reasoning_content) {
        reasoning = span_of(m->reasoning_content);
    } else {
        const char *first = strstr(m->content, "</think>");
        if (first) {
            // content.split('</think>')[-1].lstrip('\n')
            const char *last = find_last_in(content, "</think>");
            content = lstrip_nl(span_of(last + strlen("</think>")));
            // content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
            span before = rstrip_nl((span){m->content, (size_t)(first - m->content)});
            const char *open = find_last_in(before, "<think>");
            if (open) {
                const char *after = open + strlen("<think>");
                before = (span){after, (size_t)(before.p + before.n - after)};
            }
            reasoning = lstrip_nl(before);
        }
    }
    if (after_query && (last || reasoning.n > 0)) {
        dy_text_puts(b, "<|im_start|>assistant\n<think>\n");
        put_span(b, rstrip_nl(lstrip_nl(reasoning)));
        dy_text_puts(b, "\n</think>\n\n");
        put_span(b, lstrip_nl(content));
    } else {
        dy_text_puts(b, "<|im_start|>assistant\n");
        put_span(b, content);
    }
    dy_text_puts(b, "<|im_end|>\n");
}

static void render_qwen3(dy_text_buffer *b, const dy_chat_message *m, int n, bool gen_prompt, int enable_thinking) {
    if (role_is(&m[0], "system")) {
        dy_text_puts(b, "<|im_start|>system\n");
        dy_text_puts(b, m[0].content);
        dy_text_puts(b, "<|im_end|>\n");
    }
    int last_query = qwen3_last_query(m, n);
    for (int i = 0; i < n; i++) {
        if (role_is(&m[i], "user") || (role_is(&m[i], "system") && i != 0)) {
            dy_text_puts(b, "<|im_start|>");
            dy_text_puts(b, m[i].role);
            dy_text_puts(b, "\n");
            dy_text_puts(b, m[i].content);
            dy_text_puts(b, "<|im_end|>\n");
        } else if (role_is(&m[i], "assistant")) {
            qwen3_assistant(b, &m[i], i > last_query, i == n - 1);
        } else if (role_is(&m[i], "tool")) {
            // Consecutive tool results share one user turn.
            if (i == 0 || !role_is(&m[i - 1], "tool")) dy_text_puts(b, "<|im_start|>user");
            dy_text_puts(b, "\n<tool_response>\n");
            dy_text_puts(b, m[i].content);
            dy_text_puts(b, "\n</tool_response>");
            if (i == n - 1 || !role_is(&m[i + 1], "tool")) dy_text_puts(b, "<|im_end|>\n");
        }
        // Any other role: the template emits nothing.
    }
    if (gen_prompt) {
        dy_text_puts(b, "<|im_start|>assistant\n");
        if (enable_thinking == 0) dy_text_puts(b, "<think>\n\n</think>\n\n");  // defined and false only
    }
}

// ---- Llama 3 (plain) and Llama 3.1 style (3.1, 3.2, 3.3), no tools -------------------------------

static void llama_turn(dy_text_buffer *b, const char *role, span content) {
    dy_text_puts(b, "<|start_header_id|>");
    dy_text_puts(b, role);
    dy_text_puts(b, "<|end_header_id|>\n\n");
    put_span(b, content);
    dy_text_puts(b, "<|eot_id|>");
}

static void render_llama3(dy_text_buffer *b, const dy_chat_template *t, const dy_chat_message *m, int n, bool gen_prompt) {
    for (int i = 0; i < n; i++) {
        if (i == 0) dy_text_puts(b, t->bos_token);
        llama_turn(b, m[i].role, py_strip(span_of(m[i].content)));
    }
    if (gen_prompt) dy_text_puts(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

static void render_llama31(dy_text_buffer *b, const dy_chat_template *t, const dy_chat_message *m, int n, bool gen_prompt) {
    dy_text_puts(b, t->bos_token);
    span system = {"", 0};
    int first = 0;
    if (role_is(&m[0], "system")) {
        system = py_strip(span_of(m[0].content));
        first = 1;
    }
    dy_text_puts(b, "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: ");
    dy_text_puts(b, t->date_string);
    dy_text_puts(b, "\n\n");
    put_span(b, system);
    dy_text_puts(b, "<|eot_id|>");
    for (int i = first; i < n; i++) {
        if (role_is(&m[i], "tool") || role_is(&m[i], "ipython")) {
            // The template tests `content is iterable`, which a Jinja string is, so tool results
            // go through |tojson: quoted and escaped, not trimmed.
            dy_text_puts(b, "<|start_header_id|>ipython<|end_header_id|>\n\n");
            put_json_string(b, m[i].content);
            dy_text_puts(b, "<|eot_id|>");
        } else {
            llama_turn(b, m[i].role, py_strip(span_of(m[i].content)));
        }
    }
    if (gen_prompt) dy_text_puts(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

char *dy_chat_render(const dy_chat_template *t, const dy_chat_message *msgs, int n_msgs, bool add_generation_prompt,
                     int enable_thinking, dy_error *err) {
    if (n_msgs <= 0 || !msgs) {
        dy_fail(err, "messages: empty");
        return NULL;
    }
    if (enable_thinking < -1 || enable_thinking > 1) {
        dy_fail(err, "enable_thinking: %d is not -1 (not given), 0 or 1", enable_thinking);
        return NULL;
    }
    for (int i = 0; i < n_msgs; i++) {
        if (!msgs[i].role || !msgs[i].content) {
            dy_fail(err, "messages[%d].%s: missing", i, msgs[i].role ? "content" : "role");
            return NULL;
        }
    }
    dy_text_buffer b = {0};
    switch (t->family) {
    case DY_CHAT_QWEN3: render_qwen3(&b, msgs, n_msgs, add_generation_prompt, enable_thinking); break;
    case DY_CHAT_LLAMA3: render_llama3(&b, t, msgs, n_msgs, add_generation_prompt); break;
    case DY_CHAT_LLAMA31: render_llama31(&b, t, msgs, n_msgs, add_generation_prompt); break;
    default:  // nothing was appended, so nothing was allocated
        dy_fail(err, "chat_template: unknown family %d", (int)t->family);
        return NULL;
    }
    char *text = dy_text_take(&b);
    if (!text) dy_fail(err, "messages: out of memory rendering the chat");
    return text;
}

// ---- Recognition ---------------------------------------------------------------------------------

// strftime_now("%d %b %Y") as transformers evaluates it: Python's strftime in the C locale, so
// English month names whatever LC_TIME the program runs under.
static void today_string(char *out, size_t n) {
    static const char *months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    if (now == (time_t)-1 || !localtime_r(&now, &tm)) {
        snprintf(out, n, "26 Jul 2024");  // the template's own fallback
        return;
    }
    snprintf(out, n, "%02d %s %04d", tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900);
}

int dy_chat_template_detect(const char *template_text, const char *bos_token, const char *path, dy_chat_template *t,
                            dy_error *err) {
    memset(t, 0, sizeof *t);
    if (!template_text) return dy_fail(err, "%s: chat_template: missing (the text can still be used without a chat template)", path);
    if (bos_token && strlen(bos_token) >= sizeof t->bos_token)
        return dy_fail(err, "%s: bos_token: longer than %zu bytes", path, sizeof t->bos_token - 1);
    snprintf(t->bos_token, sizeof t->bos_token, "%s", bos_token ? bos_token : "");
    if (strstr(template_text, "<|im_start|>") && strstr(template_text, "enable_thinking") &&
        strstr(template_text, "reasoning_content")) {
        t->family = DY_CHAT_QWEN3;
    } else if (strstr(template_text, "<|start_header_id|>") && strstr(template_text, "Cutting Knowledge Date")) {
        t->family = DY_CHAT_LLAMA31;
        // Llama 3.2 / 3.3 ask transformers for today's date; 3.1 always says 26 Jul 2024.
        if (strstr(template_text, "strftime_now")) today_string(t->date_string, sizeof t->date_string);
        else snprintf(t->date_string, sizeof t->date_string, "26 Jul 2024");
    } else if (strstr(template_text, "<|start_header_id|>")) {
        t->family = DY_CHAT_LLAMA3;
    } else {
        return dy_fail(err,
                       "%s: chat_template: not a template dysco implements (Qwen3 hybrid thinking, Llama 3, "
                       "Llama 3.1/3.2/3.3); without the chat template the text is used as is",
                       path);
    }
    return 0;
}

const char *dy_chat_family_name(dy_chat_family f) {
    static const char *names[] = {[DY_CHAT_QWEN3] = "qwen3", [DY_CHAT_LLAMA3] = "llama3", [DY_CHAT_LLAMA31] = "llama3.1"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

// ---- tokenizer_config.json -------------------------------------------------------------------------

// A special token: a string, an AddedToken object {"content": ...}, or, where nullable, null or
// absent (*out NULL: Jinja renders an undefined name as "").
static int read_special_token(const cJSON *v, bool nullable, const char *path, const char *key, const char **out,
                              dy_error *err) {
    *out = NULL;
    if (nullable && (!v || cJSON_IsNull(v))) return 0;
    if (cJSON_IsObject(v)) v = cJSON_GetObjectItemCaseSensitive(v, "content");
    if (!cJSON_IsString(v)) return dy_fail(err, "%s: %s: expected a string or an object with \"content\"", path, key);
    *out = v->valuestring;
    return 0;
}

// Every special-token field transformers reads from the file has that shape, and so has each
// entry of additional_special_tokens; the templates here use bos_token alone, the rest is checked.
static int read_special_tokens(const cJSON *root, const char *path, const char **bos, dy_error *err) {
    static const char *const others[] = {"eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};
    const char *unused;
    if (read_special_token(cJSON_GetObjectItemCaseSensitive(root, "bos_token"), true, path, "bos_token", bos, err))
        return -1;
    for (int i = 0; i < (int)(sizeof others / sizeof *others); i++)
        if (read_special_token(cJSON_GetObjectItemCaseSensitive(root, others[i]), true, path, others[i], &unused, err))
            return -1;
    const cJSON *extra = cJSON_GetObjectItemCaseSensitive(root, "additional_special_tokens"), *item;
    if (!extra || cJSON_IsNull(extra)) return 0;
    if (!cJSON_IsArray(extra)) return dy_fail(err, "%s: additional_special_tokens: expected a list", path);
    int i = 0;
    cJSON_ArrayForEach(item, extra) {
        char key[48];
        snprintf(key, sizeof key, "additional_special_tokens[%d]", i++);
        if (read_special_token(item, false, path, key, &unused, err)) return -1;
    }
    return 0;
}

// "chat_template": a string, or a list of named templates of which transformers uses "default".
static int read_template(const cJSON *root, const char *path, const char **out, dy_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    *out = NULL;
    if (!v || cJSON_IsNull(v)) return 0;
    if (cJSON_IsString(v)) {
        *out = v->valuestring;
        return 0;
    }
    if (!cJSON_IsArray(v))
        return dy_fail(err, "%s: chat_template: expected a string or a list of {\"name\", \"template\"} objects", path);
    const cJSON *item;
    cJSON_ArrayForEach(item, v) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
        if (!cJSON_IsString(name) || strcmp(name->valuestring, "default") != 0) continue;
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "template");
        if (!cJSON_IsString(text)) return dy_fail(err, "%s: chat_template: template \"default\" is not a string", path);
        *out = text->valuestring;
        return 0;
    }
    return dy_fail(err, "%s: chat_template: no template named \"default\" in the list", path);
}

// transformers >= 4.47 saves the template as chat_template.jinja beside tokenizer_config.json
// and reads that file in preference to the inline key.
static int sidecar_path(const char *config_path, char *out, size_t n, dy_error *err) {
    const char *slash = strrchr(config_path, '/');
    int dir_len = slash ? (int)(slash - config_path + 1) : 0;  // the folder, with its slash
    int w = snprintf(out, n, "%.*schat_template.jinja", dir_len, config_path);
    if (w < 0 || (size_t)w >= n) return dy_fail(err, "%s: path too long", config_path);
    return 0;
}

int dy_chat_template_load(const char *tokenizer_config_path, dy_chat_template *t, dy_error *err) {
    memset(t, 0, sizeof *t);
    char sidecar[4096];
    if (sidecar_path(tokenizer_config_path, sidecar, sizeof sidecar, err)) return -1;
    size_t len;
    char *json = dy_read_file(tokenizer_config_path, &len, err);
    if (!json) return -1;
    char problem[160];
    cJSON *root = dy_json_parse(json, len, problem, sizeof problem);
    free(json);
    if (!root) return dy_fail(err, "%s: %s", tokenizer_config_path, problem);
    int rc = -1;
    const char *bos = NULL, *text = NULL;
    if (!cJSON_IsObject(root)) {
        dy_fail(err, "%s: expected a JSON object", tokenizer_config_path);
    } else if (read_special_tokens(root, tokenizer_config_path, &bos, err) == 0) {
        if (dy_file_exists(sidecar)) {
            char *jinja = dy_read_text_file(sidecar, err);
            if (jinja) rc = dy_chat_template_detect(jinja, bos, sidecar, t, err);
            free(jinja);
        } else if (read_template(root, tokenizer_config_path, &text, err) == 0) {
            rc = dy_chat_template_detect(text, bos, tokenizer_config_path, t, err);
        }
    }
    cJSON_Delete(root);
    return rc;
}

#include "py_format.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/util/text_buffer.h"

// The field "{name}" at p (just after its '{'): its value appended, *p moved past the '}'.
static int replace_field(const char **p, const cJSON *fields, const char *where, dy_text_buffer *out, dy_error *err) {
    const char *close = strchr(*p, '}');
    if (!close) return dy_fail(err, "%s: Single '{' encountered in format string", where);
    const size_t len = (size_t)(close - *p);
    char name[128];
    if (len == 0) return dy_fail(err, "%s: a positional field {} (the template takes named fields only)", where);
    if (len >= sizeof name) return dy_fail(err, "%s: a field name of %zu bytes", where, len);
    memcpy(name, *p, len);
    name[len] = '\0';
    char quoted[4 * sizeof name];  // the name as the error shows it: a name may hold a newline
    dy_error_text(name, quoted, sizeof quoted);
    if (strpbrk(name, "{!:.["))
        return dy_fail(err, "%s: {%s}: conversions, format specs, attributes and indexes are not supported", where, quoted);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(fields, name);
    if (!v) return dy_fail(err, "%s: {%s}: the example has no such field", where, quoted);
    if (!cJSON_IsString(v)) return dy_fail(err, "%s: {%s}: the example's value is not a string", where, quoted);
    *p = close + 1;
    dy_text_puts(out, v->valuestring);
    return 0;
}

// The result's text, or NULL with err set (out of memory, or longer than max_len).
static char *result(dy_text_buffer *out, int rc, size_t max_len, const char *where, dy_error *err) {
    if (rc == 0 && out->n > max_len) rc = dy_fail(err, "%s: the text would be longer than %zu bytes", where, max_len);
    char *text = dy_text_take(out);
    if (rc == 0 && !text) dy_fail(err, "%s: out of memory", where);
    if (rc == 0 && text) return text;
    free(text);
    return NULL;
}

char *dy_py_format(const char *template_text, const cJSON *fields, size_t max_len, const char *where, dy_error *err) {
    dy_text_buffer out = {0};
    int rc = 0;
    // Each step appends one field at most, so the text stops within a field of max_len.
    for (const char *p = template_text; rc == 0 && *p && out.n <= max_len;) {
        const size_t plain = strcspn(p, "{}");
        dy_text_put(&out, p, plain);
        p += plain;
        if (!*p) break;
        if (p[0] == p[1]) {  // "{{" or "}}"
            dy_text_put(&out, p, 1);
            p += 2;
        } else if (*p == '}') {
            rc = dy_fail(err, "%s: Single '}' encountered in format string", where);
        } else {
            p++;
            rc = replace_field(&p, fields, where, &out, err);
        }
    }
    return result(&out, rc, max_len, where, err);
}

// The next occurrence of old (n bytes) in [at, end), or NULL. The candidates are where old's
// first byte is: strstr from each hit on measured the rest of the text under ASan (its
// interceptor takes strlen of the haystack), time quadratic in the hits.
static const char *next_hit(const char *at, const char *end, const char *old, size_t n) {
    for (; (at = memchr(at, old[0], (size_t)(end - at))); at++)
        if (strncmp(at, old, n) == 0) return at;
    return NULL;
}

char *dy_py_replace(const char *s, const char *old, const char *new_text, size_t max_len, const char *where,
                    dy_error *err) {
    const size_t n = strlen(old), new_len = strlen(new_text), len = strlen(s);
    const char *const end = s + len;
    size_t hits = 0;
    for (const char *at = s; (at = next_hit(at, end, old, n)); at += n) hits++;
    // len + hits * (new_len - n), in steps that cannot wrap: each hit adds at most max_len.
    if (new_len > n && hits && (len > max_len || (new_len - n) > (max_len - len) / hits))
        return dy_fail(err, "%s: the text would be longer than %zu bytes", where, max_len), NULL;
    dy_text_buffer out = {0};
    for (const char *at; (at = next_hit(s, end, old, n)); s = at + n) {
        dy_text_put(&out, s, (size_t)(at - s));
        dy_text_put(&out, new_text, new_len);
    }
    dy_text_put(&out, s, (size_t)(end - s));
    return result(&out, 0, max_len, where, err);
}

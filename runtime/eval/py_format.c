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

char *dy_py_format(const char *template_text, const cJSON *fields, const char *where, dy_error *err) {
    dy_text_buffer out = {0};
    int rc = 0;
    for (const char *p = template_text; rc == 0 && *p;) {
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
    char *text = dy_text_take(&out);
    if (rc == 0 && !text) dy_fail(err, "%s: out of memory", where);
    if (rc == 0) return text;
    free(text);
    return NULL;
}

char *dy_py_replace(const char *s, const char *old, const char *new_text) {
    dy_text_buffer out = {0};
    const size_t n = strlen(old);
    for (const char *hit; (hit = strstr(s, old)); s = hit + n) {
        dy_text_put(&out, s, (size_t)(hit - s));
        dy_text_puts(&out, new_text);
    }
    dy_text_puts(&out, s);
    return dy_text_take(&out);
}

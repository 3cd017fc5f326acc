#include "py_format.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *s;
    size_t n, cap;
} buffer;

static int append(buffer *b, const char *s, size_t len) {
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + len + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) return -1;
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
    return 0;
}

// The field "{name}" at p (just after its '{'): its value appended, *p moved past the '}'.
static int replace_field(const char **p, const cJSON *fields, const char *where, buffer *out, dy_error *err) {
    const char *close = strchr(*p, '}');
    if (!close) return dy_fail(err, "%s: Single '{' encountered in format string", where);
    const size_t len = (size_t)(close - *p);
    char name[128];
    if (len == 0) return dy_fail(err, "%s: a positional field {} (the template takes named fields only)", where);
    if (len >= sizeof name) return dy_fail(err, "%s: a field name of %zu bytes", where, len);
    memcpy(name, *p, len);
    name[len] = '\0';
    if (strpbrk(name, "{!:.["))
        return dy_fail(err, "%s: {%s}: conversions, format specs, attributes and indexes are not supported", where, name);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(fields, name);
    if (!v) return dy_fail(err, "%s: {%s}: the example has no such field", where, name);
    if (!cJSON_IsString(v)) return dy_fail(err, "%s: {%s}: the example's value is not a string", where, name);
    *p = close + 1;
    return append(out, v->valuestring, strlen(v->valuestring)) ? dy_fail(err, "%s: out of memory", where) : 0;
}

char *dy_py_format(const char *template_text, const cJSON *fields, const char *where, dy_error *err) {
    buffer out = {0};
    int rc = append(&out, "", 0) ? dy_fail(err, "%s: out of memory", where) : 0;
    for (const char *p = template_text; rc == 0 && *p;) {
        const size_t plain = strcspn(p, "{}");
        if (append(&out, p, plain)) {
            rc = dy_fail(err, "%s: out of memory", where);
            break;
        }
        p += plain;
        if (!*p) break;
        if (p[0] == p[1]) {  // "{{" or "}}"
            rc = append(&out, p, 1) ? dy_fail(err, "%s: out of memory", where) : 0;
            p += 2;
        } else if (*p == '}') {
            rc = dy_fail(err, "%s: Single '}' encountered in format string", where);
        } else {
            p++;
            rc = replace_field(&p, fields, where, &out, err);
        }
    }
    if (rc == 0) return out.s;
    free(out.s);
    return NULL;
}

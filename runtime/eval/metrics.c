#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dy_metric dy_metric_bool(bool v) { return (dy_metric){DY_METRIC_BOOL, v ? 1.0 : 0.0}; }
dy_metric dy_metric_int(long v) { return (dy_metric){DY_METRIC_INT, (double)v}; }
dy_metric dy_metric_float(double v) { return (dy_metric){DY_METRIC_FLOAT, v}; }

dy_metric dy_metric_max(dy_metric a, dy_metric b) { return b.value > a.value ? b : a; }

void dy_metrics_set(dy_metrics *m, const char *name, dy_metric v) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->name[i], name) == 0) {
            m->value[i] = v;
            return;
        }
    if (m->n == DY_MAX_METRICS) abort();  // a scorer returning more keys is a programming error
    m->name[m->n] = name;
    m->value[m->n++] = v;
}

void dy_metrics_remove(dy_metrics *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->name[i], name) == 0) {
            memmove(m->name + i, m->name + i + 1, (size_t)(m->n - i - 1) * sizeof *m->name);
            memmove(m->value + i, m->value + i + 1, (size_t)(m->n - i - 1) * sizeof *m->value);
            m->n--;
            return;
        }
}

const dy_metric *dy_metrics_get(const dy_metrics *m, const char *name) {
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->name[i], name) == 0) return &m->value[i];
    return NULL;
}

void dy_py_float_repr(double v, char *out, size_t n) {
    char buf[40];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    // buf is [-]D[.DDD]e(+|-)XX: split it into sign, digits and the decimal point's position.
    const char *p = buf;
    const bool negative = *p == '-';
    if (negative) p++;
    char digits[24];
    int nd = 0;
    for (; *p != 'e'; p++)
        if (*p != '.') digits[nd++] = *p;
    digits[nd] = '\0';
    const int decpt = atoi(p + 1) + 1;  // digits "15", decpt 1: 1.5
    char text[48];
    size_t k = 0;
    if (negative) text[k++] = '-';
    if (decpt <= -4 || decpt > 16) {
        text[k++] = digits[0];
        if (nd > 1) k += (size_t)sprintf(text + k, ".%s", digits + 1);
        sprintf(text + k, "e%c%02d", decpt - 1 < 0 ? '-' : '+', abs(decpt - 1));
    } else if (decpt <= 0) {  // 0.00DDD
        k += (size_t)sprintf(text + k, "0.");
        for (int i = 0; i < -decpt; i++) text[k++] = '0';
        sprintf(text + k, "%s", digits);
    } else if (decpt >= nd) {  // DDD00.0
        k += (size_t)sprintf(text + k, "%s", digits);
        for (int i = 0; i < decpt - nd; i++) text[k++] = '0';
        sprintf(text + k, ".0");
    } else {  // DD.DDD
        sprintf(text + k, "%.*s.%s", decpt, digits, digits + decpt);
    }
    snprintf(out, n, "%s", text);
}

char *dy_metrics_json(const dy_metrics *m) {
    size_t cap = 2;
    for (int i = 0; i < m->n; i++) cap += strlen(m->name[i]) + 40;
    char *s = malloc(cap + 1);
    if (!s) return NULL;
    size_t k = 0;
    s[k++] = '{';
    for (int i = 0; i < m->n; i++) {
        char value[40];
        const dy_metric v = m->value[i];
        if (v.type == DY_METRIC_BOOL)
            snprintf(value, sizeof value, "%s", v.value != 0 ? "true" : "false");
        else if (v.type == DY_METRIC_INT)
            snprintf(value, sizeof value, "%.0f", v.value);
        else
            dy_py_float_repr(v.value, value, sizeof value);
        k += (size_t)snprintf(s + k, cap + 1 - k, "%s\"%s\": %s", i ? ", " : "", m->name[i], value);
    }
    s[k++] = '}';
    s[k] = '\0';
    return s;
}

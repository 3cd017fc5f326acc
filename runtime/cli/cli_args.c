#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int dy_arg_string(int argc, char **argv, int *i, const char **out, dy_error *err) {
    if (*i + 1 >= argc) return dy_fail(err, "%s: missing value", argv[*i]);
    *out = argv[++*i];
    return 0;
}

int dy_arg_int(int argc, char **argv, int *i, int64_t min, int64_t max, int64_t *out, dy_error *err) {
    const char *opt = argv[*i], *s = NULL;
    if (dy_arg_string(argc, argv, i, &s, err)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return dy_fail(err, "%s: expected an integer in [%lld, %lld], got '%s'", opt, (long long)min, (long long)max, s);
    *out = v;
    return 0;
}

int dy_arg_double(int argc, char **argv, int *i, double min, double *out, dy_error *err) {
    const char *opt = argv[*i], *s = NULL;
    if (dy_arg_string(argc, argv, i, &s, err)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min))
        return dy_fail(err, "%s: expected a number >= %g, got '%s'", opt, min, s);
    *out = v;
    return 0;
}

int dy_report(int status, const dy_error *err) {
    fprintf(stderr, "dysco: %s\n", err->msg);
    return status;
}

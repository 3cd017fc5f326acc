// Error reporting: library code never prints or exits. A failing function fills a dy_error with
// one line "FILE: FIELD: PROBLEM" and returns -1; the CLI prints it once and exits non-zero.
#ifndef DYSCO_ERROR_H
#define DYSCO_ERROR_H

typedef struct {
    char msg[1024];
} dy_error;

#ifdef __cplusplus
extern "C" {
#endif

// Formats the message into err (if non-NULL) and returns -1, so callers can `return dy_fail(...)`.
int dy_fail(dy_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif

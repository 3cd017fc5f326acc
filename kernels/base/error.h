// Error reporting: library code never prints or exits. A failing function fills a dy_error with
// one line "FILE: FIELD: PROBLEM" and returns -1; the CLI prints it once and exits non-zero.
#ifndef DYSCO_ERROR_H
#define DYSCO_ERROR_H

#include <stddef.h>

typedef struct {
    char msg[1024];
} dy_error;

#ifdef __cplusplus
extern "C" {
#endif

// Formats the message into err (if non-NULL) and returns -1, so callers can `return dy_fail(...)`.
int dy_fail(dy_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// Text from an input as an error quotes it: s copied into out (n >= 1 bytes, cut where the next
// character would not fit), control characters written as \n, \r, \t or \xHH, so that the
// message stays one line. Returns out.
const char *dy_error_text(const char *s, char *out, size_t n);

#ifdef __cplusplus
}
#endif

#endif

#include "cli_lists.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int dy_cli_parse_ctx_list(const char *list, int *ctx, int *n, dy_error *err) {
    *n = 0;
    for (const char *p = list; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 16 || v > (1 << 24) || (*end && *end != ','))
            return dy_fail(err, "--ctx: expected comma-separated lengths from 16 to 16777216, got '%s'", list);
        if (*n == DY_CLI_MAX_CONTEXTS) return dy_fail(err, "--ctx: more than %d lengths in '%s'", DY_CLI_MAX_CONTEXTS, list);
        ctx[(*n)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return *n ? 0 : dy_fail(err, "--ctx: empty");
}

int dy_cli_parse_stop_ids(const char *s, dy_tokens *out, dy_error *err) {
    for (const char *p = s; *p;) {
        if (strchr("[], \t", *p)) {
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX) return dy_fail(err, "--stop-ids: '%s' is not a list of token ids", s);
        if (dy_tokens_push(out, (int32_t)v)) return dy_fail(err, "--stop-ids: out of memory");
        p = end;
    }
    return 0;
}

#include "cli_lists.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

// One option's list of whole numbers: each entry goes to take(v, out).
typedef struct {
    const char *flag, *list, *expected;  // "--ctx", the option's value as given, what it should be
    long min, max;                       // max <= INT32_MAX: the digits are summed in a long
    int (*take)(long v, void *out, const char *list, dy_error *err);
    void *out;
} number_list;

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

// The comma-separated entries of [p, end), each digits only with blanks around it allowed. An
// empty entry anywhere ("8192,", ",8192", "1,,2", and an empty list) is an error naming it: it
// once read as no entry at all, so "8192," ran one length where two were meant.
static int parse_entries(const number_list *l, const char *p, const char *end, dy_error *err) {
    for (int entry = 1;; entry++) {
        const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;
        while (p < stop && is_blank(*p)) p++;
        const char *digits = p;
        long v = 0;
        for (; p < stop && isdigit((unsigned char)*p); p++)
            if (v <= l->max) v = v * 10 + (*p - '0');  // stops growing past max: no overflow
        const bool has_digits = p > digits;
        while (p < stop && is_blank(*p)) p++;
        if (!has_digits && p == stop)
            return dy_fail(err, "%s: entry %d of '%s' is empty (expected %s)", l->flag, entry, l->list, l->expected);
        if (!has_digits || p != stop || v < l->min || v > l->max)
            return dy_fail(err, "%s: expected %s, got '%s'", l->flag, l->expected, l->list);
        if (l->take(v, l->out, l->list, err)) return -1;
        if (!comma) return 0;
        p = comma + 1;
    }
}

typedef struct {
    int *ctx, *n;
} ctx_out;

static int take_ctx(long v, void *out, const char *list, dy_error *err) {
    ctx_out *o = out;
    if (*o->n == DY_CLI_MAX_CONTEXTS) return dy_fail(err, "--ctx: more than %d lengths in '%s'", DY_CLI_MAX_CONTEXTS, list);
    o->ctx[(*o->n)++] = (int)v;
    return 0;
}

int dy_cli_parse_ctx_list(const char *list, int *ctx, int *n, dy_error *err) {
    *n = 0;
    ctx_out out = {ctx, n};
    const number_list l = {"--ctx", list, "comma-separated lengths from 16 to 16777216", 16, 1 << 24, take_ctx, &out};
    return parse_entries(&l, list, list + strlen(list), err);
}

static int take_stop_id(long v, void *out, const char *list, dy_error *err) {
    (void)list;
    return dy_tokens_push(out, (int32_t)v) ? dy_fail(err, "--stop-ids: out of memory") : 0;
}

int dy_cli_parse_stop_ids(const char *s, dy_tokens *out, dy_error *err) {
    const number_list l = {"--stop-ids", s, "token ids below 2^31 such as 1,2,3 or [1, 2, 3]", 0, INT32_MAX,
                           take_stop_id, out};
    const char *p = s, *end = s + strlen(s);
    while (p < end && is_blank(*p)) p++;
    while (end > p && is_blank(end[-1])) end--;
    if (p < end && *p == '[') {  // the list's brackets, both or neither
        if (end - p < 2 || end[-1] != ']') return dy_fail(err, "%s: expected %s, got '%s'", l.flag, l.expected, s);
        p++;
        end--;
    }
    return parse_entries(&l, p, end, err);
}

// The lists of numbers that options take as one argument: bench's --ctx and generate's
// --stop-ids. Apart from their verbs so that the fuzz target of the CLI number parsers
// (tests/fuzz) runs the same code.
#ifndef DYSCO_CLI_LISTS_H
#define DYSCO_CLI_LISTS_H

#include "kernels/base/error.h"
#include "runtime/util/tokens.h"

// --ctx takes at most this many lengths (one JSON line each).
enum { DY_CLI_MAX_CONTEXTS = 16 };

// Both take decimal digits per entry, blanks around an entry allowed; an empty entry anywhere
// ("8192,", ",8192", "8192,,4096", "") is an error naming the option and the entry.

// --ctx "8192,32768": comma-separated lengths from 16 to 2^24 into ctx (DY_CLI_MAX_CONTEXTS of room).
int dy_cli_parse_ctx_list(const char *list, int *ctx, int *n, dy_error *err);

// --stop-ids "1,2,3" or "[1, 2, 3]": token ids below 2^31 appended to out.
int dy_cli_parse_stop_ids(const char *s, dy_tokens *out, dy_error *err);

#endif

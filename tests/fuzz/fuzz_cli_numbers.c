// The command-line parsers of numbers: the input is a command line, its arguments separated by
// NUL bytes. It goes through dy_args_parse with a table of every kind of row the verbs use
// (bounded integers, numbers >= 0 and any finite number, choices, flags, a positional), and each
// argument through the parsers of option values that hold numbers: --ctx, --stop-ids,
// --dysco-heads and --dysco-interv-warmup.
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/cli_args.h"
#include "runtime/cli/cli_lists.h"
#include "runtime/dysco/dysco_config.h"

enum { MAX_ARGS = 64 };

static void parse_command_line(int argc, char **argv) {
    const char *model = NULL, *device = NULL, *positional = NULL;
    int64_t ctx = 0, seed = 0;
    double temperature = 0, strength = 0;
    bool json = false, chat = true, strength_given = false;
    const dy_option table[] = {
        {"--model", "DIR", "", .string = &model},
        {"--device", NULL, "", .string = &device, .choices = dy_cli_devices},
        {"--ctx", "N", "", .integer = &ctx, .min = 1, .max = INT32_MAX},
        {"--seed", "N", "", .integer = &seed, .min = 0, .max = INT64_MAX},
        {"--temperature", "T", "", .number = &temperature},
        {"--dysco-strength", "S", "", .number = &strength, .lower = DY_OPT_ANY_FINITE, .given = &strength_given},
        {"--json", NULL, "", .flag = &json},
        {"--no-chat", NULL, "", .flag = &chat, .clears = true},
    };
    const dy_args_spec spec = {.verb = "fuzz", .usage = "", .options = table, .n_options = DY_COUNT_OF(table),
                               .positional = &positional};
    dy_error err;
    (void)dy_args_parse(&spec, argc, argv, &err);
}

static void parse_values(const char *arg) {
    dy_error err;
    int ctx[DY_CLI_MAX_CONTEXTS], n;
    (void)dy_cli_parse_ctx_list(arg, ctx, &n, &err);
    dy_tokens stops = {0};
    (void)dy_cli_parse_stop_ids(arg, &stops, &err);
    dy_tokens_free(&stops);
    dy_dysco_config c;
    dy_dysco_config_defaults(&c);
    (void)dy_dysco_parse_heads(arg, &c, "--dysco-heads", &err);
    (void)dy_dysco_parse_interv_warmup(arg, &c, "--dysco-interv-warmup", &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *line = fuzz_text(data, size), *argv[MAX_ARGS + 1] = {"dysco"};
    int argc = 1;
    for (size_t at = 0; at <= size && argc < MAX_ARGS; at += strlen(line + at) + 1) argv[argc++] = line + at;
    argv[argc] = NULL;
    parse_command_line(argc, argv);
    for (int i = 1; i < argc; i++) parse_values(argv[i]);
    free(line);
    return 0;
}

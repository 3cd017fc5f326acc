// A run config (dysco eval --config) through dy_args_parse: the input is the YAML file, read for
// a table of every kind of row a verb's run config sets (strings, choices, bounded integers,
// numbers, flags and a --no-X flag), then a command line over it.
#include <limits.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/cli_args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[PATH_MAX];
    fuzz_write("run.yaml", data, size, path);
    const char *config = NULL, *model = NULL, *device = NULL;
    int64_t max_tokens = 1024;
    double temperature = 0, strength = 0;
    bool think = false, chat = true, strength_given = false;
    const dy_option table[] = {
        {"--config", "RUN.yaml", "", .string = &config},
        {"--model", "DIR", "", .string = &model},
        {"--device", NULL, "", .string = &device, .choices = dy_cli_devices},
        {"--max-tokens", "N", "", .integer = &max_tokens, .min = 1, .max = 1 << 24},
        {"--temperature", "T", "", .number = &temperature},
        {"--dysco-strength", "S", "", .number = &strength, .lower = DY_OPT_ANY_FINITE, .given = &strength_given},
        {"--think", NULL, "", .flag = &think},
        {"--no-chat-template", NULL, "", .flag = &chat, .clears = true},
    };
    dy_args_config run_config = {.option = "--config"};
    const dy_args_spec spec = {.verb = "fuzz", .usage = "", .options = table, .n_options = DY_COUNT_OF(table),
                               .config = &run_config};
    char *argv[] = {"dysco", "--max-tokens", "32", "--config", path, NULL};
    dy_error err;
    (void)dy_args_parse(&spec, 5, argv, &err);
    dy_args_config_free(&run_config);
    return 0;
}

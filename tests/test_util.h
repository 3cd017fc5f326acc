// Helpers shared by the cmocka tests: temporary folders, running the dysco binary, fixtures.
#ifndef DYSCO_TEST_UTIL_H
#define DYSCO_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/checkpoint/model_config.h"

typedef struct {
    int status;  // exit status, or -1 when the process did not exit normally (crash, signal)
    char *out;   // stdout, NUL-terminated
    char *err;   // stderr, NUL-terminated
} cmd_result;

// A test's command-line arguments (paths ctest passes), stored through the NULL-terminated list
// of pointers; exits with "usage: PROGRAM NAMES" when the count differs.
void test_args(int argc, char **argv, const char *names, ...);

// A fresh folder under $TMPDIR (or /tmp); removed by rm_rf.
char *make_temp_dir(const char *tag);
void rm_rf(const char *dir);

// Runs the shell command line; stdout and stderr are captured separately.
cmd_result run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cmd_result_free(cmd_result *r);
int count_lines(const char *s);

// Parses an embedded preset, applying small overrides for fast fixtures (0 keeps the preset's).
void load_preset(const char *name, dy_model_config *cfg, int vocab);
// Writes config.json (text) and random weights for cfg into dir.
void write_checkpoint(const char *dir, const char *config_json, const dy_model_config *cfg, dy_dtype dtype,
                      unsigned long long shard_bytes, unsigned long long seed);
// The preset's config.json text with "vocab_size" replaced (0 keeps it); malloc'd.
char *preset_json(const char *name, int vocab);

// The GPU tests' plain checks: prints "PASS what" or "FAIL what" and counts it; returns ok.
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Prints "N passed, M failed"; the exit status of a test program (1 when any check failed).
int check_summary(void);

#endif

// Helpers shared by the tests: temporary folders, running the dysco binary, fixtures, seeded
// random numbers, and the PASS/FAIL checks of the tests that report every case (the op tests).
#ifndef DYSCO_TEST_UTIL_H
#define DYSCO_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "kernels/backend.h"
#include "runtime/checkpoint/model_config.h"

typedef struct {
    int status;  // exit status, or -1 when the process did not exit normally (crash, signal)
    char *out;   // stdout, NUL-terminated
    char *err;   // stderr, NUL-terminated
} cmd_result;

// A test's command-line arguments (paths ctest passes), stored through the NULL-terminated list
// of pointers; exits with "usage: PROGRAM NAMES" when the count differs.
void test_args(int argc, char **argv, const char *names, ...);

// Writes text to dir/name and returns the path (one of four static buffers, reused in turn), or
// setup_die.
const char *write_input(const char *dir, const char *name, const char *text);
// A fresh folder under $TMPDIR (or /tmp); removed by rm_rf.
char *make_temp_dir(const char *tag);
void rm_rf(const char *dir);

// The first Python interpreter that imports numpy: python3 on PATH, then Debian's
// /usr/bin/python3 (python3-numpy); NULL when neither does.
const char *python_with_numpy(void);
// Runs the Python source code with interpreter (from a temporary file); stdout and stderr as
// run_cmd captures them.
cmd_result run_python(const char *interpreter, const char *code);
// The first index where two lists of eval examples differ in input_prompt, reference_output or
// item (*key names which), or -1 when every example of ours equals expected's; the lists' lengths
// are the caller's to check.
int example_difference(const cJSON *ours, const cJSON *expected, const char **key);

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
// The bytes a decoded token reads, from the numbers of the config.json at config_path alone (tp 1,
// elem bytes an element): per layer its norms, attention and MLP (a MoE layer: the router and,
// with active, num_experts_per_tok of its experts, else all), the final norm, the LM head (or the
// tied table it is), and ctx positions of KV cache. Dies (setup) on an unreadable file.
double token_bytes_from_config(const char *config_path, double ctx, double elem, bool active);

// Prints "test setup failed: what" and exits 99 (not a test result: the test could not run).
void setup_die(const char *what);
// malloc, or setup_die when out of memory; 0 bytes gives a pointer to free as usual.
void *xmalloc(size_t bytes);
// Fresh backend memory holding a copy of bytes of host data, or setup_die.
void *backend_upload(dy_backend *be, const void *host, size_t bytes);
// xorshift64*: the next uniform value in [lo, hi) of the stream *state seeds, the same every run.
float uniform_f32(uint64_t *state, float lo, float hi);
// The first index of the largest of v (n > 0).
int argmax_f32(const float *v, int64_t n);
// GPT-2's byte-to-character map as UTF-8 (1-2 bytes + NUL), written independently of the
// tokenizer under test: printable Latin-1 bytes are themselves, the other 68 bytes U+0100 on.
void gpt2_byte_char(int b, char out[3]);

// Plain checks: prints "PASS what" or "FAIL what" and counts it; returns ok.
bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// Prints "N passed, M failed"; the exit status of a test program (1 when any check failed).
int check_summary(void);

#endif

// What the fuzz targets share: a private temporary folder for parsers that take paths (with links
// to the files of the tiny checkpoint made at build time), copies of the input as C strings, the
// check of a failing reader's error, and the real Qwen3 tokenizer and chat template loaded once
// per process. A setup failure is not a finding: it prints why and exits 1 before the first input
// runs.
#ifndef DYSCO_FUZZ_UTIL_H
#define DYSCO_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/base/error.h"
#include "runtime/tokenizer/chat_template.h"
#include "runtime/tokenizer/tokenizer.h"

// Prints "fuzz setup failed: what" to stderr and exits 1.
void fuzz_die(const char *what) __attribute__((noreturn));

// The input as a NUL-terminated malloc'd string, for what reaches the program only as C strings
// (command-line arguments, chat messages: a file that would give one refuses a NUL byte), so
// text after a NUL byte is then invisible.
char *fuzz_text(const uint8_t *data, size_t size);

// Aborts (a finding) unless err holds what a failing reader must leave for the CLI to print: one
// non-empty line that names one of the given files (NULL ends the list).
void fuzz_check_error(const dy_error *err, const char *const *names);

// This process's own folder under $TMPDIR (or /tmp), made on first use and removed at exit.
const char *fuzz_temp_dir(void);
// Writes the bytes to NAME in that folder; path (PATH_MAX bytes) receives its path.
void fuzz_write(const char *name, const void *data, size_t size, char *path);
// Links NAME in that folder to the file target (the read-only inputs made at build time).
void fuzz_link(const char *name, const char *target);

// The real Qwen3 tokenizer (DYSCO_FUZZ_TOKENIZERS/qwen3) and its chat template, loaded once.
dy_tokenizer *fuzz_qwen3_tokenizer(dy_chat_template *tmpl);

#endif

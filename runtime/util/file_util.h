// Small whole-file helpers shared by the config, index and checkpoint readers.
#ifndef DYSCO_FILE_UTIL_H
#define DYSCO_FILE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "kernels/base/error.h"

// Reads a whole file into a NUL-terminated malloc'd buffer; *len gets its size (may be NULL).
char *dy_read_file(const char *path, size_t *len, dy_error *err);
// The same for a file of plain text (a prompt, a chat template), used as a C string: a NUL byte
// anywhere is an error naming the file and the byte ("p.txt: not text: a NUL byte at byte 12"),
// where the text would otherwise end without a word. Text that a parser reads takes dy_read_file
// and the parser's own rule instead (dy_json_parse: "not valid JSON: a NUL byte at byte 12").
char *dy_read_text_file(const char *path, dy_error *err);
int dy_write_file(const char *path, const void *data, size_t len, dy_error *err);
bool dy_file_exists(const char *path);
// Whether a file could be written at path: its folder exists and is writable (what a verb checks
// before long work whose result goes there). what names the option in the error ("--output").
int dy_check_writable(const char *path, const char *what, dy_error *err);
// mkdir -p: creates the folder and any missing parents.
int dy_make_dirs(const char *path, dy_error *err);
// dir + "/" + name into out (of size n); error when it does not fit.
int dy_path_join(char *out, size_t n, const char *dir, const char *name, dy_error *err);

#endif

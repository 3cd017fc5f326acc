#define _GNU_SOURCE  // nftw's FTW_DEPTH and FTW_PHYS
#include "fuzz_util.h"

#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/util/file_util.h"

void fuzz_die(const char *what) {
    fprintf(stderr, "fuzz setup failed: %s\n", what);
    exit(1);
}

char *fuzz_text(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) fuzz_die("out of memory");
    if (size) memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

void fuzz_check_error(const dy_error *err, const char *const *names) {
    bool named = false;
    for (; *names; names++) named = named || strstr(err->msg, *names);
    if (err->msg[0] && !strchr(err->msg, '\n') && named) return;
    fprintf(stderr, "fuzz: the error is not one line naming the file: \"%s\"\n", err->msg);
    abort();
}

static char temp_dir[PATH_MAX];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_temp_dir(void) { nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

const char *fuzz_temp_dir(void) {
    if (temp_dir[0]) return temp_dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(temp_dir, sizeof temp_dir, "%s/dysco-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(temp_dir)) fuzz_die("cannot make a temporary folder");
    atexit(remove_temp_dir);
    return temp_dir;
}

void fuzz_write(const char *name, const void *data, size_t size, char *path) {
    dy_error err;
    if (dy_path_join(path, PATH_MAX, fuzz_temp_dir(), name, &err)) fuzz_die(err.msg);
    // A new file each time: ext4 flushes a file truncated and rewritten when it is closed, which
    // cost most of a run.
    remove(path);
    if (dy_write_file(path, data, size, &err)) fuzz_die(err.msg);
}

void fuzz_link(const char *name, const char *target) {
    char path[PATH_MAX];
    dy_error err;
    if (dy_path_join(path, sizeof path, fuzz_temp_dir(), name, &err)) fuzz_die(err.msg);
    if (symlink(target, path) != 0) fuzz_die(path);
}

dy_tokenizer *fuzz_qwen3_tokenizer(dy_chat_template *tmpl) {
    static const char dir[] = DYSCO_FUZZ_TOKENIZERS "/qwen3";
    dy_tokenizer *tok;
    dy_error err;
    char config[PATH_MAX];
    if (dy_tokenizer_load(dir, &tok, &err) || dy_path_join(config, sizeof config, dir, "tokenizer_config.json", &err) ||
        dy_chat_template_load(config, tmpl, &err))
        fuzz_die(err.msg);
    return tok;
}

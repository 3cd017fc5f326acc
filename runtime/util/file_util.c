#include "file_util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernels/base/huge_pages.h"

char *dy_read_file(const char *path, size_t *len, dy_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        dy_fail(err, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0;
    // A regular file is read into one buffer of its size (one more read then finds its end);
    // other files (pipes) grow the buffer as they go.
    struct stat st;
    const size_t first_cap = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 65536;
    for (;;) {
        if (n + 1 >= cap) {
            cap = cap ? 2 * cap : first_cap;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                dy_fail(err, "%s: out of memory reading the file", path);
                return NULL;
            }
            buf = grown;
            dy_advise_huge_pages(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        dy_fail(err, "%s: read error", path);
        return NULL;
    }
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

char *dy_read_text_file(const char *path, dy_error *err) {
    size_t n;
    char *text = dy_read_file(path, &n, err);
    const char *nul = text ? memchr(text, '\0', n) : NULL;
    if (nul) {
        dy_fail(err, "%s: not text: a NUL byte at byte %zu", path, (size_t)(nul - text));
        free(text);
        return NULL;
    }
    return text;
}

int dy_write_file(const char *path, const void *data, size_t len, dy_error *err) {
    FILE *f = fopen(path, "wb");
    if (!f) return dy_fail(err, "%s: cannot create: %s", path, strerror(errno));
    size_t put = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || put != len) return dy_fail(err, "%s: write failed", path);
    return 0;
}

bool dy_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int dy_make_dirs(const char *path, dy_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return dy_fail(err, "%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return dy_fail(err, "%s: cannot create: %s", buf, strerror(errno));
        if (saved == '\0') break;
        *p = saved;
    }
    return 0;
}

int dy_path_join(char *out, size_t n, const char *dir, const char *name, dy_error *err) {
    int w = snprintf(out, n, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= n) return dy_fail(err, "%s/%s: path too long", dir, name);
    return 0;
}

int dy_check_writable(const char *path, const char *what, dy_error *err) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path > 0 ? slash - path : 1), path);
    if (access(dir, W_OK) != 0) return dy_fail(err, "%s %s: folder %s: %s", what, path, dir, strerror(errno));
    return 0;
}

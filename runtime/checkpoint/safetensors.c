#include "safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/util/json_util.h"

int dy_map_file(const char *path, dy_mapped_file *f, dy_error *err) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return dy_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dy_fail(err, "%s: not a regular file", path);
    }
    f->size = (size_t)st.st_size;
    if (f->size > 0) {
        void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            close(fd);
            return dy_fail(err, "%s: mmap failed: %s", path, strerror(errno));
        }
        f->map = m;
    }
    close(fd);
    f->path = strdup(path);
    return 0;
}

void dy_unmap_file(dy_mapped_file *f) {
    if (f->map) munmap(f->map, f->size);
    free(f->path);
    memset(f, 0, sizeof *f);
}

int64_t dy_tensor_numel(const dy_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static int read_uint_array(const cJSON *arr, int64_t *vals, int max, int *n) {
    if (!cJSON_IsArray(arr)) return -1;
    *n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (*n == max || !cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble != floor(v->valuedouble) ||
            v->valuedouble > 9.0e15)
            return -1;
        vals[(*n)++] = (int64_t)v->valuedouble;
    }
    return 0;
}

static int list_push(dy_tensor_list *list, const dy_tensor *t) {
    if (list->n == list->cap) {
        int cap = list->cap ? 2 * list->cap : 256;
        dy_tensor *grown = realloc(list->items, (size_t)cap * sizeof *grown);
        if (!grown) return -1;
        list->items = grown;
        list->cap = cap;
    }
    list->items[list->n++] = *t;
    return 0;
}

static int parse_entry(const dy_mapped_file *f, const cJSON *e, const uint8_t *data, uint64_t data_size,
                       dy_tensor *t, dy_error *err) {
    const char *path = f->path, *name = e->string;
    if (!cJSON_IsObject(e)) return dy_fail(err, "%s: tensor %s: header entry is not an object", path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    if (!cJSON_IsString(dtype)) return dy_fail(err, "%s: tensor %s: dtype missing", path, name);
    int dt = dy_dtype_from_safetensors(dtype->valuestring);
    if (dt < 0)
        return dy_fail(err, "%s: tensor %s: dtype %s is not supported (BF16, F16, F32)", path, name,
                       dtype->valuestring);
    t->dtype = (dy_dtype)dt;
    if (read_uint_array(cJSON_GetObjectItemCaseSensitive(e, "shape"), t->shape, DY_MAX_DIMS, &t->ndim))
        return dy_fail(err, "%s: tensor %s: shape is not a list of at most %d non-negative integers", path, name,
                       DY_MAX_DIMS);
    int64_t off[3];
    int n_off;
    if (read_uint_array(cJSON_GetObjectItemCaseSensitive(e, "data_offsets"), off, 3, &n_off) || n_off != 2 ||
        off[0] > off[1])
        return dy_fail(err, "%s: tensor %s: data_offsets is not [begin, end] with begin <= end", path, name);
    if ((uint64_t)off[1] > data_size)
        return dy_fail(err, "%s: tensor %s: data_offsets [%lld, %lld] run past the data area (%llu bytes; truncated file?)",
                       path, name, (long long)off[0], (long long)off[1], (unsigned long long)data_size);
    // Multiplied in long double: a hostile shape must not overflow int64 before it is compared.
    long double expect = (long double)dy_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) expect *= (long double)t->shape[d];
    if (expect != (long double)(off[1] - off[0]))
        return dy_fail(err, "%s: tensor %s: shape needs %.0Lf bytes of %s but data_offsets span %lld", path, name, expect,
                       dtype->valuestring, (long long)(off[1] - off[0]));
    t->data = data + off[0];
    t->nbytes = (uint64_t)(off[1] - off[0]);
    return 0;
}

// The format's optional "__metadata__": an object of string values ({"format": "pt"}).
static int check_metadata(const dy_mapped_file *f, const cJSON *meta, dy_error *err) {
    if (!cJSON_IsObject(meta)) return dy_fail(err, "%s: header: __metadata__: expected an object of strings", f->path);
    const cJSON *v;
    cJSON_ArrayForEach(v, meta) {
        if (!cJSON_IsString(v)) return dy_fail(err, "%s: header: __metadata__: %s: expected a string", f->path, v->string);
    }
    return 0;
}

static int by_data(const void *a, const void *b) {
    const dy_tensor *x = *(const dy_tensor *const *)a, *y = *(const dy_tensor *const *)b;
    return (x->data > y->data) - (x->data < y->data);
}

// Two tensors may not share bytes: a writer bug that would silently alias weights. Checks those
// of list from index first on (the file's own).
static int check_overlaps(const dy_mapped_file *f, const dy_tensor_list *list, int first, dy_error *err) {
    const int n = list->n - first;
    if (n < 2) return 0;  // and list->items may be NULL, to which not even 0 may be added
    const dy_tensor *ts = list->items + first;
    const dy_tensor **order = malloc((size_t)n * sizeof *order);
    if (!order) return dy_fail(err, "%s: out of memory", f->path);
    for (int i = 0; i < n; i++) order[i] = &ts[i];
    qsort(order, (size_t)n, sizeof *order, by_data);
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++)
        if (order[i]->data < order[i - 1]->data + order[i - 1]->nbytes)
            rc = dy_fail(err, "%s: tensor %s: data_offsets overlap those of tensor %s", f->path, order[i]->name,
                         order[i - 1]->name);
    free(order);
    return rc;
}

int dy_safetensors_parse(const dy_mapped_file *f, int file_index, dy_tensor_list *list, dy_error *err) {
    if (f->size < 8)
        return dy_fail(err, "%s: header: file is %zu bytes, too short for the 8-byte header length", f->path, f->size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | f->map[i];
    if (header_len > f->size - 8)
        return dy_fail(err, "%s: header: length %llu runs past the end of the file (%zu bytes)", f->path,
                       (unsigned long long)header_len, f->size);
    char problem[160];
    cJSON *root = dy_json_parse((const char *)f->map + 8, (size_t)header_len, problem, sizeof problem);
    if (!root) return dy_fail(err, "%s: header: %s", f->path, problem);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return dy_fail(err, "%s: header: not a JSON object", f->path);
    }
    const uint8_t *data = f->map + 8 + header_len;
    uint64_t data_size = f->size - 8 - header_len;
    int first = list->n, rc = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if ((rc = check_metadata(f, e, err))) break;
            continue;
        }
        dy_tensor t = {.file = file_index};
        if (parse_entry(f, e, data, data_size, &t, err)) {
            rc = -1;
            break;
        }
        t.name = strdup(e->string);
        if (!t.name || list_push(list, &t)) {
            free(t.name);
            rc = dy_fail(err, "%s: out of memory", f->path);
            break;
        }
    }
    cJSON_Delete(root);
    if (rc == 0) rc = check_overlaps(f, list, first, err);
    return rc;
}

void dy_tensor_list_free(dy_tensor_list *list) {
    for (int i = 0; i < list->n; i++) free(list->items[i].name);
    free(list->items);
    memset(list, 0, sizeof *list);
}

static float widen_bf16(uint16_t h) { return dy_bf16_to_f32(h); }

int64_t dy_tensor_row_len(const dy_tensor *t) { return t->ndim == 2 ? t->shape[1] : dy_tensor_numel(t); }

const uint8_t *dy_tensor_element(const dy_tensor *t, int64_t row, int64_t col) {
    return t->data + (row * dy_tensor_row_len(t) + col) * (int64_t)dy_dtype_size(t->dtype);
}

void dy_tensor_read_f32(const dy_tensor *t, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols, float *out) {
    const int64_t row_len = dy_tensor_row_len(t);
    float (*widen)(uint16_t) = t->dtype == DY_BF16 ? widen_bf16 : dy_f16_to_f32;
    for (int64_t r = 0; r < nrows; r++) {
        const int64_t base = (row0 + r) * row_len + col0;
        float *dst = out + r * ncols;
        if (t->dtype == DY_F32) {
            memcpy(dst, t->data + base * 4, (size_t)ncols * 4);
            continue;
        }
        for (int64_t c = 0; c < ncols; c++) {
            uint16_t h;
            memcpy(&h, t->data + (base + c) * 2, 2);  // the mapping gives no alignment guarantee
            dst[c] = widen(h);
        }
    }
}

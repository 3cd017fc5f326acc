// Reading safetensors files: mmap, header parsed with cJSON, every range checked before use.
// Mapping touches no tensor bytes; a reader later pages in only the ranges it reads.
#ifndef DYSCO_SAFETENSORS_H
#define DYSCO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/base/dtype.h"
#include "kernels/base/error.h"

enum { DY_MAX_DIMS = 4 };

typedef struct {
    char *name;
    dy_dtype dtype;
    int ndim;
    int64_t shape[DY_MAX_DIMS];
    const uint8_t *data;  // inside the file's mapping
    uint64_t nbytes;
    int file;  // index of the file that holds it
} dy_tensor;

typedef struct {
    char *path;
    uint8_t *map;
    size_t size;
} dy_mapped_file;

typedef struct {
    dy_tensor *items;
    int n, cap;
} dy_tensor_list;

int dy_map_file(const char *path, dy_mapped_file *f, dy_error *err);
void dy_unmap_file(dy_mapped_file *f);

// Validates the header of a mapped file and appends its tensors (tagged with file_index) to list.
int dy_safetensors_parse(const dy_mapped_file *f, int file_index, dy_tensor_list *list, dy_error *err);
void dy_tensor_list_free(dy_tensor_list *list);

int64_t dy_tensor_numel(const dy_tensor *t);

// Elements per row of a 1-D (one row) or 2-D tensor.
int64_t dy_tensor_row_len(const dy_tensor *t);
// Where element (row, col) of a 1-D or 2-D tensor lies in its file's mapping (no alignment).
const uint8_t *dy_tensor_element(const dy_tensor *t, int64_t row, int64_t col);

// Reads rows [row0, row0 + nrows) x columns [col0, col0 + ncols) of a 1-D (one row) or 2-D
// tensor into out (nrows x ncols, row-major), widened to fp32. Only those bytes are touched.
void dy_tensor_read_f32(const dy_tensor *t, int64_t row0, int64_t nrows, int64_t col0, int64_t ncols, float *out);

#endif

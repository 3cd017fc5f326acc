#include <assert.h>

#include "backend.h"

dy_view dy_view_rows(const dy_view *v, int64_t r0, int64_t n) {
    assert(r0 >= 0 && n >= 0 && r0 + n <= v->rows);
    dy_view rows = *v;
    rows.data = (char *)v->data + (size_t)(r0 * v->stride) * dy_dtype_size(v->dtype);
    rows.rows = n;
    return rows;
}

#include "dtype.h"

#include <math.h>

static const struct {
    const char *safetensors, *torch;
    size_t size;
} dtype_table[] = {
    [DY_BF16] = {"BF16", "bfloat16", 2},
    [DY_F16] = {"F16", "float16", 2},
    [DY_F32] = {"F32", "float32", 4},
};
enum { N_DTYPES = sizeof dtype_table / sizeof dtype_table[0] };

int dy_dtype_from_safetensors(const char *name) {
    for (int t = 0; t < N_DTYPES; t++)
        if (strcmp(name, dtype_table[t].safetensors) == 0) return t;
    return -1;
}

int dy_dtype_from_torch(const char *name) {
    for (int t = 0; t < N_DTYPES; t++)
        if (strcmp(name, dtype_table[t].torch) == 0) return t;
    return -1;
}

const char *dy_dtype_safetensors_name(dy_dtype t) { return dtype_table[t].safetensors; }
const char *dy_dtype_torch_name(dy_dtype t) { return dtype_table[t].torch; }
size_t dy_dtype_size(dy_dtype t) { return dtype_table[t].size; }

float dy_f16_to_f32(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v;
    if (exp == 0) v = ldexpf((float)mant, -24);  // zero and subnormals
    else if (exp == 31) v = mant ? NAN : INFINITY;
    else v = ldexpf((float)(mant | 0x400), exp - 25);
    return sign ? -v : v;
}

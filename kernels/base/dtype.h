// Tensor element types a checkpoint may hold, and conversions to and from fp32.
#ifndef DYSCO_DTYPE_H
#define DYSCO_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum { DY_BF16, DY_F16, DY_F32 } dy_dtype;

#ifdef __cplusplus
extern "C" {
#endif

// Safetensors spelling ("BF16", "F16", "F32"); -1 when the name is not one of them.
int dy_dtype_from_safetensors(const char *name);
const char *dy_dtype_safetensors_name(dy_dtype t);
// config.json spelling ("bfloat16", "float16", "float32"); -1 when unknown.
int dy_dtype_from_torch(const char *name);
const char *dy_dtype_torch_name(dy_dtype t);
size_t dy_dtype_size(dy_dtype t);

static inline float dy_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// Round to nearest even, as torch does when casting fp32 to bf16; NaN stays NaN.
static inline uint16_t dy_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

// f as bf16 holds it, widened back to fp32: what a value stored in bf16 reads as.
static inline float dy_bf16_round(float f) { return dy_bf16_to_f32(dy_f32_to_bf16(f)); }

float dy_f16_to_f32(uint16_t h);

#ifdef __cplusplus
}
#endif

#endif

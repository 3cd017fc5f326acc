#include "utf8.h"

int dy_utf8_sequence(const unsigned char *s, size_t avail, int *prefix) {
    unsigned char b = s[0];
    int need;
    unsigned char lo = 0x80, hi = 0xBF;
    *prefix = 1;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) need = 1;
    else if (b >= 0xE0 && b <= 0xEF) {
        need = 2;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 3;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else
        return 0;
    for (int k = 1; k <= need; k++) {
        if ((size_t)k >= avail || s[k] < lo || s[k] > hi) return 0;
        lo = 0x80;
        hi = 0xBF;
        *prefix = k + 1;
    }
    return need + 1;
}

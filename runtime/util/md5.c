#include "md5.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

// Per-step left rotations, four per round (RFC 1321 section 3.4).
static const int SHIFT[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

// T[i] = floor(2^32 * |sin(i + 1)|), the RFC's table: 32 of the 53 bits of a double's sine, so
// any libm's sin gives the same words.
static uint32_t sine_word(int i) { return (uint32_t)floor(fabs(sin((double)(i + 1))) * 4294967296.0); }

static uint32_t rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

static void compress(uint32_t state[4], const unsigned char block[64]) {
    uint32_t m[16];
    for (int i = 0; i < 16; i++)  // little-endian words
        m[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 | (uint32_t)block[4 * i + 2] << 16 |
               (uint32_t)block[4 * i + 3] << 24;
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 64; i++) {
        const int round = i / 16;
        uint32_t f;
        int g;
        if (round == 0) f = (b & c) | (~b & d), g = i;
        else if (round == 1) f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
        else if (round == 2) f = b ^ c ^ d, g = (3 * i + 5) % 16;
        else f = c ^ (b | ~d), g = (7 * i) % 16;
        f += a + sine_word(i) + m[g];
        a = d;
        d = c;
        c = b;
        b += rotl(f, SHIFT[round][i % 4]);
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

void dy_md5_init(dy_md5 *h) {
    *h = (dy_md5){.state = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u}};
}

void dy_md5_update(dy_md5 *h, const void *data, size_t len) {
    const unsigned char *p = data;
    while (len > 0) {
        const size_t used = (size_t)(h->bytes % 64), take = len < 64 - used ? len : 64 - used;
        memcpy(h->block + used, p, take);
        h->bytes += take;
        p += take;
        len -= take;
        if (used + take == 64) compress(h->state, h->block);
    }
}

void dy_md5_hex(dy_md5 *h, char out[33]) {
    // Padding: 0x80, zeros up to 56 bytes mod 64, then the bit length (little-endian, 64 bits).
    const uint64_t bits = h->bytes * 8;
    static const unsigned char pad[64] = {0x80};
    const size_t used = (size_t)(h->bytes % 64);
    dy_md5_update(h, pad, used < 56 ? 56 - used : 120 - used);
    unsigned char length[8];
    for (int i = 0; i < 8; i++) length[i] = (unsigned char)(bits >> (8 * i));
    dy_md5_update(h, length, 8);
    for (int w = 0; w < 4; w++)
        for (int i = 0; i < 4; i++) snprintf(out + 8 * w + 2 * i, 3, "%02x", (unsigned)(h->state[w] >> (8 * i)) & 0xffu);
}

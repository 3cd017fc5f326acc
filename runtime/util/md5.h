// MD5 (RFC 1321), for the one place the reference hashes: run_eval.py names a DySCO results
// file after md5(str(selected_heads))[:8]; eval also fingerprints the examples a run covers.
#ifndef DYSCO_MD5_H
#define DYSCO_MD5_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[4];
    uint64_t bytes;              // message length so far
    unsigned char block[64];     // the partial block
} dy_md5;

void dy_md5_init(dy_md5 *h);
void dy_md5_update(dy_md5 *h, const void *data, size_t len);
// The digest as 32 lowercase hex digits and a NUL (hashlib's hexdigest()).
void dy_md5_hex(dy_md5 *h, char out[33]);

#endif

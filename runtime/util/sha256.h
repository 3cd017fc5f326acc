// SHA-256 (FIPS 180-4), for the one place the reference hashes with it: HELMET's hotpot loader
// seeds each question's demo shuffle with int(sha256(id).hexdigest(), 16) % 2**31.
#ifndef DYSCO_SHA256_H
#define DYSCO_SHA256_H

#include <stddef.h>
#include <stdint.h>

// The digest of data[0..len), big-endian as hashlib's digest().
void dy_sha256(const void *data, size_t len, unsigned char digest[32]);

#endif

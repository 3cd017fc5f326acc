// Well-formed UTF-8 (Unicode table 3-7), for the readers that must refuse other bytes (JSON text,
// tokenizer input) and the decoder that replaces them.
#ifndef DYSCO_UTF8_H
#define DYSCO_UTF8_H

#include <stddef.h>

// Length of the well-formed UTF-8 sequence at s (avail > 0 bytes there), or 0 when it is not
// one; *prefix gets how many bytes form the longest valid prefix (a "maximal subpart", which
// lossy decoding replaces by one U+FFFD).
int dy_utf8_sequence(const unsigned char *s, size_t avail, int *prefix);
// Bytes of the sequence a lead byte starts, in text already checked to be well-formed.
static inline size_t dy_utf8_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

#endif

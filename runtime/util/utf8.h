// Well-formed UTF-8 (Unicode table 3-7), for the readers that must refuse other bytes (JSON text,
// tokenizer input) and the decoder that replaces them.
#ifndef DYSCO_UTF8_H
#define DYSCO_UTF8_H

#include <stddef.h>

// Length of the well-formed UTF-8 sequence at s (avail > 0 bytes there), or 0 when it is not
// one; *prefix gets how many bytes form the longest valid prefix (a "maximal subpart", which
// lossy decoding replaces by one U+FFFD).
int dy_utf8_sequence(const unsigned char *s, size_t avail, int *prefix);

#endif

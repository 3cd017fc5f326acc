// NFC as the Hugging Face tokenizers library computes it: with Unicode 9.0 data (its
// unicode-normalization-alignments tables; on the fixtures 9.0 gives zero mismatches with
// transformers, 10.0 and later do not). Characters assigned after 9.0 are unassigned there
// (combining class 0, no decomposition), so they neither reorder nor compose. utf8proc carries
// newer data, so the text is normalised in pieces split at those characters, which are kept as
// they are: a class-0 character that composes with nothing blocks both reordering and
// composition across it, so this equals Unicode-9.0 NFC.
#ifndef DYSCO_NFC_UNICODE9_H
#define DYSCO_NFC_UNICODE9_H

#include <stddef.h>
#include <stdint.h>

extern const int32_t dy_nfc_unicode9_inert[];  // sorted: assigned after 9.0 and NFC-relevant
extern const int dy_n_nfc_unicode9_inert;

#include <stdbool.h>

// Whether cp is one of those: unassigned in Unicode 9.0, so class 0 and no (de)composition.
bool dy_nfc_unicode9_is_inert(int32_t cp);

// NFC of s[0..len) into a malloc'd buffer (*out, *out_len); -1 on invalid UTF-8 or no memory.
int dy_nfc_unicode9(const char *s, size_t len, char **out, size_t *out_len);

#endif

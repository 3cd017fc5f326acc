// NFC with the alignments Hugging Face's tokenizers library keeps (NormalizedString::nfc), so that
// token offsets of a normalized text point into the original one as HF's do. HF takes NFC from
// the unicode-normalization-alignments crate, which tags every output character with a change:
// 0 replaces one original character, -N also swallows the N characters after it, +1 is inserted
// (a decomposition's later characters). The tags follow the characters through canonical
// reordering and composition, and HF then consumes the original characters in text order: the
// alignment is positional, not the true source of each character. This file runs the crate's
// two iterators (decompose.rs, recompose.rs of version 0.1.12) step for step on Unicode 9.0 data
// (nfc_unicode9.h) and applies those tags as HF's transform_range does.
#ifndef DYSCO_NFC_ALIGN_H
#define DYSCO_NFC_ALIGN_H

#include <stddef.h>

#include "normalizer.h"

enum { DY_NFC_UNALIGNED = 1 };

// NFC of s[0..len) (valid UTF-8, len < 2^32) into out, with out->origin[c] the byte offset in s
// of the original character HF aligns normalized character c with. Returns 0; -1 when out of
// memory; DY_NFC_UNALIGNED (and *where, a byte offset of s) when an inserted character comes
// before any original one (HF aligns it with the empty span (0, 0), which an origin cannot hold;
// canonical decompositions are in canonical order, so the crate never yields one), or when the
// tags do not consume the original characters exactly (which the crate's tags always do).
int dy_nfc_aligned(const char *s, size_t len, dy_normalized *out, size_t *where);

#endif

// Python's str semantics where the reference's scorers depend on them, over code points read
// from UTF-8: str.isspace / strip / split, the word characters of re's \b, str.lower() (the full
// mapping with the final-sigma rule) and re.IGNORECASE matching of ASCII literals. Properties come
// from utf8proc (Unicode 15.0), so they equal Python 3.11's (Unicode 14.0) on every code point
// except those first assigned in Unicode 15.0 (README, "Evaluation").
#ifndef DYSCO_PY_TEXT_H
#define DYSCO_PY_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/base/error.h"

// A growable array of code points (a Python str).
typedef struct {
    uint32_t *cp;
    size_t n, cap;
} dy_ustr;

// Appends; -1 when out of memory.
int dy_ustr_push(dy_ustr *s, uint32_t c);
int dy_ustr_append(dy_ustr *s, const uint32_t *cp, size_t n);
void dy_ustr_free(dy_ustr *s);

// The code points of len bytes of UTF-8 into *out (which starts empty); invalid UTF-8 is an
// error "WHAT: invalid UTF-8 at byte N", and *out is freed then. On success out->cp is never NULL.
int dy_ustr_from_utf8(const char *s, size_t len, const char *what, dy_ustr *out, dy_error *err);

// Whether a[0..n) equals b[0..m).
bool dy_ustr_equal(const uint32_t *a, size_t n, const uint32_t *b, size_t m);
// The first index >= from where needle[0..m) occurs in s[0..n), or -1 (Python's str.find), in
// time linear in n + m; -2 when out of memory.
ptrdiff_t dy_ustr_find(const uint32_t *s, size_t n, size_t from, const uint32_t *needle, size_t m);
// The same for an ASCII literal, compared as re.IGNORECASE compares it when
// ignore_case (so "s" also matches U+017F LONG S, "k" U+212A KELVIN SIGN, "i" U+0130 and U+0131).
ptrdiff_t dy_ustr_find_ascii(const uint32_t *s, size_t n, size_t from, const char *literal, bool ignore_case);

// str.isspace(): general category Zs or bidirectional class WS, B or S.
bool dy_py_isspace(uint32_t c);
// A character of re's \w in a str pattern: str.isalnum() (categories L* and N*) or '_'.
bool dy_py_isword(uint32_t c);
// str.isprintable() of one character: not in categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs, except
// the space (what repr() leaves unescaped).
bool dy_py_isprintable(uint32_t c);
// str.strip(): the bounds [*start, *end) of s[0..n) without leading and trailing whitespace.
void dy_py_strip(const uint32_t *s, size_t n, size_t *start, size_t *end);
// str.strip() of len bytes of well-formed UTF-8: the byte bounds [*start, *end) without leading
// and trailing whitespace.
void dy_py_strip_utf8(const char *s, size_t len, size_t *start, size_t *end);
// str.lower() of s[0..n) appended to *out: utf8proc's simple mapping, U+0130 to "i\u0307" (its
// one unconditional full mapping) and U+03A3 to final sigma where Python's context rule says so.
int dy_py_lower(const uint32_t *s, size_t n, dy_ustr *out);

#endif

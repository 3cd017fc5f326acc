#include "py_text.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

// Room for need code points in all (doubling, so appends take amortised constant time).
static int reserve(dy_ustr *s, size_t need) {
    if (need <= s->cap) return 0;
    size_t cap = s->cap ? 2 * s->cap : 16;
    if (cap < need) cap = need;
    uint32_t *p = realloc(s->cp, cap * sizeof *p);
    if (!p) return -1;
    s->cp = p;
    s->cap = cap;
    return 0;
}

int dy_ustr_push(dy_ustr *s, uint32_t c) {
    if (reserve(s, s->n + 1)) return -1;
    s->cp[s->n++] = c;
    return 0;
}

int dy_ustr_append(dy_ustr *s, const uint32_t *cp, size_t n) {
    if (n == 0) return 0;  // cp may be NULL then
    if (reserve(s, s->n + n)) return -1;
    memcpy(s->cp + s->n, cp, n * sizeof *cp);
    s->n += n;
    return 0;
}

void dy_ustr_free(dy_ustr *s) {
    free(s->cp);
    *s = (dy_ustr){0};
}

int dy_ustr_from_utf8(const char *s, size_t len, const char *what, dy_ustr *out, dy_error *err) {
    // Room for the most code points len bytes hold, at once: one allocation, and text that is
    // empty still has an array, so the scorers' s + offset never offsets a null pointer.
    if (reserve(out, out->n + len + 1)) return dy_fail(err, "%s: out of memory", what);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        const utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &c);
        if (k <= 0 || dy_ustr_push(out, (uint32_t)c)) {
            dy_ustr_free(out);
            return k <= 0 ? dy_fail(err, "%s: invalid UTF-8 at byte %zu", what, i) : dy_fail(err, "%s: out of memory", what);
        }
        i += (size_t)k;
    }
    return 0;
}

bool dy_ustr_equal(const uint32_t *a, size_t n, const uint32_t *b, size_t m) {
    return n == m && (n == 0 || memcmp(a, b, n * sizeof *a) == 0);
}

// Knuth-Morris-Pratt: a comparison at every index took up to n * m steps ("aaa...a" for
// "aa...ab"), where CPython's str.find stays linear.
ptrdiff_t dy_ustr_find(const uint32_t *s, size_t n, size_t from, const uint32_t *needle, size_t m) {
    if (m == 0) return from <= n ? (ptrdiff_t)from : -1;
    if (from > n || n - from < m) return -1;
    size_t *border = malloc(m * sizeof *border);  // border[k]: the longest proper border of needle[0..k]
    if (!border) return -2;
    border[0] = 0;
    for (size_t k = 1, b = 0; k < m; k++) {
        while (b && needle[k] != needle[b]) b = border[b - 1];
        if (needle[k] == needle[b]) b++;
        border[k] = b;
    }
    ptrdiff_t at = -1;
    for (size_t i = from, q = 0; i < n; i++) {  // q: how much of needle ends at s[i - 1]
        while (q && s[i] != needle[q]) q = border[q - 1];
        if (s[i] == needle[q] && ++q == m) {
            at = (ptrdiff_t)(i + 1 - m);
            break;
        }
    }
    free(border);
    return at;
}

// Whether c matches the ASCII pattern character p under re.IGNORECASE: the other ASCII case, and
// the non-ASCII characters Python's sre treats as case variants of i, k and s.
static bool ci_match(uint32_t c, char p) {
    if (c == (unsigned char)p) return true;
    if (!((p >= 'a' && p <= 'z') || (p >= 'A' && p <= 'Z'))) return false;
    const char lower = (char)(p | 0x20);
    if (c == (uint32_t)lower || c == (uint32_t)(lower & ~0x20)) return true;
    return (lower == 'i' && (c == 0x130 || c == 0x131)) || (lower == 'k' && c == 0x212A) || (lower == 's' && c == 0x17F);
}

ptrdiff_t dy_ustr_find_ascii(const uint32_t *s, size_t n, size_t from, const char *literal, bool ignore_case) {
    const size_t m = strlen(literal);
    for (size_t i = from; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && (ignore_case ? ci_match(s[i + k], literal[k]) : s[i + k] == (unsigned char)literal[k])) k++;
        if (k == m) return (ptrdiff_t)i;
    }
    return -1;
}

bool dy_py_isspace(uint32_t c) {
    const utf8proc_property_t *p = utf8proc_get_property((utf8proc_int32_t)c);
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

bool dy_py_isword(uint32_t c) {
    const utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    return c == '_' || (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
           (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

void dy_py_strip(const uint32_t *s, size_t n, size_t *start, size_t *end) {
    size_t a = 0, b = n;
    while (a < b && dy_py_isspace(s[a])) a++;
    while (b > a && dy_py_isspace(s[b - 1])) b--;
    *start = a;
    *end = b;
}

// Case_Ignorable: categories Mn, Me, Cf, Lm, Sk and the Word_Break classes MidLetter, MidNumLet
// and Single_Quote (listed: utf8proc has no word-break property).
static bool case_ignorable(uint32_t c) {
    static const uint32_t mid[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,  0x5F4,  0x2018, 0x2019,
                                   0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
    const utf8proc_category_t cat = utf8proc_category((utf8proc_int32_t)c);
    if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
        cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK)
        return true;
    for (size_t i = 0; i < sizeof mid / sizeof *mid; i++)
        if (c == mid[i]) return true;
    return false;
}

// Cased: Lu, Ll, Lt, Other_Lowercase, Other_Uppercase. utf8proc has neither Other_ property; a
// case mapping stands in for them, and the few cased characters without one are listed.
static bool cased(uint32_t c) {
    const utf8proc_int32_t u = (utf8proc_int32_t)c;
    const utf8proc_category_t cat = utf8proc_category(u);
    if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) return true;
    if (utf8proc_tolower(u) != u || utf8proc_toupper(u) != u || utf8proc_totitle(u) != u) return true;
    return c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
           (c >= 0x1F170 && c <= 0x1F189);
}

// Python's Final_Sigma context for the capital sigma at i: a cased letter before it (case-
// ignorable characters skipped) and none after it.
static bool final_sigma(const uint32_t *s, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && case_ignorable(s[j - 1])) j--;
    if (j == 0 || !cased(s[j - 1])) return false;
    for (j = i + 1; j < n && case_ignorable(s[j]); j++) {
    }
    return j == n || !cased(s[j]);
}

int dy_py_lower(const uint32_t *s, size_t n, dy_ustr *out) {
    for (size_t i = 0; i < n; i++) {
        int rc;
        if (s[i] == 0x130)
            rc = dy_ustr_push(out, 'i') || dy_ustr_push(out, 0x307);
        else if (s[i] == 0x3A3)
            rc = dy_ustr_push(out, final_sigma(s, n, i) ? 0x3C2 : 0x3C3);
        else
            rc = dy_ustr_push(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)s[i]));
        if (rc) return -1;
    }
    return 0;
}

void dy_py_strip_utf8(const char *s, size_t len, size_t *start, size_t *end) {
    // Code point by code point from the front; the end is the byte after the last non-space.
    size_t a = len, b = 0;
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t c;
        const utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &c);
        const size_t step = k > 0 ? (size_t)k : 1;
        if (!dy_py_isspace((uint32_t)c)) {
            if (a == len) a = i;
            b = i + step;
        }
        i += step;
    }
    *start = a == len ? 0 : a;
    *end = a == len ? 0 : b;
}

bool dy_py_isprintable(uint32_t c) {
    if (c == ' ') return true;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_ZS: return false;
    default: return true;
    }
}

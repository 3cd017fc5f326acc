#include "porter_stemmer.h"

#include <stdbool.h>
#include <string.h>

// A consonant is a letter other than a, e, i, o, u, and other than a y preceded by a consonant:
// whether w[k] is one, given whether w[k - 1] was.
static bool is_consonant(char c, size_t k, bool previous_is_consonant) {
    if (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') return false;
    return c == 'y' ? k == 0 || !previous_is_consonant : true;
}

static bool consonant_at(const char *w, size_t i) {
    bool cons = false;
    for (size_t k = 0; k <= i; k++) cons = is_consonant(w[k], k, cons);
    return cons;
}

// m, the number of vowel-consonant transitions of w[0..n).
static int measure(const char *w, size_t n) {
    int m = 0;
    bool cons = false;
    for (size_t k = 0; k < n; k++) {
        const bool next = is_consonant(w[k], k, cons);
        m += next && k > 0 && !cons;
        cons = next;
    }
    return m;
}

static bool contains_vowel(const char *w, size_t n) {
    bool cons = false;
    for (size_t k = 0; k < n; k++)
        if (!(cons = is_consonant(w[k], k, cons))) return true;
    return false;
}

static bool ends_double_consonant(const char *w, size_t n) {
    return n >= 2 && w[n - 1] == w[n - 2] && consonant_at(w, n - 1);
}

// *o: consonant-vowel-consonant with the last not w, x or y; nltk also counts a two-letter
// vowel-consonant word.
static bool ends_cvc(const char *w, size_t n) {
    if (n >= 3 && consonant_at(w, n - 3) && !consonant_at(w, n - 2) && consonant_at(w, n - 1) && w[n - 1] != 'w' &&
        w[n - 1] != 'x' && w[n - 1] != 'y')
        return true;
    return n == 2 && !consonant_at(w, 0) && consonant_at(w, 1);
}

static bool ends_with(const char *w, size_t n, const char *suffix) {
    const size_t k = strlen(suffix);
    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}

typedef enum { ALWAYS, M_ABOVE_0, M_ABOVE_1, M_ABOVE_1_AFTER_S_OR_T, LOGI_STEM_WITH_L } condition;

typedef struct {
    const char *suffix, *replacement;
    condition when;
} rule;

static bool holds(condition when, const char *w, size_t stem_len) {
    switch (when) {
    case ALWAYS: return true;
    case M_ABOVE_0: return measure(w, stem_len) > 0;
    case M_ABOVE_1: return measure(w, stem_len) > 1;
    case M_ABOVE_1_AFTER_S_OR_T: return measure(w, stem_len) > 1 && (w[stem_len - 1] == 's' || w[stem_len - 1] == 't');
    case LOGI_STEM_WITH_L: return measure(w, stem_len + 1) > 0;  // the "l" of -logi stays with the stem
    }
    return false;
}

// The first rule whose suffix the word ends with decides: it applies when its condition holds,
// and no later rule is tried either way.
static size_t apply_rules(char *w, size_t n, const rule *rules, size_t n_rules) {
    for (size_t r = 0; r < n_rules; r++) {
        if (!ends_with(w, n, rules[r].suffix)) continue;
        const size_t stem = n - strlen(rules[r].suffix);
        if (!holds(rules[r].when, w, stem)) return n;
        const size_t k = strlen(rules[r].replacement);
        memcpy(w + stem, rules[r].replacement, k);
        return stem + k;
    }
    return n;
}

static size_t replace_suffix(char *w, size_t n, size_t suffix_len, const char *replacement) {
    const size_t k = strlen(replacement);
    memcpy(w + n - suffix_len, replacement, k);
    return n - suffix_len + k;
}

static size_t step1a(char *w, size_t n) {
    if (n == 4 && ends_with(w, n, "ies")) return replace_suffix(w, n, 3, "ie");  // dies -> die, flies -> fli
    static const rule rules[] = {{"sses", "ss", ALWAYS}, {"ies", "i", ALWAYS}, {"ss", "ss", ALWAYS}, {"s", "", ALWAYS}};
    return apply_rules(w, n, rules, sizeof rules / sizeof *rules);
}

static size_t step1b(char *w, size_t n) {
    if (ends_with(w, n, "ied")) return replace_suffix(w, n, 3, n == 4 ? "ie" : "i");  // died -> die, spied -> spi
    if (ends_with(w, n, "eed")) return measure(w, n - 3) > 0 ? n - 1 : n;
    size_t stem;
    if (ends_with(w, n, "ed") && contains_vowel(w, n - 2))
        stem = n - 2;
    else if (ends_with(w, n, "ing") && contains_vowel(w, n - 3))
        stem = n - 3;
    else
        return n;
    static const rule restore[] = {{"at", "ate", ALWAYS}, {"bl", "ble", ALWAYS}, {"iz", "ize", ALWAYS}};
    for (size_t r = 0; r < sizeof restore / sizeof *restore; r++)
        if (ends_with(w, stem, restore[r].suffix)) return replace_suffix(w, stem, 2, restore[r].replacement);
    if (ends_double_consonant(w, stem)) {
        const char last = w[stem - 1];
        return last == 'l' || last == 's' || last == 'z' ? stem : stem - 1;
    }
    if (measure(w, stem) == 1 && ends_cvc(w, stem)) {
        w[stem] = 'e';
        return stem + 1;
    }
    return stem;
}

static size_t step1c(char *w, size_t n) {
    // nltk: y -> i after a consonant that is not the word's first letter (happy -> happi, enjoy stays).
    if (ends_with(w, n, "y") && n - 1 > 1 && consonant_at(w, n - 2)) w[n - 1] = 'i';
    return n;
}

static size_t step2(char *w, size_t n) {
    // nltk applies -alli -> -al first and, when it applies, step 2 again to the result.
    if (ends_with(w, n, "alli") && measure(w, n - 4) > 0) return step2(w, n - 2);
    static const rule rules[] = {
        {"ational", "ate", M_ABOVE_0}, {"tional", "tion", M_ABOVE_0}, {"enci", "ence", M_ABOVE_0},
        {"anci", "ance", M_ABOVE_0},   {"izer", "ize", M_ABOVE_0},    {"bli", "ble", M_ABOVE_0},
        {"alli", "al", M_ABOVE_0},     {"entli", "ent", M_ABOVE_0},   {"eli", "e", M_ABOVE_0},
        {"ousli", "ous", M_ABOVE_0},   {"ization", "ize", M_ABOVE_0}, {"ation", "ate", M_ABOVE_0},
        {"ator", "ate", M_ABOVE_0},    {"alism", "al", M_ABOVE_0},    {"iveness", "ive", M_ABOVE_0},
        {"fulness", "ful", M_ABOVE_0}, {"ousness", "ous", M_ABOVE_0}, {"aliti", "al", M_ABOVE_0},
        {"iviti", "ive", M_ABOVE_0},   {"biliti", "ble", M_ABOVE_0},  {"fulli", "ful", M_ABOVE_0},
        {"logi", "log", LOGI_STEM_WITH_L},
    };
    return apply_rules(w, n, rules, sizeof rules / sizeof *rules);
}

static size_t step3(char *w, size_t n) {
    static const rule rules[] = {{"icate", "ic", M_ABOVE_0}, {"ative", "", M_ABOVE_0}, {"alize", "al", M_ABOVE_0},
                                 {"iciti", "ic", M_ABOVE_0}, {"ical", "ic", M_ABOVE_0},  {"ful", "", M_ABOVE_0},
                                 {"ness", "", M_ABOVE_0}};
    return apply_rules(w, n, rules, sizeof rules / sizeof *rules);
}

static size_t step4(char *w, size_t n) {
    static const rule rules[] = {
        {"al", "", M_ABOVE_1},   {"ance", "", M_ABOVE_1},  {"ence", "", M_ABOVE_1}, {"er", "", M_ABOVE_1},
        {"ic", "", M_ABOVE_1},   {"able", "", M_ABOVE_1},  {"ible", "", M_ABOVE_1}, {"ant", "", M_ABOVE_1},
        {"ement", "", M_ABOVE_1}, {"ment", "", M_ABOVE_1}, {"ent", "", M_ABOVE_1},  {"ion", "", M_ABOVE_1_AFTER_S_OR_T},
        {"ou", "", M_ABOVE_1},   {"ism", "", M_ABOVE_1},   {"ate", "", M_ABOVE_1},  {"iti", "", M_ABOVE_1},
        {"ous", "", M_ABOVE_1},  {"ive", "", M_ABOVE_1},   {"ize", "", M_ABOVE_1},
    };
    return apply_rules(w, n, rules, sizeof rules / sizeof *rules);
}

static size_t step5(char *w, size_t n) {
    // 5a: both e rules are tried (m > 1, or m = 1 without *o).
    if (ends_with(w, n, "e")) {
        const int m = measure(w, n - 1);
        if (m > 1 || (m == 1 && !ends_cvc(w, n - 1))) n--;
    }
    // 5b: -ll -> -l when the word without its last letter has m > 1.
    if (ends_with(w, n, "ll") && measure(w, n - 1) > 1) n--;
    return n;
}

size_t dy_porter_stem(char *w, size_t n) {
    // nltk's table of irregular forms, which bypass the steps.
    static const char *const irregular[][2] = {
        {"sky", "sky"},         {"skies", "sky"},         {"dying", "die"},       {"lying", "lie"},
        {"tying", "tie"},       {"news", "news"},         {"innings", "inning"},  {"inning", "inning"},
        {"outings", "outing"},  {"outing", "outing"},     {"cannings", "canning"}, {"canning", "canning"},
        {"howe", "howe"},       {"proceed", "proceed"},   {"exceed", "exceed"},   {"succeed", "succeed"},
    };
    for (size_t i = 0; i < sizeof irregular / sizeof *irregular; i++)
        if (strlen(irregular[i][0]) == n && memcmp(w, irregular[i][0], n) == 0) {
            const size_t k = strlen(irregular[i][1]);
            memcpy(w, irregular[i][1], k);
            return k;
        }
    if (n <= 2) return n;
    n = step1a(w, n);
    n = step1b(w, n);
    n = step1c(w, n);
    n = step2(w, n);
    n = step3(w, n);
    n = step4(w, n);
    return step5(w, n);
}

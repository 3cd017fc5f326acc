// Encoding and decoding with a loaded tokenizer (see tokenizer.h for the pipeline): the steps both
// models share, and the byte-level model's pre-tokenizer and decoder (the char-level model's are
// in char_bpe.c and decoder_chain.c).
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "nfc_align.h"
#include "nfc_unicode9.h"
#include "runtime/util/utf8.h"
#include "tokenizer_state.h"

int dy_tokenizer_n_ids(const dy_tokenizer *tok) { return tok->n_ids; }

bool dy_tokenizer_has_id(const dy_tokenizer *tok, int32_t id) { return id >= 0 && id < tok->n_ids && tok->id_to_token[id]; }

int32_t dy_tokenizer_token_id(const dy_tokenizer *tok, const char *text) {
    for (int i = 0; i < tok->n_added; i++)
        if (strcmp(tok->added[i].content, text) == 0) return tok->added[i].id;
    return dy_str_map_get(&tok->model_vocab, text, strlen(text));
}

// The steps PCRE2 may take for one match (its match limit) grow with the text left to scan: in
// Qwen3's and Llama-3's split regexes a run of n spaces before a letter costs n + 5 steps, other
// text a few. A pattern that backtracks without bound (nested repeats such as "(a+)+$") stops
// after two steps per byte left plus this constant: an error, where PCRE2's default (10 million
// steps, whatever the text) taken as "no match" split the rest of the text wrongly, or a long
// legitimate run of spaces hit it.
enum { SPLIT_MATCH_LIMIT_BASE = 100000 };

static uint32_t match_limit(size_t bytes_left) {
    const size_t limit = SPLIT_MATCH_LIMIT_BASE + 2 * bytes_left;
    return limit < UINT32_MAX ? (uint32_t)limit : UINT32_MAX;
}

// Where the bytes of one normalized text piece between added tokens come from, for offsets:
// HF aligns every normalized byte with the whole original character it comes from, and the
// ByteLevel pre-tokenizer gives each byte-level symbol its byte's alignment, so a token spans
// from the start of its first byte's character to the end of its last byte's.
typedef struct {
    const char *norm;            // the normalized piece (split_and_merge's words point into it)
    const char *orig;            // the original piece, at byte base of the caller's text
    size_t base;
    const dy_normalized *nfc;    // origins per normalized character; NULL when norm is orig's bytes
    size_t byte, chr;            // with nfc: character chr of norm starts at byte (a cursor)
    dy_token_offsets *offsets;
} piece_origins;

// The original character (absolute byte span [*start, *end)) normalized byte b is aligned with.
static void origin_of(piece_origins *o, size_t b, size_t *start, size_t *end) {
    size_t from;
    if (!o->nfc) {
        for (from = b; from > 0 && ((unsigned char)o->norm[from] & 0xC0) == 0x80; from--) {}
    } else {
        if (b < o->byte) o->byte = o->chr = 0;  // not reached: tokens come in order, so the cursor walks the piece once
        for (size_t next; (next = o->byte + dy_utf8_length((unsigned char)o->norm[o->byte])) <= b; o->chr++) o->byte = next;
        from = o->nfc->origin[o->chr];
    }
    *start = o->base + from;
    *end = *start + dy_utf8_length((unsigned char)o->orig[from]);
}

// Bytes a model token stands for: one per character of its byte-level form.
static size_t token_byte_count(const char *token) {
    size_t n = 0;
    for (; *token; token++) n += ((unsigned char)*token & 0xC0) != 0x80;
    return n;
}

// Offsets of the tokens from `first` on, the BPE of the word at byte pos (len bytes) of the piece.
static int push_word_offsets(const dy_tokenizer *tok, piece_origins *o, size_t pos, size_t len, const dy_tokens *out,
                             int first, dy_error *err) {
    const size_t end = pos + len;
    for (int i = first; i < out->n; i++) {
        const char *token = tok->id_to_token[out->ids[i]];
        const size_t n = token ? token_byte_count(token) : 0;
        if (n == 0 || n > end - pos)
            return dy_fail(err, "%s: offsets: token id %d does not cover bytes of its word (its byte-level form is not the word's)",
                           tok->path, out->ids[i]);
        size_t start, stop, unused;
        origin_of(o, pos, &start, &unused);
        origin_of(o, pos + n - 1, &unused, &stop);
        if (dy_token_offsets_push(o->offsets, (int64_t)start, (int64_t)stop)) return dy_fail(err, "tokenizer: out of memory");
        pos += n;
    }
    return pos == end ? 0 : dy_fail(err, "%s: offsets: the tokens of a word cover %zu of its %zu bytes", tok->path, len - (end - pos), len);
}

// Text pieces between added tokens: normalised, split by each pre-tokenizer regex in turn, BPE;
// with origins (offsets wanted), each word's token offsets after its ids.
static int split_and_merge(dy_tokenizer *tok, const char *s, size_t len, int level, dy_tokens *out, piece_origins *o,
                           dy_error *err) {
    if (level == tok->n_splits) {
        const int first = out->n;
        if (dy_bpe_word(tok, s, len, out)) return dy_fail(err, "tokenizer: out of memory");
        return o ? push_word_offsets(tok, o, (size_t)(s - o->norm), len, out, first, err) : 0;
    }
    pcre2_code *re = tok->splits[level];
    size_t pos = 0;
    while (pos < len) {
        pcre2_set_match_limit(tok->match_limits, match_limit(len - pos));
        int rc = pcre2_match(re, (PCRE2_SPTR)s, len, pos, PCRE2_NO_UTF_CHECK, tok->match, tok->match_limits);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {  // a limit, not "no match": the rest would be split wrongly
            PCRE2_UCHAR why[128];
            pcre2_get_error_message(rc, why, sizeof why);
            return dy_fail(err, "%s: pre_tokenizer: regex \"%.200s\": matching stopped: %s", tok->path,
                           tok->split_patterns[level], (const char *)why);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(tok->match);
        size_t start = rc > 0 ? ov[0] : len, end = rc > 0 ? ov[1] : len;
        if (start > pos && split_and_merge(tok, s + pos, start - pos, level + 1, out, o, err)) return -1;  // unmatched gap
        if (end > start && split_and_merge(tok, s + start, end - start, level + 1, out, o, err)) return -1;
        if (end == start && start < len) {  // an empty match: step over one character
            int prefix;
            end = start + (size_t)dy_utf8_sequence((const unsigned char *)s + start, len - start, &prefix);
            if (split_and_merge(tok, s + start, end - start, level + 1, out, o, err)) return -1;
        }
        pos = end;
    }
    return 0;
}

// HF's alignments of the piece's NFC text (nfc, n bytes, from dy_nfc_unicode9) into o->nfc.
static int align_nfc(dy_tokenizer *tok, piece_origins *o, size_t len, const char *nfc, size_t n, dy_error *err) {
    size_t where;
    const int rc = dy_nfc_aligned(o->orig, len, &tok->nfc_aligned, &where);
    if (rc < 0) return dy_fail(err, "tokenizer: out of memory");
    if (rc == DY_NFC_UNALIGNED)
        return dy_fail(err, "%s: offsets: NFC of the text near byte %zu has a character HF aligns with no original one",
                       tok->path, o->base + where);
    const dy_normalized *a = &tok->nfc_aligned;
    if (a->n_bytes != n || memcmp(a->bytes, nfc, n) != 0)  // the alignment must be of the text the ids come from
        return dy_fail(err, "%s: offsets: HF's NFC alignment and NFC give different text for the piece between added tokens at byte %zu",
                       tok->path, o->base);
    o->nfc = a;
    return 0;
}

static bool is_ascii(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80) return false;
    return true;
}

static int byte_level_segment(dy_tokenizer *tok, const char *s, size_t len, size_t base, dy_tokens *out,
                              dy_token_offsets *offsets, dy_error *err) {
    piece_origins origins = {.norm = s, .orig = s, .base = base, .offsets = offsets}, *o = offsets ? &origins : NULL;
    if (!tok->nfc || is_ascii(s, len)) return split_and_merge(tok, s, len, 0, out, o, err);  // ASCII is always in NFC
    if (o && len > UINT32_MAX) return dy_fail(err, "tokenizer: offsets: a text of %zu bytes between added tokens is over 4 GiB", len);
    char *nfc;
    size_t n;
    if (dy_nfc_unicode9(s, len, &nfc, &n)) return dy_fail(err, "tokenizer: NFC normalisation failed");
    int rc = 0;
    // Where NFC leaves the piece as it is, HF's tags are all 0 and each character is its own
    // origin (test_tokenizer_offsets checks this on its corpus): no alignment to compute.
    if (o && (n != len || memcmp(nfc, s, len) != 0)) rc = align_nfc(tok, o, len, nfc, n, err);
    origins.norm = nfc;
    if (rc == 0) rc = split_and_merge(tok, nfc, n, 0, out, o, err);
    free(nfc);
    return rc;
}

// One text piece between added tokens, at byte base of the text.
static int encode_segment(dy_tokenizer *tok, const char *s, size_t len, size_t base, dy_tokens *out,
                          dy_token_offsets *offsets, dy_error *err) {
    if (len == 0) return 0;
    if (tok->char_level) return dy_char_bpe_segment(tok, s, len, base, out, offsets, err);
    return byte_level_segment(tok, s, len, base, out, offsets, err);
}

// A special token of the post-processor: offsets (0, 0), as in HF.
static int push_template(const int32_t *ids, int n, dy_tokens *out, dy_token_offsets *offsets, dy_error *err) {
    for (int i = 0; i < n; i++)
        if (dy_tokens_push(out, ids[i]) || (offsets && dy_token_offsets_push(offsets, 0, 0)))
            return dy_fail(err, "tokenizer: out of memory");
    return 0;
}

// Code point index of a byte offset, counted on from the last one asked: offsets come nearly in
// order (a token's start can go back within its word, the post-processor's (0, 0) to the start),
// so a cursor each for starts and ends walks the text about once, where a table would be 8 bytes
// per byte of a 10 MB text.
typedef struct {
    size_t byte;
    int64_t code_point;
} text_cursor;

static int64_t code_point_at(const char *text, text_cursor *c, size_t byte) {
    if (byte < c->byte) *c = (text_cursor){0, 0};
    for (; c->byte < byte; c->byte++) c->code_point += ((unsigned char)text[c->byte] & 0xC0) != 0x80;
    return c->code_point;
}

// Byte offsets from `first` on -> code point offsets (Python string indices, as HF reports them).
static void offsets_to_code_points(const char *text, dy_token_offsets *offsets, int first) {
    text_cursor starts = {0, 0}, ends = {0, 0};
    for (int i = first; i < offsets->n; i++) {
        offsets->at[i].start = code_point_at(text, &starts, (size_t)offsets->at[i].start);
        offsets->at[i].end = code_point_at(text, &ends, (size_t)offsets->at[i].end);
    }
}

static int encode(dy_tokenizer *tok, const char *text, size_t len, bool add_special, dy_tokens *out,
                  dy_token_offsets *offsets, dy_error *err) {
    if (offsets && tok->trim_offsets)  // HF would move offsets off the spaces around each token
        return dy_fail(err, "%s: post_processor: ByteLevel trim_offsets is true: offsets are not supported with it", tok->path);
    for (size_t i = 0; i < len;) {
        int prefix, n = dy_utf8_sequence((const unsigned char *)text + i, len - i, &prefix);
        if (n == 0) return dy_fail(err, "text: invalid UTF-8 at byte %zu", i);
        i += (size_t)n;
    }
    const int first_offset = offsets ? offsets->n : 0;
    if (add_special && push_template(tok->prefix, tok->n_prefix, out, offsets, err)) return -1;
    // Added tokens are found in the raw text first: leftmost match, longest at that position.
    size_t seg = 0;
    for (size_t i = 0; i < len; i++) {
        if (!tok->added_first_byte[(unsigned char)text[i]]) continue;
        for (int a = 0; a < tok->n_added; a++) {
            const dy_added_token *t = &tok->added[a];
            if ((size_t)t->len > len - i || memcmp(text + i, t->content, (size_t)t->len) != 0) continue;
            if (encode_segment(tok, text + seg, i - seg, seg, out, offsets, err)) return -1;
            if (dy_tokens_push(out, t->id) ||
                (offsets && dy_token_offsets_push(offsets, (int64_t)i, (int64_t)(i + (size_t)t->len))))
                return dy_fail(err, "tokenizer: out of memory");
            i += (size_t)t->len - 1;
            seg = i + 1;
            break;
        }
    }
    if (encode_segment(tok, text + seg, len - seg, seg, out, offsets, err)) return -1;
    if (add_special && push_template(tok->suffix, tok->n_suffix, out, offsets, err)) return -1;
    if (offsets) offsets_to_code_points(text, offsets, first_offset);
    return 0;
}

int dy_tokenizer_encode(dy_tokenizer *tok, const char *text, size_t len, bool add_special, dy_tokens *out,
                        dy_error *err) {
    return encode(tok, text, len, add_special, out, NULL, err);
}

int dy_tokenizer_encode_offsets(dy_tokenizer *tok, const char *text, size_t len, bool add_special, dy_tokens *out,
                                dy_token_offsets *offsets, dy_error *err) {
    return encode(tok, text, len, add_special, out, offsets, err);
}

typedef struct {
    char *s;
    size_t n, cap;
} buffer;

static int put(buffer *b, const void *data, size_t len) {
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1) cap *= 2;
        char *grown = realloc(b->s, cap);
        if (!grown) return -1;
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->n, data, len);
    b->n += len;
    b->s[b->n] = '\0';
    return 0;
}

// A token's bytes under the ByteLevel decoder: each character mapped back to its byte, or the
// token's own UTF-8 when any character is outside the byte-level alphabet (added tokens).
static int token_bytes(const dy_tokenizer *tok, const char *t, buffer *out) {
    size_t start = out->n, len = strlen(t);
    for (size_t i = 0; i < len;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)t + i, (utf8proc_ssize_t)(len - i), &cp);
        if (k <= 0 || cp >= 324 || tok->char_to_byte[cp] < 0) {
            out->n = start;
            return put(out, t, len);
        }
        unsigned char byte = (unsigned char)tok->char_to_byte[cp];
        if (put(out, &byte, 1)) return -1;
        i += (size_t)k;
    }
    return 0;
}

// A token kept by decode: one with a text (a model's padded vocabulary rows have none and decode
// to nothing, as in transformers), and not a special one when skip_special.
static bool kept_in_decode(const dy_tokenizer *tok, int32_t id, bool skip_special) {
    return id >= 0 && id < tok->n_ids && tok->id_to_token[id] && !(skip_special && tok->id_is_special[id]);
}

static char *decode_chain(const dy_tokenizer *tok, const int32_t *ids, int n, bool skip_special, dy_error *err) {
    const char **tokens = malloc((size_t)(n ? n : 1) * sizeof *tokens);
    char *text = NULL;
    int k = 0;
    if (tokens) {
        for (int i = 0; i < n; i++)
            if (kept_in_decode(tok, ids[i], skip_special)) tokens[k++] = tok->id_to_token[ids[i]];
        text = dy_decode_chain(tok->decoder, tok->n_decoder, tokens, k);
    }
    free(tokens);
    if (!text) dy_fail(err, "decode: out of memory");
    return text;
}

char *dy_tokenizer_decode(const dy_tokenizer *tok, const int32_t *ids, int n, bool skip_special, dy_error *err) {
    if (tok->char_level) return decode_chain(tok, ids, n, skip_special, err);
    buffer bytes = {0}, text = {0};
    for (int i = 0; i < n; i++)
        if (kept_in_decode(tok, ids[i], skip_special) && token_bytes(tok, tok->id_to_token[ids[i]], &bytes)) goto oom;
    if (put(&text, "", 0)) goto oom;
    // Lossy UTF-8, as Rust's from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
    for (size_t i = 0; i < bytes.n;) {
        int prefix, k = dy_utf8_sequence((const unsigned char *)bytes.s + i, bytes.n - i, &prefix);
        if (k > 0 ? put(&text, bytes.s + i, (size_t)k) : put(&text, "\xEF\xBF\xBD", 3)) goto oom;
        i += (size_t)(k > 0 ? k : prefix);
    }
    free(bytes.s);
    return text.s;
oom:
    free(bytes.s);
    free(text.s);
    dy_fail(err, "decode: out of memory");
    return NULL;
}

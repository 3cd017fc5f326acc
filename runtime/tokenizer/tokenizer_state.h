// The tokenizer's state, shared by its loader (tokenizer_load.c), the BPE model (bpe.c) and the
// encode/decode pipeline (tokenizer.c). Not part of the public interface.
#ifndef DYSCO_TOKENIZER_STATE_H
#define DYSCO_TOKENIZER_STATE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "bpe.h"
#include "char_bpe.h"
#include "decoder_chain.h"
#include "normalizer.h"
#include "runtime/util/hash_map.h"
#include "tokenizer.h"

enum { DY_MAX_SPLITS = 4, DY_MAX_TEMPLATE_IDS = 8 };

typedef struct {
    char *content;
    int len;
    int32_t id;
    bool special;
} dy_added_token;

struct dy_tokenizer {
    // Vocabulary: model tokens in byte-level form and added tokens as written.
    int n_ids;
    char **id_to_token;  // (n_ids) NULL for ids no token uses
    uint8_t *id_is_added, *id_is_special;
    dy_str_map model_vocab;  // byte-level form -> id (model tokens only)

    // BPE: (left id << 32 | right id) -> rank, the entry's index in model.merges (a pair listed
    // twice keeps its later rank, as in the `tokenizers` library)
    dy_u64_map merges;
    uint32_t n_merges;  // entries of model.merges
    int32_t *merge_id;  // (n_merges) the token each rank's merge makes
    bool ignore_merges;  // Llama-3: a word already in the vocabulary is one token
    int32_t byte_id[256];              // id of each single byte's byte-level symbol
    char byte_char[256][3];            // byte-level UTF-8 form of each byte (1-2 bytes + NUL)
    int16_t char_to_byte[324];         // inverse mapping, by code point; -1 when not a mapped char

    dy_added_token *added;  // sorted by length, longest first
    int n_added;
    uint8_t added_first_byte[256];

    bool nfc;
    pcre2_code *splits[DY_MAX_SPLITS];  // pre-tokenizer regexes, applied in order (Isolated)
    char *split_patterns[DY_MAX_SPLITS];  // each as the file writes it, for errors
    int n_splits;
    pcre2_match_data *match;
    // Bounds on one match's work: depth and heap set at load (tokenizer_load.c), the match limit
    // before each match from the bytes left (tokenizer.c); a match that hits one is an error.
    pcre2_match_context *match_limits;
    char *path;  // tokenizer.json as named when loading, for errors while encoding

    int n_prefix, n_suffix;  // post-processor template around the sequence
    bool trim_offsets;       // a ByteLevel post-processor trims offsets (not supported: offsets refused)
    int32_t prefix[DY_MAX_TEMPLATE_IDS], suffix[DY_MAX_TEMPLATE_IDS];

    // SentencePiece-style BPE (no pre-tokenizer: Llama-2); the fields above that name byte-level
    // forms, splits and NFC are unused then.
    bool char_level;
    dy_norm_step norm[DY_MAX_NORM_STEPS];
    int n_norm;
    bool byte_fallback, fuse_unk;
    int32_t unk_id;           // -1 without an unk_token
    int32_t fallback_id[256];  // id of each byte's <0xXX> token, -1 when the vocabulary has none
    int32_t ascii_id[128];     // model id of each one-byte character, -1 when none (spares a hash lookup)
    dy_dec_step decoder[DY_MAX_DEC_STEPS];
    int n_decoder;

    dy_word_cache cache;
    dy_bpe_scratch scratch;  // its merge queue serves both models
    dy_normalized nfc_aligned;  // byte-level offsets: NFC text with HF's alignments (nfc_align.h)
    dy_char_bpe_scratch char_scratch;
};

#endif

// The documents and calibration examples QRHead reads (spec/qrhead.md §2.1): a docs file is a
// JSON list of {idx, title (optional), paragraph_text}; a detection file is a JSON list of
// examples {idx, question, paragraphs: [docs], gt_docs: [doc idx] (LME)}. Ids are strings or
// whole numbers, kept as their text ("7"), since results and qrels key documents by string.
#ifndef DYSCO_QRHEAD_DATA_H
#define DYSCO_QRHEAD_DATA_H

#include <stdbool.h>

#include "kernels/base/error.h"

typedef struct {
    char *idx;
    char *title;  // NULL: none (absent or null), so no "title\n" line in the prompt
    char *text;   // paragraph_text
} dy_qr_doc;

typedef struct {
    char *idx, *question;
    dy_qr_doc *docs;
    int n_docs;
    char **gold;  // gt_docs, each one of docs' idx
    int n_gold;
} dy_qr_example;

typedef struct {
    dy_qr_example *ex;
    int n;
} dy_qr_data;

// A detection file. need_gold: every example has gt_docs (the LME criterion), each naming one of
// its paragraphs. Errors name the file, the example (its index and idx) and the field: a missing
// or mistyped field, no paragraphs, a paragraph whose text is empty after strip(), two
// paragraphs with one idx.
int dy_qr_data_load(const char *path, bool need_gold, dy_qr_data *out, dy_error *err);
void dy_qr_data_free(dy_qr_data *d);

// A docs file (dysco retrieve): the same checks on one list of paragraphs.
int dy_qr_docs_load(const char *path, dy_qr_doc **docs, int *n, dy_error *err);
void dy_qr_docs_free(dy_qr_doc *docs, int n);

// What the reference's detection scripts do to each example before scoring: paragraph_text
// stripped (Python's str.strip()), then with truncate_words > 0 cut to its first truncate_words
// space-separated words (' '.join(text.split(' ')[:n])).
void dy_qr_prepare_text(dy_qr_doc *d, int truncate_words);

#endif

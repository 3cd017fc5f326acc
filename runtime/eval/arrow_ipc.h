// Reading Hugging Face datasets' saved splits (DatasetDict.save_to_disk: a folder with state.json
// and Arrow IPC stream files) as JSON records, one object per row keyed by column name. Written
// here because Debian packages no Arrow library. Supported columns: int64 (|v| <= 2^53), int32,
// bool, float64 (finite), utf8 and large_utf8 (UTF-8 without NUL bytes), and list / large_list
// of those, nested up to 8 levels; a null is JSON null. Anything else (another type, dictionary
// encoding, compressed bodies, big-endian data) is an error, as is every malformed input, with
// work bounded by the input's size.
#ifndef DYSCO_ARROW_IPC_H
#define DYSCO_ARROW_IPC_H

#include <stddef.h>

#include <cJSON.h>

#include "kernels/base/error.h"

// The rows of the Arrow IPC stream data[0..len), appended to the list rows; -1 with one line
// "PATH: PROBLEM" in err at the first fault (rows may then hold some of the stream's rows).
int dy_arrow_read_stream(const unsigned char *data, size_t len, const char *path, cJSON *rows, dy_error *err);

// The rows of the split saved in dir: the files state.json's "_data_files" lists, in its order.
// A missing state.json is "DIR/state.json: missing (SOURCE)", source saying where the data comes
// from.
cJSON *dy_arrow_read_split(const char *dir, const char *source, dy_error *err);
// The rows of split of the DatasetDict saved in dir (load_from_disk(dir)[split]): dir/split,
// which dir/dataset_dict.json's "splits" must list. A missing dataset_dict.json is
// "DIR/dataset_dict.json: missing (SOURCE)".
cJSON *dy_arrow_read_dict_split(const char *dir, const char *split, const char *source, dy_error *err);

#endif

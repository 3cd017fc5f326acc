// The folders of Hugging Face datasets' save_to_disk: a DatasetDict's dataset_dict.json lists its
// splits, each a folder whose state.json names the Arrow files, whose rows, in that order, are
// the split's.
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_ipc.h"
#include "eval_loaders.h"
#include "runtime/util/file_util.h"

// Whether s names an entry of a folder, never a path elsewhere (the JSON files give the names).
static bool is_entry_name(const char *s) {
    return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

// The "filename" of an entry of state.json's "_data_files", when it names a file in the folder.
static const char *data_file_name(const cJSON *entry) {
    const cJSON *name = cJSON_IsObject(entry) ? cJSON_GetObjectItemCaseSensitive(entry, "filename") : NULL;
    return cJSON_IsString(name) && is_entry_name(name->valuestring) ? name->valuestring : NULL;
}

static int read_data_file(const char *path, cJSON *rows, dy_error *err) {
    size_t len;
    char *data = dy_eval_read_source(path, "state.json lists it", &len, err);
    if (!data) return -1;
    const int rc = dy_arrow_read_stream((const unsigned char *)data, len, path, rows, err);
    free(data);
    return rc;
}

cJSON *dy_arrow_read_split(const char *dir, const char *source, dy_error *err) {
    char path[4096];
    if (dy_path_join(path, sizeof path, dir, "state.json", err)) return NULL;
    cJSON *state = dy_eval_read_json(path, source, err);
    if (!state) return NULL;
    const cJSON *files = cJSON_IsObject(state) ? cJSON_GetObjectItemCaseSensitive(state, "_data_files") : NULL;
    cJSON *rows = NULL;
    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) == 0) {
        dy_fail(err, "%s: _data_files: expected a non-empty list of {\"filename\": ...}", path);
    } else {
        rows = cJSON_CreateArray();
        const cJSON *entry;
        int i = 0;
        cJSON_ArrayForEach(entry, files) {
            const char *name = data_file_name(entry);
            char file[4096];
            int rc = rows ? 0 : dy_fail(err, "%s: out of memory", path);
            if (!rc && !name) rc = dy_fail(err, "%s: _data_files[%d]: expected {\"filename\": a file name in the folder}", path, i);
            if (!rc) rc = dy_path_join(file, sizeof file, dir, name, err);
            if (!rc) rc = read_data_file(file, rows, err);
            if (rc) {
                cJSON_Delete(rows);
                rows = NULL;
                break;
            }
            i++;
        }
    }
    cJSON_Delete(state);
    return rows;
}

cJSON *dy_arrow_read_dict_split(const char *dir, const char *split, const char *source, dy_error *err) {
    char path[4096], split_dir[4096];
    if (dy_path_join(path, sizeof path, dir, "dataset_dict.json", err)) return NULL;
    cJSON *dict = dy_eval_read_json(path, source, err);
    if (!dict) return NULL;
    const cJSON *splits = cJSON_IsObject(dict) ? cJSON_GetObjectItemCaseSensitive(dict, "splits") : NULL, *s;
    int listed = 0;
    if (!cJSON_IsArray(splits)) {
        dy_fail(err, "%s: splits: expected a list of split names", path);
    } else {
        cJSON_ArrayForEach(s, splits) listed |= cJSON_IsString(s) && strcmp(s->valuestring, split) == 0;
        if (!listed) dy_fail(err, "%s: splits: no split '%s'", path, split);
    }
    cJSON_Delete(dict);
    if (!listed) return NULL;
    if (!is_entry_name(split)) {
        dy_fail(err, "%s: splits: '%s' is not a folder name", path, split);
        return NULL;
    }
    if (dy_path_join(split_dir, sizeof split_dir, dir, split, err)) return NULL;
    return dy_arrow_read_split(split_dir, source, err);
}

// A split folder of Hugging Face datasets' save_to_disk: state.json names the Arrow files, whose
// rows, in that order, are the split's.
#include <stdlib.h>
#include <string.h>

#include "arrow_ipc.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

// The "filename" of an entry of state.json's "_data_files", when it names a file in the folder.
static const char *data_file_name(const cJSON *entry) {
    const cJSON *name = cJSON_IsObject(entry) ? cJSON_GetObjectItemCaseSensitive(entry, "filename") : NULL;
    if (!cJSON_IsString(name)) return NULL;
    const char *s = name->valuestring;
    return s[0] && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..") ? s : NULL;
}

static cJSON *read_state(const char *path, const char *source, dy_error *err) {
    if (!dy_file_exists(path)) {
        dy_fail(err, "%s: missing (%s)", path, source);
        return NULL;
    }
    size_t len;
    char *text = dy_read_file(path, &len, err);
    if (!text) return NULL;
    char problem[160];
    cJSON *state = dy_json_parse(text, len, problem, sizeof problem);
    free(text);
    if (!state) dy_fail(err, "%s: %s", path, problem);
    return state;
}

static int read_data_file(const char *path, cJSON *rows, dy_error *err) {
    if (!dy_file_exists(path)) return dy_fail(err, "%s: missing (state.json lists it)", path);
    size_t len;
    char *data = dy_read_file(path, &len, err);
    if (!data) return -1;
    const int rc = dy_arrow_read_stream((const unsigned char *)data, len, path, rows, err);
    free(data);
    return rc;
}

cJSON *dy_arrow_read_split(const char *dir, const char *source, dy_error *err) {
    char path[4096];
    if (dy_path_join(path, sizeof path, dir, "state.json", err)) return NULL;
    cJSON *state = read_state(path, source, err);
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

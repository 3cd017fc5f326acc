#include "checkpoint.h"

#include <cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_tensors.h"
#include "runtime/util/file_util.h"
#include "runtime/util/json_util.h"

static const char SINGLE_FILE[] = "model.safetensors";
static const char INDEX_FILE[] = "model.safetensors.index.json";

static int by_name(const void *a, const void *b) {
    return strcmp(((const dy_tensor *)a)->name, ((const dy_tensor *)b)->name);
}

const dy_tensor *dy_checkpoint_find(const dy_checkpoint *ck, const char *name) {
    if (ck->tensors.n == 0) return NULL;  // bsearch may not be given the null array of an empty header
    dy_tensor key = {.name = (char *)name};
    return bsearch(&key, ck->tensors.items, (size_t)ck->tensors.n, sizeof key, by_name);
}

// Sorts the tensors by name for lookup; a name stored twice (two shards, or a repeated header
// key) would make lookups ambiguous, so it is an error.
static int sort_unique(dy_checkpoint *ck, dy_error *err) {
    dy_tensor *t = ck->tensors.items;
    if (ck->tensors.n < 2) return 0;  // nothing to sort (and qsort may not be given a null array)
    qsort(t, (size_t)ck->tensors.n, sizeof *t, by_name);
    for (int i = 1; i < ck->tensors.n; i++)
        if (strcmp(t[i - 1].name, t[i].name) == 0)
            return dy_fail(err, "%s: tensor %s: stored twice (%s and %s)", ck->listing, t[i].name,
                           ck->files[t[i - 1].file].path, ck->files[t[i].file].path);
    return 0;
}

static int map_and_parse(dy_checkpoint *ck, const char *file_name, dy_error *err) {
    char path[PATH_MAX];
    if (dy_path_join(path, sizeof path, ck->dir, file_name, err)) return -1;
    dy_mapped_file *f = &ck->files[ck->n_files];
    if (dy_map_file(path, f, err)) return -1;
    ck->n_files++;
    return dy_safetensors_parse(f, ck->n_files - 1, &ck->tensors, err);
}

// The file name of the shard that holds t, as the index names it.
static const char *shard_name(const dy_checkpoint *ck, const dy_tensor *t) {
    return ck->files[t->file].path + strlen(ck->dir) + 1;
}

// The index's optional "metadata" object; its total_size, when given, is a whole number of bytes.
// It is not compared with the tensors' bytes: writers count it differently (shared and tied
// tensors once or twice, the storage behind views) and transformers never reads it, while every
// tensor's bytes are checked against its shard's header and data area.
static int check_index_metadata(const cJSON *root, const char *index_path, dy_error *err) {
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    if (!meta || cJSON_IsNull(meta)) return 0;
    if (!cJSON_IsObject(meta)) return dy_fail(err, "%s: metadata: expected an object", index_path);
    const cJSON *total = cJSON_GetObjectItemCaseSensitive(meta, "total_size");
    if (total && !cJSON_IsNull(total) &&
        !(cJSON_IsNumber(total) && total->valuedouble >= 0 && total->valuedouble == floor(total->valuedouble)))
        return dy_fail(err, "%s: metadata.total_size: expected a whole number of bytes >= 0", index_path);
    return 0;
}

// The index maps tensor names to shard file names; each shard is opened once, in the order the
// index first names it. The map and the shards must agree both ways: each tensor it names is in
// the shard it says, and each tensor a shard holds is named (else the index hides weights that
// would be loaded anyway).
static int open_shards(dy_checkpoint *ck, const char *index_path, dy_error *err) {
    size_t len;
    char *json = dy_read_file(index_path, &len, err);
    if (!json) return -1;
    char problem[160];
    cJSON *root = dy_json_parse(json, len, problem, sizeof problem);
    free(json);
    if (!root) return dy_fail(err, "%s: %s", index_path, problem);
    const cJSON *map = cJSON_GetObjectItemCaseSensitive(root, "weight_map");
    bool *named = NULL;
    int rc = cJSON_IsObject(root) ? check_index_metadata(root, index_path, err)
                                  : dy_fail(err, "%s: expected a JSON object", index_path);
    if (rc) goto done;
    if (!cJSON_IsObject(map) || !map->child) {
        rc = dy_fail(err, "%s: weight_map: missing or empty", index_path);
        goto done;
    }
    int n_entries = cJSON_GetArraySize(map);
    const char **shard_names = calloc((size_t)n_entries, sizeof *shard_names);
    ck->files = calloc((size_t)n_entries, sizeof *ck->files);
    if (!shard_names || !ck->files) {
        free(shard_names);
        rc = dy_fail(err, "%s: out of memory", index_path);
        goto done;
    }
    int n_shards = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, map) {
        if (!cJSON_IsString(e) || strchr(e->valuestring, '/') || e->valuestring[0] == '\0') {
            rc = dy_fail(err, "%s: weight_map: tensor %s: shard is not a file name in this folder", index_path, e->string);
            break;
        }
        int s = 0;
        while (s < n_shards && strcmp(shard_names[s], e->valuestring) != 0) s++;
        if (s == n_shards) {
            shard_names[n_shards++] = e->valuestring;
            if (map_and_parse(ck, e->valuestring, err)) {
                rc = -1;
                break;
            }
        }
    }
    free(shard_names);
    if (rc == 0) rc = sort_unique(ck, err);
    if (rc == 0 && !(named = calloc((size_t)ck->tensors.n + 1, sizeof *named)))
        rc = dy_fail(err, "%s: out of memory", index_path);
    if (rc == 0) {
        cJSON_ArrayForEach(e, map) {
            const dy_tensor *t = dy_checkpoint_find(ck, e->string);
            if (!t || strcmp(shard_name(ck, t), e->valuestring) != 0) {
                rc = dy_fail(err, "%s: weight_map: tensor %s: not found in %s", index_path, e->string, e->valuestring);
                break;
            }
            named[t - ck->tensors.items] = true;
        }
    }
    for (int i = 0; rc == 0 && i < ck->tensors.n; i++)
        if (!named[i])
            rc = dy_fail(err, "%s: weight_map: tensor %s: not named, but %s holds it", index_path,
                         ck->tensors.items[i].name, shard_name(ck, &ck->tensors.items[i]));
done:
    free(named);
    cJSON_Delete(root);
    return rc;
}

static void format_shape(char *buf, size_t n, const int64_t *shape, int ndim) {
    int w = snprintf(buf, n, "[");
    for (int d = 0; d < ndim && (size_t)w < n; d++)
        w += snprintf(buf + w, n - (size_t)w, d ? ", %lld" : "%lld", (long long)shape[d]);
    if ((size_t)w < n) snprintf(buf + w, n - (size_t)w, "]");
}

static int check_architecture(const dy_checkpoint *ck, dy_error *err) {
    dy_tensor_spec *specs;
    int n = dy_model_tensor_specs(&ck->config, &specs, err);
    if (n < 0) return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const dy_tensor_spec *s = &specs[i];
        const dy_tensor *t = dy_checkpoint_find(ck, s->name);
        if (!t) {
            rc = dy_fail(err, "%s: tensor %s: missing (config.json describes a %s model that needs it)", ck->listing,
                         s->name, dy_arch_name(ck->config.arch));
        } else if (t->ndim != s->ndim || t->shape[0] != s->shape[0] || (s->ndim == 2 && t->shape[1] != s->shape[1])) {
            char got[96], want[96];
            format_shape(got, sizeof got, t->shape, t->ndim);
            format_shape(want, sizeof want, s->shape, s->ndim);
            rc = dy_fail(err, "%s: tensor %s: shape %s, but config.json implies %s", ck->files[t->file].path, s->name,
                         got, want);
        }
    }
    free(specs);
    return rc;
}

int dy_checkpoint_open(const char *dir, dy_checkpoint *ck, dy_error *err) {
    memset(ck, 0, sizeof *ck);
    char path[PATH_MAX];
    ck->dir = strdup(dir);
    if (!ck->dir) return dy_fail(err, "%s: out of memory", dir);
    if (dy_path_join(path, sizeof path, dir, "config.json", err) ||
        dy_model_config_load(path, &ck->config, err))
        goto fail;
    char index_path[PATH_MAX];
    if (dy_path_join(index_path, sizeof index_path, dir, INDEX_FILE, err)) goto fail;
    if (dy_file_exists(index_path)) {
        ck->listing = strdup(index_path);
        if (open_shards(ck, index_path, err)) goto fail;
    } else {
        if (dy_path_join(path, sizeof path, dir, SINGLE_FILE, err)) goto fail;
        if (!dy_file_exists(path)) {
            dy_fail(err, "%s: no %s or %s in this folder", dir, SINGLE_FILE, INDEX_FILE);
            goto fail;
        }
        ck->listing = strdup(path);
        ck->files = calloc(1, sizeof *ck->files);
        if (!ck->files || map_and_parse(ck, SINGLE_FILE, err) || sort_unique(ck, err)) goto fail;
    }
    if (check_architecture(ck, err)) goto fail;
    return 0;
fail:
    dy_checkpoint_close(ck);
    return -1;
}

void dy_checkpoint_close(dy_checkpoint *ck) {
    for (int i = 0; i < ck->n_files; i++) dy_unmap_file(&ck->files[i]);
    free(ck->files);
    dy_tensor_list_free(&ck->tensors);
    free(ck->listing);
    free(ck->dir);
    memset(ck, 0, sizeof *ck);
}

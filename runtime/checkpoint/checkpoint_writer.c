#include "checkpoint_writer.h"

#include <cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/util/file_util.h"

enum { CHUNK = 1 << 20 };  // elements generated and converted per write

typedef struct {
    int first, end;  // tensor index range [first, end)
    uint64_t bytes;
    char name[64];
} shard;

static uint64_t tensor_bytes(const dy_tensor_spec *s, dy_dtype t) {
    return (uint64_t)dy_tensor_spec_numel(s) * dy_dtype_size(t);
}

// Header: {"__metadata__": {"format": "pt"}, name: {dtype, shape, data_offsets}, ...} padded
// with spaces to a multiple of 8 bytes, as the safetensors library writes it.
static char *build_header(const dy_tensor_spec *specs, const shard *sh, dy_dtype dtype, uint64_t *len) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    uint64_t off = 0;
    for (int i = sh->first; i < sh->end; i++) {
        cJSON *e = cJSON_AddObjectToObject(root, specs[i].name);
        cJSON_AddStringToObject(e, "dtype", dy_dtype_safetensors_name(dtype));
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < specs[i].ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)specs[i].shape[d]));
        uint64_t end = off + tensor_bytes(&specs[i], dtype);
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)end));
        off = end;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return NULL;
    size_t n = strlen(json), padded = (n + 7) / 8 * 8;
    char *out = realloc(json, padded + 1);
    if (!out) {
        free(json);
        return NULL;
    }
    memset(out + n, ' ', padded - n);
    out[padded] = '\0';
    *len = padded;
    return out;
}

static int write_tensor(FILE *f, const dy_tensor_spec *s, const dy_writer_options *o, float *buf, uint16_t *half) {
    const uint64_t numel = (uint64_t)dy_tensor_spec_numel(s);
    for (uint64_t first = 0; first < numel; first += CHUNK) {
        uint64_t n = numel - first < CHUNK ? numel - first : CHUNK;
        dy_init_fill(s, &o->init, first, n, buf);
        size_t put;
        if (o->dtype == DY_F32) {
            put = fwrite(buf, 4, n, f);  // safetensors is little-endian, as is every host we build for
        } else {
            for (uint64_t i = 0; i < n; i++) half[i] = dy_f32_to_bf16(buf[i]);
            put = fwrite(half, 2, n, f);
        }
        if (put != n) return -1;
    }
    return 0;
}

static int write_shard(const char *dir, const dy_tensor_spec *specs, const shard *sh, const dy_writer_options *o,
                       uint64_t *done, uint64_t total, dy_error *err) {
    char path[PATH_MAX], tmp[PATH_MAX];
    if (dy_path_join(path, sizeof path, dir, sh->name, err)) return -1;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) return dy_fail(err, "%s: path too long", path);
    uint64_t header_len;
    char *header = build_header(specs, sh, o->dtype, &header_len);
    float *buf = malloc(CHUNK * sizeof(float));
    uint16_t *half = malloc(CHUNK * sizeof(uint16_t));
    FILE *f = fopen(tmp, "wb");
    int rc = 0;
    if (!header || !buf || !half) {
        rc = dy_fail(err, "%s: out of memory", path);
    } else if (!f) {
        rc = dy_fail(err, "%s: cannot create: %s", tmp, strerror(errno));
    } else {
        unsigned char len_le[8];
        for (int i = 0; i < 8; i++) len_le[i] = (unsigned char)(header_len >> (8 * i));
        if (fwrite(len_le, 1, 8, f) != 8 || fwrite(header, 1, header_len, f) != header_len) rc = -1;
        for (int i = sh->first; i < sh->end && rc == 0; i++) {
            rc = write_tensor(f, &specs[i], o, buf, half);
            *done += tensor_bytes(&specs[i], o->dtype);
            if (o->progress) o->progress(*done, total, o->progress_ctx);
        }
        if (rc) dy_fail(err, "%s: write failed: %s", tmp, strerror(errno));
    }
    if (f && fclose(f) != 0 && rc == 0) rc = dy_fail(err, "%s: write failed: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) != 0) rc = dy_fail(err, "%s: cannot rename into place: %s", tmp, strerror(errno));
    if (rc && f) remove(tmp);
    free(header);
    free(buf);
    free(half);
    return rc;
}

static int write_index(const char *dir, const dy_tensor_spec *specs, const shard *shards, int n_shards, uint64_t total,
                       dy_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(root, "metadata"), "total_size", (double)total);
    cJSON *map = cJSON_AddObjectToObject(root, "weight_map");
    for (int s = 0; s < n_shards; s++)
        for (int i = shards[s].first; i < shards[s].end; i++) cJSON_AddStringToObject(map, specs[i].name, shards[s].name);
    char *json = cJSON_Print(root);
    cJSON_Delete(root);
    char path[PATH_MAX];
    int rc = json ? dy_path_join(path, sizeof path, dir, "model.safetensors.index.json", err)
                  : dy_fail(err, "%s: out of memory", dir);
    if (rc == 0) rc = dy_write_file(path, json, strlen(json), err);
    free(json);
    return rc;
}

int dy_write_random_weights(const char *dir, const dy_model_config *cfg, const dy_writer_options *o, dy_error *err) {
    dy_tensor_spec *specs;
    int n = dy_model_tensor_specs(cfg, &specs, err);
    if (n < 0) return -1;
    shard *shards = calloc((size_t)n, sizeof *shards);
    if (!shards) {
        free(specs);
        return dy_fail(err, "%s: out of memory", dir);
    }
    int n_shards = 0;
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        uint64_t b = tensor_bytes(&specs[i], o->dtype);
        shard *cur = n_shards ? &shards[n_shards - 1] : NULL;
        if (!cur || (cur->bytes > 0 && cur->bytes + b > o->shard_bytes)) {
            cur = &shards[n_shards++];
            cur->first = i;
        }
        cur->end = i + 1;
        cur->bytes += b;
        total += b;
    }
    for (int s = 0; s < n_shards; s++) {
        if (n_shards == 1) snprintf(shards[s].name, sizeof shards[s].name, "model.safetensors");
        else snprintf(shards[s].name, sizeof shards[s].name, "model-%05d-of-%05d.safetensors", s + 1, n_shards);
    }
    int rc = 0;
    uint64_t done = 0;
    for (int s = 0; s < n_shards && rc == 0; s++) rc = write_shard(dir, specs, &shards[s], o, &done, total, err);
    if (rc == 0 && n_shards > 1) rc = write_index(dir, specs, shards, n_shards, total, err);
    free(shards);
    free(specs);
    return rc;
}

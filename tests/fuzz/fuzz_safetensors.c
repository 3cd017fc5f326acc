// A safetensors file (8-byte header length, header JSON, tensor bytes) as dy_safetensors_parse
// sees it after mmap, then every tensor's first and last element read as the loader reads them
// (a range the header checks let through must lie inside the file). A header that parses is also
// opened as the model.safetensors of the tiny checkpoint made at build time (its config.json), so
// the checkpoint's own checks run: names sorted and unique, the tensors the architecture needs.
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "runtime/checkpoint/checkpoint.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_link("config.json", DYSCO_FUZZ_MODEL_DIR "/config.json");
    return 0;
}

static void read_ends(const dy_tensor *t) {
    float v;
    if (dy_tensor_numel(t) == 0) return;
    if (t->ndim == 2) {
        dy_tensor_read_f32(t, 0, 1, 0, 1, &v);
        dy_tensor_read_f32(t, t->shape[0] - 1, 1, t->shape[1] - 1, 1, &v);
    } else {
        dy_tensor_read_f32(t, 0, 1, 0, 1, &v);
        dy_tensor_read_f32(t, 0, 1, dy_tensor_numel(t) - 1, 1, &v);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    // A copy of exactly size bytes: ASan then sees any read past the end of the "file".
    dy_mapped_file f = {.path = "model.safetensors", .map = malloc(size ? size : 1), .size = size};
    if (!f.map) fuzz_die("out of memory");
    if (size) memcpy(f.map, data, size);
    dy_tensor_list list = {0};
    dy_error err;
    const int rc = dy_safetensors_parse(&f, 0, &list, &err);
    for (int i = 0; rc == 0 && i < list.n; i++) read_ends(&list.items[i]);
    dy_tensor_list_free(&list);
    free(f.map);
    if (rc == 0) {
        char path[PATH_MAX];
        dy_checkpoint ck;
        fuzz_write("model.safetensors", data, size, path);
        if (dy_checkpoint_open(fuzz_temp_dir(), &ck, &err) == 0) dy_checkpoint_close(&ck);
    }
    return 0;
}

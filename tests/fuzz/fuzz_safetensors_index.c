// model.safetensors.index.json through dy_checkpoint_open: the input is the index of a folder
// that holds the tiny sharded checkpoint made at build time (its config.json and shards, linked
// into this process's folder once), so the weight_map's names meet real shard headers.
#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "runtime/checkpoint/checkpoint.h"
#include "runtime/util/file_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    DIR *d = opendir(DYSCO_FUZZ_SHARDED_MODEL_DIR);
    if (!d) fuzz_die(DYSCO_FUZZ_SHARDED_MODEL_DIR ": cannot open");
    for (const struct dirent *e; (e = readdir(d));) {
        const size_t n = strlen(e->d_name);
        if (strcmp(e->d_name, "config.json") != 0 && (n < 12 || strcmp(e->d_name + n - 12, ".safetensors") != 0)) continue;
        char target[PATH_MAX];
        dy_error err;
        if (dy_path_join(target, sizeof target, DYSCO_FUZZ_SHARDED_MODEL_DIR, e->d_name, &err)) fuzz_die(err.msg);
        fuzz_link(e->d_name, target);
    }
    closedir(d);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[PATH_MAX];
    dy_checkpoint ck;
    dy_error err;
    fuzz_write("model.safetensors.index.json", data, size, path);
    if (dy_checkpoint_open(fuzz_temp_dir(), &ck, &err) == 0) dy_checkpoint_close(&ck);
    return 0;
}

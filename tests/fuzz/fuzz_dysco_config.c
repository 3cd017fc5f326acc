// A DySCO YAML config (configs/dysco/*.yaml) through dy_dysco_config_load (it takes a path),
// then the checks generate runs on a loaded one: validation against Qwen3-8B's 36 layers of 32
// query heads, the deepest selected layer, and the held-back prompt length.
#include <limits.h>
#include <stdint.h>

#include "fuzz_util.h"
#include "runtime/dysco/dysco_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[PATH_MAX];
    fuzz_write("dysco.yaml", data, size, path);
    dy_dysco_config c;
    dy_error err;
    if (dy_dysco_config_load(path, &c, &err) == 0 && dy_dysco_config_validate(&c, 36, 32, path, &err) == 0) {
        (void)dy_dysco_max_layer(&c);
        (void)dy_dysco_check_prompt(&c, c.interv_auto ? 7 : c.interv_warmup, 1000, &err);
    }
    return 0;
}

// config.json text (NUL bytes included) through dy_model_config_parse, then what `dysco inspect`
// derives from a parsed config: the tensor list (names and shapes from its numbers) and the
// memory plan at its max_position_embeddings with the default prefill chunk, where hostile sizes
// meet arithmetic.
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "runtime/checkpoint/model_tensors.h"
#include "runtime/cli/cli.h"
#include "runtime/model/memory_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    dy_model_config cfg;
    dy_error err;
    if (dy_model_config_parse((const char *)data, size, "config.json", &cfg, &err) == 0) {
        dy_tensor_spec *specs;
        if (dy_model_tensor_specs(&cfg, &specs, &err) >= 0) free(specs);
        dy_memory_plan plan;
        if (dy_memory_plan_make(&cfg, cfg.max_position_embeddings, DY_DEFAULT_PREFILL_CHUNK, 1, DY_BF16, &plan, &err) == 0)
            (void)dy_memory_plan_total_bytes(&plan);
    }
    return 0;
}

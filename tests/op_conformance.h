// The op conformance suite: every op of kernels/backend.h on one backend, on fresh random inputs,
// against naive double-precision references computed on the host from the values the backend
// stores (inputs rounded to its activation dtype first, so both start from the same numbers).
// The references belong to no backend, so the CPU backend, the CUDA backend and any later one
// (a sharded backend) are judged by the same oracle, and a GPU result never passes because the
// CPU backend made the same mistake. Tolerances follow the activation dtype: fp32, relative error
// < 1e-5; bf16, < 2e-2. One check() line per case (test_util.h).
#ifndef DYSCO_TEST_OP_CONFORMANCE_H
#define DYSCO_TEST_OP_CONFORMANCE_H

#include <stdbool.h>

#include "kernels/backend.h"

// What the cases need of prepare(); a test may raise it (the CUDA test's pick vocabulary).
extern const dy_op_limits op_conformance_limits;

// Runs every op's cases on be, prepared for at least op_conformance_limits; its activation dtype
// must be fp32 or bf16. long_contexts adds the attention cases over 1,000 to 40,000 keys (a 128k
// cache, a 513-query prefill): their host references take seconds on many cores, so they are for
// a backend as fast as a GPU, not the CPU backend's sanitizer build.
void op_conformance_run(dy_backend *be, bool long_contexts);

#endif

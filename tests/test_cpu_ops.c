// The CPU backend (the fp32 reference) through the op conformance suite (op_conformance.h: every
// op against naive double-precision references, relative error < 1e-5), without its
// long-context attention cases (too slow for the sanitizer build on few cores), plus what only
// the CPU backend promises: its name and dtype and 64-byte aligned allocations; and the host's
// view arithmetic (dy_view_rows). One line per check; the last line is "N passed, M failed".
#include <stdint.h>
#include <string.h>

#include "kernels/backend.h"
#include "op_conformance.h"
#include "test_util.h"

static void check_identity_and_alignment(dy_backend *be) {
    check(strcmp(be->name, "cpu") == 0 && be->act_dtype == DY_F32, "backend \"%s\" stores fp32", be->name);
    int misaligned = 0;
    for (size_t bytes = 1; bytes < 5000; bytes = bytes * 3 + 1) {
        void *p = be->alloc(be, bytes);
        misaligned += !p || (uintptr_t)p % 64;
        if (p) be->release(be, p);
    }
    check(misaligned == 0, "alloc of 1 to 3280 bytes: %d pointers not 64-byte aligned", misaligned);
}

static void check_view_rows(void) {
    static float buf[9 * 40];
    const dy_view w = {buf, DY_F32, 5, 37, 40}, half = {buf, DY_BF16, 9, 30, 33};
    const dy_view rows = dy_view_rows(&w, 3, 2);
    check(rows.data == buf + 3 * 40 && rows.rows == 2 && rows.cols == 37 && rows.stride == 40 && rows.dtype == DY_F32 &&
              dy_view_rows(&half, 4, 5).data == (char *)buf + 4 * 33 * 2,
          "dy_view_rows: rows 3..4 of an fp32 (5, 37) view at stride 40, rows 4..8 of a bf16 one at stride 33");
}

int main(void) {
    dy_backend *be = dy_backend_cpu_create();
    if (!be || be->prepare(be, &op_conformance_limits)) setup_die("CPU backend");
    check_identity_and_alignment(be);
    check_view_rows();
    op_conformance_run(be, false);
    be->destroy(be);
    return check_summary();
}

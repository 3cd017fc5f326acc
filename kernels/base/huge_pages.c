#define _DEFAULT_SOURCE  // madvise
#include "huge_pages.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

enum { HUGE_PAGE = 2 << 20 };

void dy_advise_huge_pages(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    if (bytes < 2 * (size_t)HUGE_PAGE) return;  // no aligned huge page would fit inside
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start = ((uintptr_t)p + page - 1) & ~(page - 1);
    madvise((void *)start, ((uintptr_t)p + bytes - start) & ~(page - 1), MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

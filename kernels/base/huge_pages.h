// A hint for large working arrays: back them with transparent huge pages where the kernel offers
// them only on request (THP "madvise" mode, the Debian default).
#ifndef DYSCO_HUGE_PAGES_H
#define DYSCO_HUGE_PAGES_H

#include <stddef.h>

// Asks for huge pages over the whole pages inside [p, p + bytes); does nothing for small arrays,
// and nothing harmful where the kernel declines.
void dy_advise_huge_pages(void *p, size_t bytes);

#endif

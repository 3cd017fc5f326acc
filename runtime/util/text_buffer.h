// A growable NUL-terminated string that remembers running out of memory, so a writer appends
// without checking each step and asks once at the end.
#ifndef DYSCO_TEXT_BUFFER_H
#define DYSCO_TEXT_BUFFER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *s;  // NULL until the first append
    size_t n, cap;
    bool failed;  // an append ran out of memory (the text is incomplete)
} dy_text_buffer;

void dy_text_put(dy_text_buffer *t, const char *s, size_t len);
void dy_text_puts(dy_text_buffer *t, const char *s);
// The text (malloc'd, "" when nothing was appended), or NULL when an append failed; t is
// emptied either way.
char *dy_text_take(dy_text_buffer *t);

#endif

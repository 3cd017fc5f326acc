// Python's str.format(**fields) for the prompt templates the reference's loaders fill: "{name}"
// takes the field's string, "{{" and "}}" are braces. What such templates do not use (positional
// "{}", attributes and indexes, conversions, format specs) is an error naming it, as is a field
// the example lacks or a single brace (Python raises for those too).
#ifndef DYSCO_PY_FORMAT_H
#define DYSCO_PY_FORMAT_H

#include <stddef.h>

#include <cJSON.h>

#include "kernels/base/error.h"

// template.format(**fields) with fields a JSON object of strings, malloc'd. `where` names the
// template in errors ("p/prompts.yaml: USER_PROMPT"); so does a result that would pass max_len
// bytes (a template can name a long field many times).
char *dy_py_format(const char *template_text, const cJSON *fields, size_t max_len, const char *where, dy_error *err);

// s.replace(old, new) (old non-empty): every occurrence, left to right, without overlaps;
// malloc'd. A result that would pass max_len bytes is an error naming `where`, found before it
// is built. Time len(s) * len(old) at worst (old is one of the short marks LongBench v2's prompt
// holds), plus the result's length.
char *dy_py_replace(const char *s, const char *old, const char *new_text, size_t max_len, const char *where,
                    dy_error *err);

#endif

// Python's str.format(**fields) for the prompt templates the reference's loaders fill: "{name}"
// takes the field's string, "{{" and "}}" are braces. What such templates do not use (positional
// "{}", attributes and indexes, conversions, format specs) is an error naming it, as is a field
// the example lacks or a single brace (Python raises for those too).
#ifndef DYSCO_PY_FORMAT_H
#define DYSCO_PY_FORMAT_H

#include <cJSON.h>

#include "kernels/base/error.h"

// template.format(**fields) with fields a JSON object of strings, malloc'd. `where` names the
// template in errors ("p/prompts.yaml: USER_PROMPT").
char *dy_py_format(const char *template_text, const cJSON *fields, const char *where, dy_error *err);

// s.replace(old, new) (old non-empty): every occurrence, left to right, without overlaps;
// malloc'd, NULL when out of memory.
char *dy_py_replace(const char *s, const char *old, const char *new_text);

#endif

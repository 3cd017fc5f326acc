// Reading the fields a scorer needs from an example as the reference's loaders return it
// ({input_prompt, reference_output, item}, or MRCR's raw record), with errors naming the field.
#ifndef DYSCO_EVAL_EXAMPLE_H
#define DYSCO_EVAL_EXAMPLE_H

#include <stdbool.h>

#include <cJSON.h>

#include "kernels/base/error.h"
#include "py_text.h"

// example[KEY], or example["item"][KEY] when in_item; NULL with "example.item.KEY: missing".
const cJSON *dy_example_field(const cJSON *example, bool in_item, const char *key, dy_error *err);
// The same field, which must be a string, as code points appended to *out.
int dy_example_text(const cJSON *example, bool in_item, const char *key, dy_ustr *out, dy_error *err);
// The code points of a JSON string value named what in errors ("example.item.answer[1]").
int dy_example_string(const cJSON *value, const char *what, dy_ustr *out, dy_error *err);

#endif

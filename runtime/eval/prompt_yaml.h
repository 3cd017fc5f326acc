// The prompt template of a dataset's prompts.yaml (LongProc's layout: a mapping whose USER_PROMPT
// is the template the loader formats), read with libyaml's events.
#ifndef DYSCO_PROMPT_YAML_H
#define DYSCO_PROMPT_YAML_H

#include "kernels/base/error.h"

// The string value of key in the YAML file's top-level mapping, malloc'd into *out. The value
// must be a scalar (quoted, block or plain: yaml.safe_load gives a string for a template); a
// missing key, another kind of value, a second document, an alias, a NUL in the text and
// collections nested deeper than 32 are errors naming the file (and the line).
int dy_prompt_yaml_string(const char *path, const char *key, char **out, dy_error *err);

#endif

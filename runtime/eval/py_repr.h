// Python's str() of a list of str, where the reference writes one into a result: InfiniteBench's
// reference_output is str(d["answer"]), e.g. "['Paris', \"l'Orient\"]".
#ifndef DYSCO_PY_REPR_H
#define DYSCO_PY_REPR_H

#include <cJSON.h>

// str(list) of a JSON list of strings (valid UTF-8): "[" + ", ".join(map(repr, list)) + "]",
// repr() as CPython writes it (single quotes unless the text has ' and no ", backslash escapes
// for \\ \n \r \t and the quote, \xhh, \uhhhh or \Uhhhhhhhh for what str.isprintable() refuses).
// malloc'd; NULL when out of memory or when an item is not a string.
char *dy_py_str_of_list(const cJSON *list);

#endif

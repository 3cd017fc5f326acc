// JSON text as Python's json.dumps writes it (ensure_ascii on): run_eval.py's results files are
// json.dump(..., indent=2), and the runtime writes its own in the same form, so a results file
// of dysco reads like one of the reference. Numbers: a cJSON raw node is written as it is (the
// writer of a tree gives Python's form of a float, e.g. "0.0", through dy_py_float_repr); a plain
// number is written as an int when it is whole (|v| < 2^53), else as Python's repr of the float.
#ifndef DYSCO_PY_JSON_H
#define DYSCO_PY_JSON_H

#include <cJSON.h>

// json.dumps(v, indent=indent) for indent >= 1 (items on lines of their own), or with indent < 1
// json.dumps(v) (one line, separators ", " and ": "). malloc'd; NULL when out of memory.
char *dy_py_json_dumps(const cJSON *v, int indent);

// A raw node holding Python's repr of a float, for a tree dy_py_json_dumps writes.
cJSON *dy_py_json_float(double v);

#endif

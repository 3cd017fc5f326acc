// The YAML files dysco reads for settings (DySCO configs, eval run configs) as libyaml's stream
// of events, never built into a document, under rules that keep the work linear in the file's
// size and every mistake one line naming the file (see yaml_reader.c for why each rule is there):
// collections nested at most DY_YAML_MAX_DEPTH deep, no anchors or aliases, no NUL in a string or the
// file, no key twice in one mapping, one document. A reader reads the text twice: dy_yaml_check
// walks the whole stream through the rules (so a syntax error anywhere is reported as such), then
// a dy_yaml_reader goes over it again for the values and stops at the first wrong one.
#ifndef DYSCO_YAML_READER_H
#define DYSCO_YAML_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "kernels/base/error.h"

enum { DY_YAML_MAX_DEPTH = 32 };  // collections nested in a settings file (the shipped ones use 3)

typedef struct {
    yaml_parser_t parser;
    yaml_event_t ev;  // the current event, when has_event
    bool has_event;
    int depth;  // collections open at ev
    const char *path;
    dy_error *err;
} dy_yaml_reader;

// The first pass over text (len bytes; path names it in errors): every event through the rules.
int dy_yaml_check(const char *path, const char *text, size_t len, dy_error *err);

// A reader over text at the stream's start; close it also on failure.
int dy_yaml_open(dy_yaml_reader *r, const char *path, const char *text, size_t len, dy_error *err);
void dy_yaml_close(dy_yaml_reader *r);
// Moves to the next event and applies the rules; -1 (err set) on a syntax error or a broken rule.
int dy_yaml_next(dy_yaml_reader *r);
// From the stream's start to the document's root node: its first event, or the stream's end
// when the file holds no document (it is empty or only comments).
int dy_yaml_root(dy_yaml_reader *r);

// The current event's line (1-based).
size_t dy_yaml_line(const dy_yaml_reader *r);
// A scalar's text ("" for other events).
const char *dy_yaml_text(const yaml_event_t *e);
// Plain scalars are the untyped ones; quoted scalars are always strings.
bool dy_yaml_is_plain(const yaml_event_t *e);
// A plain null as PyYAML's safe_load resolves it: "", ~, null, Null, NULL.
bool dy_yaml_is_null(const yaml_event_t *e);
// A plain boolean as safe_load resolves it (YAML 1.1: true/false, yes/no, on/off in three cases)
// into *out; false when e is none.
bool dy_yaml_bool(const yaml_event_t *e, bool *out);
// How much of a key an error line shows: up to 60 bytes, ending before a control character (a
// quoted key may hold a newline, and the error is one line).
int dy_yaml_shown_length(const char *key);

#endif

// The option parser every verb uses: a verb describes its options in a table (name, destination,
// bounds, help line) and the parser reads argv into the destinations, prints the usage for
// --help, and turns every mistake into one "dysco: ..." line and exit status 2. The usage is
// printed from the same table, so it lists exactly the options a verb takes and the defaults its
// code starts from. A verb may also take its options from a YAML file (a run config,
// cli_args_config.c), whose keys name the same rows.
#ifndef DYSCO_CLI_ARGS_H
#define DYSCO_CLI_ARGS_H

#include <float.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kernels/base/error.h"

// The number of rows of a table (an array, not a pointer).
#define DY_COUNT_OF(array) ((int)(sizeof(array) / sizeof((array)[0])))

// The lower bound of a number option that takes any finite value.
#define DY_OPT_ANY_FINITE (-DBL_MAX)

// One row of a verb's table. The destination, exactly one of string, integer, number and flag,
// says what the option takes. A row without a name is a heading in the usage: {.help = "output:"}.
typedef struct {
    const char *name;        // "--ctx"
    const char *value_name;  // "N" in the usage; the choices ("cpu|cuda") when NULL and choices are given
    const char *help;        // the usage's description; '\n' continues it on the next line
    const char **string;     // the argument itself, one of choices (NULL-terminated) when given
    const char *const *choices;
    int64_t *integer;        // an integer in [min, max]
    int64_t min, max;
    double *number;          // a finite number >= lower (0 unless given)
    double lower;
    bool *flag;              // takes no value: set to true, or to false for a --no-X row (clears)
    bool clears;
    bool *given;             // when non-NULL, set true when the option appears: absent means "keep
                             // what the config or preset says", so the usage shows no default
    const char *default_text;  // the default in words, where the destination's initial value is a
                               // placeholder ("max_position_embeddings", "off")
} dy_option;

// A verb's run config: the row (a string option, "--config") whose value names a YAML mapping of
// the verb's options, read before the command line so that the command line overrides it. The
// destinations of the file's strings point into copies it owns.
typedef struct {
    const char *option;  // "--config"
    char **strings;      // the copies, at most one per row
    int n_strings;
} dy_args_config;

typedef struct {
    const char *verb;        // "make-model": names the verb in errors
    const char *usage;       // the usage line(s) and description, printed before the options
    const dy_option *options;
    int n_options;
    const char **positional;  // where the verb's one positional argument goes; NULL: it takes none
    void (*print_notes)(FILE *out);  // what the usage says after the options, or NULL
    dy_args_config *config;  // NULL: the verb takes no run config
} dy_args_spec;

typedef enum { DY_ARGS_PARSED, DY_ARGS_HELP, DY_ARGS_INVALID, DY_ARGS_BAD_FILE } dy_args_outcome;

// Reads argv[1..argc) into the destinations (which hold the defaults before the call). --help or
// -h anywhere an option may stand gives DY_ARGS_HELP and stores nothing; an unknown option, a
// missing or malformed value or an argument the verb does not take gives DY_ARGS_INVALID and err.
// With a run config named on the command line its file is read first (DY_ARGS_BAD_FILE and err
// on its first mistake).
dy_args_outcome dy_args_parse(const dy_args_spec *spec, int argc, char **argv, dy_error *err);

// The row of spec named name ("--ctx"), or NULL.
const dy_option *dy_args_find(const dy_args_spec *spec, const char *name);
// Stores value into the destination of o (a row taking a value) as the command line does; where
// names it in the error ("--ctx" or "run.yaml: ctx").
int dy_args_store(const dy_option *o, const char *where, const char *value, dy_error *err);
// Sets a flag row (on: as the command line does) or its opposite.
void dy_args_store_flag(const dy_option *o, bool on);

// Reads the run config at path into spec's destinations (see cli_args_config.c for the format).
int dy_args_config_load(const dy_args_spec *spec, const char *path, dy_error *err);
// Frees the copies (the destinations that point into them are left dangling).
void dy_args_config_free(dy_args_config *c);

// The usage: spec->usage, each option with its help and default, then spec->print_notes.
void dy_args_print_usage(const dy_args_spec *spec, FILE *out);

// The parse every verb starts with: true to go on; false with *exit_status set after printing
// the usage to stdout (DY_EXIT_OK) or the error to stderr (DY_EXIT_USAGE; DY_EXIT_FAIL for the
// run config's file), the run config freed.
bool dy_args_parse_verb(const dy_args_spec *spec, int argc, char **argv, int *exit_status);

#endif

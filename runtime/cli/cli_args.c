#include "cli_args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static bool is_heading(const dy_option *o) { return !o->name; }

static bool takes_value(const dy_option *o) { return !o->flag; }

static bool is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

// Anything that starts with '-' is meant as an option ("-" alone names no option and stays an argument).
static bool looks_like_option(const char *arg) { return arg[0] == '-' && arg[1] != '\0'; }

const dy_option *dy_args_find(const dy_args_spec *spec, const char *name) {
    for (int i = 0; i < spec->n_options; i++)
        if (!is_heading(&spec->options[i]) && strcmp(spec->options[i].name, name) == 0) return &spec->options[i];
    return NULL;
}

// Walks argv as the parse does (an option's value is never an option), so `--prompt --help` is a
// prompt: true for --help; *config, the last value of the run config's option (the one the parse
// keeps) or NULL.
static bool asks_for_help(const dy_args_spec *spec, int argc, char **argv, const char **config) {
    *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) return true;
        const dy_option *o = dy_args_find(spec, argv[i]);
        if (o && takes_value(o) && i + 1 < argc && spec->config && strcmp(o->name, spec->config->option) == 0)
            *config = argv[i + 1];
        if (o && takes_value(o)) i++;
    }
    return false;
}

// "a", "a or b", "a, b or c".
static void format_choices(const char *const *choices, const char *separator, const char *last_separator, char *out,
                           size_t size) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; choices[i] && len < size; i++) {
        const char *sep = i == 0 ? "" : choices[i + 1] ? separator : last_separator;
        len += (size_t)snprintf(out + len, size - len, "%s%s", sep, choices[i]);
    }
}

static bool is_choice(const char *const *choices, const char *value) {
    for (int i = 0; choices[i]; i++)
        if (strcmp(value, choices[i]) == 0) return true;
    return false;
}

static int store_string(const dy_option *o, const char *where, const char *value, dy_error *err) {
    if (o->choices && !is_choice(o->choices, value)) {
        char list[256];
        format_choices(o->choices, ", ", " or ", list, sizeof list);
        // Up to a line break: a run config's quoted string may hold one, and the error is one line.
        return dy_fail(err, "%s: expected %s, got '%.*s'", where, list, (int)strcspn(value, "\r\n"), value);
    }
    *o->string = value;
    return 0;
}

static int store_integer(const dy_option *o, const char *where, const char *value, dy_error *err) {
    char *end;
    errno = 0;
    long long v = strtoll(value, &end, 10);
    if (errno || end == value || *end || v < o->min || v > o->max)
        return dy_fail(err, "%s: expected an integer in [%lld, %lld], got '%s'", where, (long long)o->min,
                       (long long)o->max, value);
    *o->integer = v;
    return 0;
}

static int store_number(const dy_option *o, const char *where, const char *value, dy_error *err) {
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (errno || end == value || *end || !isfinite(v) || v < o->lower) {
        if (o->lower == DY_OPT_ANY_FINITE)
            return dy_fail(err, "%s: expected a finite number, got '%s'", where, value);
        return dy_fail(err, "%s: expected a number >= %g, got '%s'", where, o->lower, value);
    }
    *o->number = v;
    return 0;
}

void dy_args_store_flag(const dy_option *o, bool on) {
    if (o->given) *o->given = true;
    *o->flag = on != o->clears;
}

int dy_args_store(const dy_option *o, const char *where, const char *value, dy_error *err) {
    if (o->given) *o->given = true;
    if (o->string) return store_string(o, where, value, err);
    if (o->integer) return store_integer(o, where, value, err);
    return store_number(o, where, value, err);
}

static int parse_argument(const dy_args_spec *spec, int argc, char **argv, int *i, dy_error *err) {
    const char *arg = argv[*i];
    if (!looks_like_option(arg)) {
        if (!spec->positional || *spec->positional)
            return dy_fail(err, "%s: unexpected argument '%s' (see dysco %s --help)", spec->verb, arg, spec->verb);
        *spec->positional = arg;
        return 0;
    }
    const dy_option *o = dy_args_find(spec, arg);
    if (!o) return dy_fail(err, "%s: unknown option '%s' (see dysco %s --help)", spec->verb, arg, spec->verb);
    if (!takes_value(o)) {
        dy_args_store_flag(o, true);
        return 0;
    }
    if (*i + 1 >= argc) return dy_fail(err, "%s: missing value", arg);
    return dy_args_store(o, o->name, argv[++*i], err);
}

dy_args_outcome dy_args_parse(const dy_args_spec *spec, int argc, char **argv, dy_error *err) {
    const char *config;
    if (asks_for_help(spec, argc, argv, &config)) return DY_ARGS_HELP;
    // The file first, then the command line over it: a flag wins wherever it stands.
    if (config && dy_args_config_load(spec, config, err)) return DY_ARGS_BAD_FILE;
    for (int i = 1; i < argc; i++)
        if (parse_argument(spec, argc, argv, &i, err)) return DY_ARGS_INVALID;
    return DY_ARGS_PARSED;
}

// "--ctx N", "--device cpu|cuda", "--json".
static void format_label(const dy_option *o, char *out, size_t size) {
    char choices[256] = "";
    if (o->choices && !o->value_name) format_choices(o->choices, "|", "|", choices, sizeof choices);
    const char *value = o->value_name ? o->value_name : choices;
    snprintf(out, size, "%s%s%s", o->name, *value ? " " : "", value);
}

// The default as the usage shows it, or "" when there is none to show.
static void format_default(const dy_option *o, char *out, size_t size) {
    out[0] = '\0';
    if (o->default_text) snprintf(out, size, " (default: %s)", o->default_text);
    else if (o->flag || o->given) return;
    else if (o->string && *o->string) snprintf(out, size, " (default %s)", *o->string);
    else if (o->integer) snprintf(out, size, " (default %lld)", (long long)*o->integer);
    else if (o->number) snprintf(out, size, " (default %g)", *o->number);
}

static void print_option(const dy_option *o, int label_width, FILE *out) {
    char label[320], default_shown[320];
    format_label(o, label, sizeof label);
    format_default(o, default_shown, sizeof default_shown);
    fprintf(out, "  %-*s  ", label_width, label);
    for (const char *line = o->help;;) {  // continuation lines start under the first one
        const char *newline = strchr(line, '\n');
        if (!newline) {
            fprintf(out, "%s%s\n", line, default_shown);
            return;
        }
        fprintf(out, "%.*s\n%*s", (int)(newline - line), line, label_width + 4, "");
        line = newline + 1;
    }
}

void dy_args_print_usage(const dy_args_spec *spec, FILE *out) {
    int label_width = 0;
    for (int i = 0; i < spec->n_options; i++) {
        char label[320];
        if (is_heading(&spec->options[i])) continue;
        format_label(&spec->options[i], label, sizeof label);
        if ((int)strlen(label) > label_width) label_width = (int)strlen(label);
    }
    fputs(spec->usage, out);
    fputs("\n", out);
    for (int i = 0; i < spec->n_options; i++) {
        if (is_heading(&spec->options[i])) fprintf(out, "%s\n", spec->options[i].help);
        else print_option(&spec->options[i], label_width, out);
    }
    if (spec->print_notes) spec->print_notes(out);
}

bool dy_args_parse_verb(const dy_args_spec *spec, int argc, char **argv, int *exit_status) {
    dy_error err;
    const dy_args_outcome outcome = dy_args_parse(spec, argc, argv, &err);
    if (outcome == DY_ARGS_PARSED) return true;
    if (spec->config) dy_args_config_free(spec->config);
    if (outcome == DY_ARGS_HELP) {
        dy_args_print_usage(spec, stdout);
        *exit_status = DY_EXIT_OK;
    } else {
        *exit_status = dy_report(outcome == DY_ARGS_BAD_FILE ? DY_EXIT_FAIL : DY_EXIT_USAGE, &err);
    }
    return false;
}

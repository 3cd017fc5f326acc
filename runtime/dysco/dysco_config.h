// DySCO settings in the reference's YAML format (dysco_cfgs/*.yaml; dysco/README §8),
// with run_eval's defaults and command-line override rules (3.2, 3.3).
#ifndef DYSCO_DYSCO_CONFIG_H
#define DYSCO_DYSCO_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/base/error.h"

enum { DY_DYSCO_MAX_HEADS = 256, DY_DYSCO_MAX_TEMPLATES = 64, DY_DYSCO_MAX_TEMPLATE_TOKENS = 1024 };

typedef struct {
    int layer;  // 0-based decoder layer
    int head;   // 0-based QUERY head (GQA: it reads KV head head / (H / Hkv))
} dy_dysco_head;

typedef struct {
    int n_heads;  // selected_heads, in file order (the head mean is unweighted; duplicates count twice)
    dy_dysco_head heads[DY_DYSCO_MAX_HEADS];
    bool has_select_top_k;  // selection: hybrid with both, top-k or nucleus with one; at least one is needed
    int select_top_k;       // YAML top_k
    bool has_select_top_p;
    double select_top_p;    // YAML top_p
    double strength;  // s: log(s) is added to selected logits; s >= 99 masks the rest; NAN until set
    double decay;     // decay_factor lambda; NAN until set
    int ctx_warmup;   // context_warmup_steps Wc
    bool interv_auto;   // intervention_warmup 'auto': Wi = length of the chat template's generation prompt
    int interv_warmup;  // Wi when not auto
    bool scale_template_tokens;  // true: template occurrences may be up-weighted (no template mask)
    int n_templates;             // template_sequences: sequence t is
    int template_start[DY_DYSCO_MAX_TEMPLATES + 1];  // template_tokens[template_start[t] .. template_start[t+1])
    int32_t template_tokens[DY_DYSCO_MAX_TEMPLATE_TOKENS];
    bool dynamic;  // dynamic_rescale; false: the static variant (select once at warmup end)
} dy_dysco_config;

// The defaults run_eval applies to keys missing from the YAML and the command line: no heads,
// no top_k / top_p, strength and decay unset (NAN; validation asks for them), Wc = 0,
// intervention_warmup 'auto', template masking on, no templates, dynamic. Wi defaults to 'auto'
// as in run_eval (3.3), not to RescaleConfig's 0: with Wc = Wi = 0 the reference has nothing to
// prefill and cannot run, while 'auto' gives the held-back generation prompt users expect.
void dy_dysco_config_defaults(dy_dysco_config *c);

// Defaults, then every key of the YAML mapping. Keys: selected_heads (a string holding a Python
// list of (layer, head) tuples), top_k, top_p, strength, decay_factor, context_warmup_steps,
// intervention_warmup ('auto' or a non-negative integer, quoted or not), scale_template_tokens,
// template_sequences (list of lists of token ids), dynamic_rescale. A null value keeps the
// default. Unknown keys and values of the wrong type are errors naming the key; so is what
// runtime/util/yaml_reader.h's rules refuse: collections nested deeper than DY_YAML_MAX_DEPTH,
// anchors and aliases, a string holding a NUL, a key twice in one mapping and a second document,
// each naming the line, and a NUL byte in the file, naming the byte. Reading stops at the first
// error.
int dy_dysco_config_load(const char *path, dy_dysco_config *c, dy_error *err);

// Replaces c's heads with the pairs of text, e.g. "[(21,31), (21,18)]" (spaces and newlines
// anywhere, [l, h] also accepted, trailing commas allowed). `where` prefixes the error message
// ("FILE: selected_heads" or "--dysco-heads"); c is unchanged on error.
int dy_dysco_parse_heads(const char *text, dy_dysco_config *c, const char *where, dy_error *err);

// intervention_warmup from text: "auto" or digits, as run_eval accepts them.
int dy_dysco_parse_interv_warmup(const char *text, dy_dysco_config *c, const char *where, dy_error *err);

// run_eval's --dysco_top_k / --dysco_top_p: a value > 0 sets the field, <= 0 removes it.
void dy_dysco_override_top_k(dy_dysco_config *c, int k);
void dy_dysco_override_top_p(dy_dysco_config *c, double p);

// Checks the settings against the model; `where` names the source in messages (the YAML path).
// Needs at least one head, every (layer, head) inside the model, top_k and/or top_p, k >= 1,
// p in (0, 1], strength > 0, decay >= 0, and non-negative warmups.
int dy_dysco_config_validate(const dy_dysco_config *c, int n_layers, int n_heads, const char *where, dy_error *err);

// T = Wc + Wi tokens are held back from the prefill: the reference needs 1 <= T < N (dysco/README §1).
// interv_warmup is the resolved Wi ('auto' already counted).
int dy_dysco_check_prompt(const dy_dysco_config *c, int interv_warmup, int prompt_len, dy_error *err);

// Lmax, the deepest selected layer: the speculative pass runs layers 0 .. Lmax. -1 without heads.
int dy_dysco_max_layer(const dy_dysco_config *c);

#endif

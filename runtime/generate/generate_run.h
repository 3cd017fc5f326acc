// One generation's working state, shared by the decoding loops of runtime/generate (vanilla
// and attnsharp in generate.c, DySCO in generate_dysco.c); private to this folder.
#ifndef DYSCO_GENERATE_RUN_H
#define DYSCO_GENERATE_RUN_H

#include "generate.h"
#include "sampling.h"

typedef struct {
    dy_model *m;
    const dy_generate_opts *o;
    dy_generate_result *r;
    dy_sampler sampler;
    dy_pick_params params;  // how the pass that produces the next token chooses it
    dy_pick picked;         // what it chose
    int32_t *seq;           // prompt, then produced tokens
    int len, n_prompt;
    bool done;
} dy_run;

// Pick parameters for the pass whose last position yields the next token: the forced token when
// scoring, else a fresh draw from the sampler (none when greedy).
const dy_pick_params *dy_run_next_pick(dy_run *g);
// The pass at position len-1 picked the next token (g->picked): records it, streams it, and
// decides whether generation is over.
int32_t dy_run_produce(dy_run *g);
// One --trace line. With a DySCO state: its top_positions, and after a selection (intervention)
// its n_selected, and the selected positions [0, pos] when the options ask (trace_selected).
// Fails naming the file when the line could not be written (a full disk).
int dy_run_trace(dy_run *g, int pos, const char *phase, const dy_dysco_state *st, bool selection, bool produced,
                 dy_error *err);
// Prompt tokens [0, n) through the model in chunks; the last one picks the next token when asked.
int dy_run_prefill(dy_run *g, int n, const dy_forward_opts *base, bool pick, dy_error *err);
// DySCO's decoding (generate_dysco.c).
int dy_run_dysco(dy_run *g, dy_error *err);

#endif

// The generation loop for the three methods: vanilla (prefill, then one token per step),
// attnsharp (the same with an attention-logit temperature in every layer, prefill included) and
// DySCO (runtime/dysco/README.md: held-back prompt tail, context warmup, speculative pass,
// decayed importance, selection, biased real pass). Greedy or sampled tokens, or a teacher-forced
// continuation (dysco score).
#ifndef DYSCO_GENERATE_H
#define DYSCO_GENERATE_H

#include <stdio.h>

#include "runtime/dysco/dysco_controller.h"
#include "runtime/model/model.h"
#include "runtime/tokenizer/tokenizer.h"

// Positions of highest importance a DySCO trace line lists (top_positions).
enum { DY_TRACE_TOP_POSITIONS = 16 };

typedef enum { DY_METHOD_VANILLA, DY_METHOD_DYSCO, DY_METHOD_ATTNSHARP } dy_method;

// "vanilla", "dysco" or "attnsharp"; -1 for anything else.
int dy_method_parse(const char *name, dy_method *m);

typedef struct {
    dy_method method;
    float attn_temperature;         // attnsharp
    const dy_dysco_config *dysco;   // DySCO, already validated
    int interv_warmup;              // DySCO Wi, resolved ('auto' counted by the caller)
    int max_new_tokens;
    float temperature, sample_top_p;  // sampling; temperature <= 0: greedy
    int sample_top_k;
    uint64_t seed;
    const int32_t *stop_ids;        // generation stops after producing one of these
    int n_stop;
    const int32_t *forced;          // teacher-forced continuation (score), or NULL
    int n_forced;
    int prefill_chunk;              // tokens per prefill pass
    void (*on_token)(int32_t token, void *ctx);  // streaming, called per produced token
    void *on_token_ctx;
    FILE *trace;                    // JSONL per fed token after the prefill, or NULL; line-buffered (setvbuf)
    const char *trace_name;         // its path, named when a line cannot be written: the run stops there
    bool trace_selected;            // DySCO: trace lines of intervention steps list the selected positions
    bool tp_check_selection;        // DySCO under tensor parallelism: compare every selection across the ranks
    bool dysco_phases;              // DySCO on the device: time each part of a step once decoding ends (bench)
    bool router_margins;            // MoE, a backend with moe_record_margins: each fed position's closest routing
} dy_generate_opts;

// Where a DySCO step's time goes (dysco_phases; backends with the device DySCO ops): each part
// recorded alone and relaunched at the last decoded position, ms per launch.
enum {
    DY_DYSCO_PHASE_STEP,             // the whole step as decoding runs it
    DY_DYSCO_PHASE_SPECULATIVE,      // layers 0..Lmax with the capture, no LM head
    DY_DYSCO_PHASE_SPEC_NO_CAPTURE,  // the same layers without it: the capture's cost is the difference
    DY_DYSCO_PHASE_UPDATE,           // the importance update
    DY_DYSCO_PHASE_SELECT,           // selection and bias
    DY_DYSCO_PHASE_REAL,             // every layer with the bias, the LM head
    DY_DYSCO_PHASE_PLAIN,            // the same pass without the bias (a vanilla step's ops)
    DY_DYSCO_PHASE_N
};
extern const char *const dy_dysco_phase_names[DY_DYSCO_PHASE_N];

typedef struct {
    dy_tokens output;
    float *logprobs;   // (output.n) log-softmax of the produced (or forced) token
    int32_t *argmax;   // (output.n) the model's argmax at that step
    bool has_logging;  // DySCO: generation_logging below
    double logging[DY_DYSCO_LOG_N];  // generation_logging, named by dy_dysco_log_names
    double prefill_seconds, decode_seconds;
    bool has_phases;   // dysco_phases was asked and the backend runs DySCO on the device
    double phase_ms[DY_DYSCO_PHASE_N];
    // router_margins: (n_router_margins) per position fed to the model (the prompt, then every
    // produced or forced token but the last), the smallest routing margin of its MoE layers over
    // all its passes (dy_model_record_router_margins); NULL when not asked.
    float *router_margins;
    int n_router_margins;
} dy_generate_result;

int dy_generate(dy_model *m, const int32_t *prompt, int n_prompt, const dy_generate_opts *o, dy_generate_result *r,
                dy_error *err);
void dy_generate_result_free(dy_generate_result *r);

#endif

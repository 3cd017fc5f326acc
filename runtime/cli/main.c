// dysco: long-context LLM runtime with DySCO decoding. This file only dispatches verbs.
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_job.h"

static const char USAGE[] =
    "usage: dysco VERB [options]     (dysco VERB --help for a verb's options)\n"
    "\n"
    "verbs:\n"
    "  inspect      validate a checkpoint; print its architecture, parameters and per-GPU memory\n"
    "  make-model   write a checkpoint with deterministic random weights from a preset shape\n"
    "  tokenize     text <-> token ids with the model's tokenizer and chat template\n"
    "  generate     decode a prompt with vanilla, attnsharp or DySCO\n"
    "  score        log-probabilities of a given continuation under a method\n"
    "  bench        prefill and decode speed at given contexts, beside the measured roofline\n"
    "  eval         the reference's evaluation run over a dataset; eval score scores given outputs\n"
    "  detect-heads find the query-focused retrieval heads (QRHead) and write a DySCO config\n"
    "  retrieve     score documents for a query by the attention mass of chosen heads (QRRetriever)\n"
    "\n"
    "generate, score, bench, eval, detect-heads and retrieve run tensor-parallel under a launcher: mpirun -np N dysco VERB ...\n"
    "(or srun -n N) splits the attention heads, the MLP and the vocabulary over N ranks (CPU backend).\n";

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? DY_EXIT_USAGE : DY_EXIT_OK;
    }
    // The verbs that are not tensor-parallel write files or print as one process: under mpirun
    // each rank would repeat them, so they refuse to run as several.
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        bool tensor_parallel;
    } verbs[] = {
        {"inspect", dy_cli_inspect, false},   {"make-model", dy_cli_make_model, false},
        {"tokenize", dy_cli_tokenize, false}, {"generate", dy_cli_generate, true},
        {"score", dy_cli_score, true},        {"bench", dy_cli_bench, true},
        {"eval", dy_cli_eval, true},          {"detect-heads", dy_cli_detect_heads, true},
        {"retrieve", dy_cli_retrieve, true},
    };
    dy_error err;
    if (dy_cli_job_init(&err)) return dy_report(DY_EXIT_FAIL, &err);
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++) {
        if (strcmp(argv[1], verbs[i].name) != 0) continue;
        if (!verbs[i].tensor_parallel && dy_cli_job_single(argv[1], &err)) return dy_report(DY_EXIT_USAGE, &err);
        return verbs[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "dysco: unknown verb '%s'\n%s", argv[1], USAGE);
    return DY_EXIT_USAGE;
}

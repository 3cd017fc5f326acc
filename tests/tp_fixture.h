// What the tensor-parallel tests share (test_model_tp on the CPU, gpu/test_cuda_tp on one GPU):
// the tiny checkpoint every rank reads, and the logits of a pass over fixed positions.
#ifndef DYSCO_TEST_TP_FIXTURE_H
#define DYSCO_TEST_TP_FIXTURE_H

#include "parallel/comm.h"
#include "runtime/model/model.h"

// Checkpoints of the tp tests: 8 query heads and 2 KV heads (np 4 replicates each KV head on two
// ranks) of head_dim 32 (the smallest the GPU's attention takes) and an odd vocabulary (the last
// rank's slice is shorter). The prompt is fed in two
// prefill chunks, then one-token steps.
enum { TP_VOCAB = 1001, TP_PROMPT = 40, TP_STEPS = 24 };

// Rank 0 writes the preset's checkpoint (make-model through dysco_bin, fp32) into a fresh folder
// whose path every rank then receives; tp_checkpoint_remove takes it away once every rank is done.
char *tp_checkpoint(dy_comm *comm, const char *dysco_bin, const char *preset);
void tp_checkpoint_remove(dy_comm *comm, char *dir);
// The same TP_PROMPT + TP_STEPS tokens on every rank.
void tp_tokens(int32_t *tokens);
// Logits (this rank's slice, at stride) at every position from TP_PROMPT - 1 on: the prefill's
// two chunks (the LM head sees the last token of each), then one-token steps.
int tp_run_positions(dy_model *m, const int32_t *tokens, float *logits, int64_t stride, dy_error *err);
double tp_rel_error(const float *got, const float *want, int64_t n);
// Starts the job's communicator into *comm (MPI under mpirun, else the one process), runs test on
// the tiny Qwen3, Llama-3 and Qwen3-MoE presets, and ends it: the exit status of check_summary.
int tp_run_presets(dy_comm **comm, void (*test)(const char *preset));

#endif

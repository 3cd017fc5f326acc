// The job a verb runs in: one process, or one rank of a tensor-parallel job that mpirun or srun
// started (parallel/launch_env.h). main reads the launcher's environment once; from then on every
// error line names the rank ("dysco: rank 1 of 4: ..."). Verbs that run tensor-parallel
// (generate, score, bench) start the communicator; the others refuse to run as several processes.
#ifndef DYSCO_CLI_JOB_H
#define DYSCO_CLI_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "parallel/comm.h"

// Reads the launcher's variables (a malformed one fails naming it).
int dy_cli_job_init(dy_error *err);
const dy_launch_env *dy_cli_job_env(void);
// A verb that runs as one process: fails when the launcher started several.
int dy_cli_job_single(const char *verb, dy_error *err);
// A tensor-parallel verb's --tp (0 when not given): the world size is the degree, so tp must
// equal it (a usage error otherwise). The verb then starts dy_comm_create(dy_cli_job_env()).
int dy_cli_job_check_tp(const char *verb, int64_t tp, dy_error *err);
// Every rank calls it with its own result so far (0 or -1, err filled): 0 when every rank
// succeeded. Otherwise -1, and *quiet is set on a rank that succeeded itself (it stops without a
// line of its own: the failing ranks print theirs). Needs no rank to be waiting elsewhere.
int dy_cli_job_agree(dy_comm *c, int rc, bool *quiet);
// A failure after the ranks began working together: this rank's line, then the whole job ends
// (another rank may be waiting in a collective for this one).
int dy_cli_job_fail(dy_comm *c, int status, const dy_error *err);
// --nccl asks for the collectives of a GPU backend: a usage error with another device.
int dy_cli_job_check_nccl(bool nccl, const char *device, dy_error *err);
// The backend this rank computes on (dy_backend_create on the rank's GPU) and, once every rank
// has one, the communicator for its memory (dy_comm_for_backend: NCCL for GPU ranks, and at one
// process with force_nccl). Returns the exit status: DY_EXIT_OK with both set; a failure before the
// agreement reported as dy_cli_job_agree says, one during NCCL's setup ending the job. *be is
// set whenever it was created (the caller destroys it); *ops is c itself or one to destroy.
int dy_cli_job_backend(dy_comm *c, const char *device, bool force_nccl, int rc, dy_backend **be, dy_comm **ops,
                       dy_error *err);

#endif

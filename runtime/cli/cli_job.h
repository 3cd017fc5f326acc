// The job a verb runs in: one process, or one rank of a tensor-parallel job that mpirun or srun
// started (parallel/launch_env.h). main reads the launcher's environment once; from then on every
// error line names the rank ("dysco: rank 1 of 4: ..."). Verbs that run tensor-parallel
// (generate, score, bench) start the communicator; the others refuse to run as several processes.
#ifndef DYSCO_CLI_JOB_H
#define DYSCO_CLI_JOB_H

#include <stdbool.h>
#include <stdint.h>

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

#endif

// DySCO's per-sequence state in backend memory, for backends with the device DySCO ops
// (kernels/backend.h: dysco_update, dysco_select): the importance, the selection, the template
// mask and the logging sums, and the two ops' arguments bound to them. The host controller
// (dysco_controller.h) stays the source of the configuration and the template mask, and takes
// the device's values back for traces and the final generation_logging.
#ifndef DYSCO_DYSCO_DEVICE_H
#define DYSCO_DYSCO_DEVICE_H

#include "dysco_controller.h"
#include "kernels/backend.h"
#include "parallel/comm.h"

typedef struct {
    dy_backend *be;
    float *importance;              // backend (max_ctx)
    uint8_t *selected;              // backend (max_ctx)
    uint8_t *template_mask;         // backend (prompt_len), or NULL
    dy_dysco_device_state *state;   // backend (1)
    // Tensor parallelism (comm set): this rank's head sum, all-gathered into every rank's.
    dy_comm *comm;                  // collectives on backend memory; NULL: the rows are every head's
    double *own_sum;                // backend (max_ctx)
    double *rank_sums;              // backend (comm->size, max_ctx)
    dy_dysco_head_sum_args head_sum;
    dy_dysco_update_args update;
    dy_dysco_select_args select;
} dy_dysco_device;

// From a freshly initialised host state s (dy_dysco_init): zeroed importance, selection and
// logs on the backend. position: the step's cache index (backend, c = *position + 1); capture:
// the step's probability rows (n_rows, max_ctx), of n_pairs in all; bias: where the real pass
// reads its bias (backend, max_ctx). comm: NULL when capture holds every pair (n_rows =
// n_pairs); under tensor parallelism the communicator on backend memory, capture holding this
// rank's rows (n_rows of them, maybe none).
int dy_dysco_device_init(dy_dysco_device *d, dy_backend *be, const dy_dysco_state *s, const int32_t *position,
                         const float *capture, int n_rows, int n_pairs, dy_comm *comm, float *bias, dy_error *err);
void dy_dysco_device_free(dy_dysco_device *d);

// Enqueue the importance update (with its all-gather under tensor parallelism) and the selection
// + bias (recordable into a graph).
void dy_dysco_device_update(dy_dysco_device *d);
void dy_dysco_device_select(dy_dysco_device *d);

// Waits for the device and copies its state into s as dy_dysco_update / dy_dysco_select_and_bias
// would have left it at KV length c: importance[0, c) (when with_importance), n_selected, frozen,
// the logging sums, and selected[0, c) when with_selected; so dy_dysco_top_positions,
// dy_dysco_last_n_selected and dy_dysco_logging read it unchanged.
void dy_dysco_device_read(const dy_dysco_device *d, dy_dysco_state *s, int c, bool with_importance,
                          bool with_selected);

#endif

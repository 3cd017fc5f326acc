#include "comm.h"

dy_comm *dy_comm_for_backend(dy_comm *host, void *stream, bool force_nccl, dy_error *err) {
    if (!stream || (host->size == 1 && !force_nccl)) return host;
#ifdef DYSCO_HAVE_CUDA
    return dy_comm_nccl_create(host, stream, err);
#else
    dy_fail(err, "NCCL: this dysco was built without CUDA");
    return NULL;
#endif
}

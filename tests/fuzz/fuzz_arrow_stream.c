// An Arrow IPC stream file (Hugging Face datasets' .arrow) through dy_arrow_read_stream: the
// framing, the flatbuffer metadata, the schema and every record batch's buffers and values.
// Seeds: files tests/arrow_stream_writer.py wrote (every supported type, nulls, nested lists).
#include <stdint.h>

#include "fuzz_util.h"
#include "runtime/eval/arrow_ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *rows = cJSON_CreateArray();
    dy_error err;
    (void)dy_arrow_read_stream(data, size, "data.arrow", rows, &err);
    cJSON_Delete(rows);
    return 0;
}

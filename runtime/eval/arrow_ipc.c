// The Arrow IPC streaming format's framing (Arrow's "Encapsulated message format"): messages of
// a continuation marker 0xFFFFFFFF, an int32 metadata length, a flatbuffer Message and its body;
// a Schema first, then RecordBatches, then the end-of-stream marker (0xFFFFFFFF, 0). A stream
// that ends without that marker is truncated, so it is an error even at a message boundary.
#include "arrow_ipc.h"

#include <stdint.h>
#include <stdio.h>

#include "arrow_format.h"

// Message.fbs: Message {version, header_type, header, bodyLength, custom_metadata}.
enum { MESSAGE_VERSION = 0, MESSAGE_HEADER_TYPE = 1, MESSAGE_HEADER = 2, MESSAGE_BODY_LENGTH = 3 };
enum { HEADER_SCHEMA = 1, HEADER_DICTIONARY_BATCH = 2, HEADER_RECORD_BATCH = 3 };
// MetadataVersion V4 and V5 (values 3 and 4) share the layout read here; pyarrow writes V5.
enum { VERSION_V4 = 3, VERSION_V5 = 4 };
#define CONTINUATION 0xFFFFFFFFu

static uint32_t load_u32(const unsigned char *p) { return (uint32_t)dy_le_load(p, 4); }

// One message at data[pos..): its kind handled, *next the position after its body.
static int read_message(const unsigned char *data, size_t len, size_t pos, const char *path, dy_arrow_schema *s,
                        int *batches, cJSON *rows, size_t *next, dy_error *err) {
    const size_t meta_len = load_u32(data + pos + 4), meta_at = pos + 8;
    if (meta_len > INT32_MAX || meta_len > len - meta_at)
        return dy_fail(err, "%s: byte %zu: a message's metadata (%zu bytes) runs past the end of the file (truncated?)", path,
                       pos, meta_len);
    dy_fb fb = {.data = data + meta_at, .len = meta_len};
    const dy_fb_table message = dy_fb_root(&fb);
    const unsigned version = (unsigned)dy_fb_scalar(&fb, &message, MESSAGE_VERSION, 2, 0);
    const unsigned kind = (unsigned)dy_fb_scalar(&fb, &message, MESSAGE_HEADER_TYPE, 1, 0);
    const dy_fb_table header = dy_fb_table_at(&fb, &message, MESSAGE_HEADER);
    const int64_t body_len = (int64_t)dy_fb_scalar(&fb, &message, MESSAGE_BODY_LENGTH, 8, 0);
    const size_t body_at = meta_at + meta_len;
    if (fb.problem) return dy_fail(err, "%s: byte %zu: message metadata: %s", path, pos, fb.problem);
    if (version != VERSION_V4 && version != VERSION_V5)
        return dy_fail(err, "%s: byte %zu: metadata version V%u is not supported (V4 or V5)", path, pos, version + 1);
    if (body_len < 0 || (uint64_t)body_len > len - body_at)
        return dy_fail(err, "%s: byte %zu: a message body of %lld bytes runs past the end of the file (truncated?)", path, pos,
                       (long long)body_len);
    *next = body_at + (size_t)body_len;
    char why[512];
    if (kind == HEADER_SCHEMA) {
        if (s->fields) return dy_fail(err, "%s: byte %zu: a second schema message", path, pos);
        if (dy_arrow_schema_read(&fb, &header, s, why, sizeof why) == 0 && !fb.problem) return 0;
        return dy_fail(err, "%s: schema: %s%s", path, fb.problem ? "metadata: " : "", fb.problem ? fb.problem : why);
    }
    if (kind == HEADER_RECORD_BATCH) {
        if (!s->fields) return dy_fail(err, "%s: byte %zu: a record batch before the schema", path, pos);
        ++*batches;
        if (dy_arrow_batch_read(&fb, &header, data + body_at, (size_t)body_len, s, rows, why, sizeof why) == 0) return 0;
        return dy_fail(err, "%s: record batch %d (byte %zu): %s", path, *batches, pos, why);
    }
    if (kind == HEADER_DICTIONARY_BATCH) return dy_fail(err, "%s: byte %zu: dictionary batches are not supported", path, pos);
    return dy_fail(err, "%s: byte %zu: message type %u is not supported (a schema or a record batch)", path, pos, kind);
}

int dy_arrow_read_stream(const unsigned char *data, size_t len, const char *path, cJSON *rows, dy_error *err) {
    dy_arrow_schema s = {0};
    int batches = 0, rc = 0;
    for (size_t pos = 0; !rc;) {
        if (len - pos < 8) {
            rc = dy_fail(err, "%s: %s at byte %zu without the end-of-stream marker (truncated?)", path,
                         pos == len ? "ends" : "ends inside a message header", pos);
        } else if (load_u32(data + pos) != CONTINUATION) {
            rc = dy_fail(err, "%s: byte %zu: expected a message's continuation marker 0xFFFFFFFF", path, pos);
        } else if (load_u32(data + pos + 4) == 0) {
            if (pos + 8 != len) rc = dy_fail(err, "%s: byte %zu: data after the end-of-stream marker", path, pos + 8);
            else if (!s.fields) rc = dy_fail(err, "%s: a stream without a schema", path);
            break;
        } else {
            rc = read_message(data, len, pos, path, &s, &batches, rows, &pos, err);
        }
    }
    dy_arrow_schema_free(&s);
    return rc;
}

// The Arrow IPC stream reader (runtime/eval/arrow_ipc.h) on files tests/arrow_stream_writer.py
// writes from the Arrow spec: rows back as written (several record batches and data files, nulls,
// empty strings, unicode, empty and null lists, every supported type), then malformed input:
// each bad value, offset, buffer and type gives its one line "PATH: PROBLEM", every truncation
// is an error, and byte flips over a valid file end in rows or an error, never a crash (the
// _asan variant checks every read).
// argv: WRITER_SCRIPT.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/eval/arrow_ipc.h"
#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *writer;
static char *dir;  // the fixtures of this run

// Spec text with ' for " (so the C literals stay readable) as JSON text, malloc'd.
static char *quoted(const char *spec) {
    char *s = strdup(spec);
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    return s;
}

// Writes the Arrow stream of spec (as quoted() reads it) to dir/name and returns its path.
static char *write_arrow(const char *name, const char *spec) {
    char spec_path[4096], *path = xmalloc(4096);
    snprintf(spec_path, sizeof spec_path, "%s/%s.json", dir, name);
    snprintf(path, 4096, "%s/%s", dir, name);
    char *text = quoted(spec);
    dy_error err;
    if (dy_write_file(spec_path, text, strlen(text), &err)) setup_die(err.msg);
    free(text);
    cmd_result r = run_cmd("python3 '%s' '%s' '%s'", writer, spec_path, path);
    if (r.status != 0) fail_msg("%s failed: %s", writer, r.err);
    cmd_result_free(&r);
    return path;
}

static unsigned char *read_bytes(const char *path, size_t *len) {
    dy_error err;
    char *data = dy_read_file(path, len, &err);
    if (!data) fail_msg("%s", err.msg);
    return (unsigned char *)data;
}

// The rows of the stream data[0..len) read from a heap copy of exactly len bytes (so ASan sees
// any read past the end), or NULL with err.
static cJSON *read_copy(const unsigned char *data, size_t len, const char *path, dy_error *err) {
    unsigned char *copy = xmalloc(len);
    memcpy(copy, data, len);
    cJSON *rows = cJSON_CreateArray();
    const int rc = dy_arrow_read_stream(copy, len, path, rows, err);
    free(copy);
    if (rc == 0) return rows;
    cJSON_Delete(rows);
    return NULL;
}

// An error is one line naming the file first.
static void assert_one_line(const char *msg, const char *path) {
    if (strncmp(msg, path, strlen(path)) != 0 || strncmp(msg + strlen(path), ": ", 2) != 0 || strchr(msg, '\n') || !msg[strlen(path) + 2])
        fail_msg("not a line 'PATH: PROBLEM': '%s'", msg);
}

// The file of spec fails to read with an error line containing problem.
static void expect_error(const char *spec, const char *problem) {
    char *path = write_arrow("bad.arrow", spec);
    size_t len;
    unsigned char *data = read_bytes(path, &len);
    dy_error err;
    cJSON *rows = read_copy(data, len, path, &err);
    if (rows) fail_msg("%s read, expected '%s'", spec, problem);
    assert_one_line(err.msg, path);
    if (!strstr(err.msg, problem)) fail_msg("got '%s', expected '%s'", err.msg, problem);
    free(data);
    free(path);
}

// Every supported type, nulls, empty strings and lists, unicode, int64 at +-2^53.
static const char ALL_TYPES[] =
    "{'metadata': {'huggingface': '{}'}, 'schema': ["
    "{'name': 'id', 'type': 'int64'}, {'name': 'context', 'type': 'utf8'}, {'name': 'input', 'type': 'large_utf8'},"
    "{'name': 'answer', 'type': {'list': 'utf8'}}, {'name': 'options', 'type': {'large_list': 'large_utf8'}},"
    "{'name': 'flag', 'type': 'bool'}, {'name': 'n', 'type': 'int32'}, {'name': 'x', 'type': 'float64'},"
    "{'name': 'grid', 'type': {'list': {'list': 'int64'}}}], 'batches': ["
    "[{'id': 0, 'context': 'plain', 'input': '', 'answer': ['a', ''], 'options': [], 'flag': true, 'n': -7, 'x': 0.5,"
    "  'grid': [[1, 2], [], null]},"
    " {'id': 9007199254740992, 'context': 'caf\u00e9 \u65e5\u672c \U0001F642', 'input': null, 'answer': [], 'options': null,"
    "  'flag': false, 'n': 2147483647, 'x': -1.25, 'grid': []}],"
    "[],"
    "[{'id': -9007199254740992, 'context': '', 'input': 'q', 'answer': null, 'options': ['x', null, '\u00fc'], 'flag': null,"
    "  'n': null, 'x': null, 'grid': null},"
    " {'id': null, 'context': null, 'input': 'line\\nbreak', 'answer': [null], 'options': [''], 'flag': true,"
    "  'n': 0, 'x': 1e300, 'grid': [[null, 3]]},"
    " {'id': 5, 'context': 'z', 'input': 'w', 'answer': ['one', 'two', 'three'], 'options': [], 'flag': false,"
    "  'n': -2147483648, 'x': 0, 'grid': [[]]}]]}";

static const char SMALL[] = "{'schema': [{'name': 'id', 'type': 'int64'}, {'name': 'answer', 'type': {'list': 'utf8'}}],"
                            " 'batches': [[{'id': 100, 'answer': ['b']}], [{'id': 101, 'answer': []}, {'id': 102, 'answer': null}]]}";

// The rows of a spec's batches, in order: what the reader must give back.
static cJSON *spec_rows(const char *spec) {
    char *text = quoted(spec);
    cJSON *s = cJSON_Parse(text), *rows = cJSON_CreateArray(), *batch, *row;
    free(text);
    cJSON_ArrayForEach(batch, cJSON_GetObjectItem(s, "batches")) cJSON_ArrayForEach(row, batch)
        cJSON_AddItemToArray(rows, cJSON_Duplicate(row, 1));
    cJSON_Delete(s);
    return rows;
}

static void assert_rows(const cJSON *got, const cJSON *expected) {
    if (!cJSON_Compare(got, expected, 1)) {
        char *g = cJSON_PrintUnformatted(got), *e = cJSON_PrintUnformatted(expected);
        fail_msg("rows differ:\n got      %s\n expected %s", g, e);
    }
}

static void write_state(const char *split, const char *files_json) {
    char path[4096], text[4096];
    snprintf(path, sizeof path, "%s/state.json", split);
    snprintf(text, sizeof text, "{\"_data_files\": %s, \"_fingerprint\": \"0\", \"_split\": null}", files_json);
    dy_error err;
    if (dy_write_file(path, text, strlen(text), &err)) setup_die(err.msg);
}

static void test_rows_as_written(void **state) {
    (void)state;
    char *path = write_arrow("all.arrow", ALL_TYPES);
    size_t len;
    unsigned char *data = read_bytes(path, &len);
    dy_error err;
    cJSON *rows = read_copy(data, len, path, &err), *expected = spec_rows(ALL_TYPES);
    if (!rows) fail_msg("%s", err.msg);
    assert_int_equal(cJSON_GetArraySize(rows), 5);
    assert_rows(rows, expected);
    // Key order is the schema's.
    assert_string_equal(cJSON_GetArrayItem(rows, 0)->child->string, "id");
    cJSON_Delete(rows);
    cJSON_Delete(expected);
    free(data);
    free(path);
}

// A split of two data files: rows in state.json's order, not the names'.
static void test_split_in_state_order(void **state) {
    (void)state;
    char split[4096];
    snprintf(split, sizeof split, "%s/split", dir);
    dy_error err;
    if (dy_make_dirs(split, &err)) setup_die(err.msg);
    char *a = write_arrow("split/data-00000-of-00002.arrow", ALL_TYPES), *b = write_arrow("split/data-00001-of-00002.arrow", SMALL);
    write_state(split, "[{\"filename\": \"data-00001-of-00002.arrow\"}, {\"filename\": \"data-00000-of-00002.arrow\"}]");
    cJSON *rows = dy_arrow_read_split(split, "test", &err), *expected = spec_rows(SMALL), *rest = spec_rows(ALL_TYPES), *r;
    if (!rows) fail_msg("%s", err.msg);
    cJSON_ArrayForEach(r, rest) cJSON_AddItemToArray(expected, cJSON_Duplicate(r, 1));
    assert_int_equal(cJSON_GetArraySize(rows), 8);
    assert_rows(rows, expected);
    cJSON_Delete(rows);
    cJSON_Delete(expected);
    cJSON_Delete(rest);
    free(a);
    free(b);
}

// A DatasetDict of the split above as its "test" split, as load_from_disk reads it.
static void test_dataset_dict(void **state) {
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/dict", dir);
    dy_error err;
    if (dy_make_dirs(path, &err)) setup_die(err.msg);
    cmd_result r = run_cmd("cp -r '%s/split' '%s/dict/test'", dir, dir);
    assert_int_equal(r.status, 0);
    cmd_result_free(&r);
    char expected[16384];
    assert_null(dy_arrow_read_dict_split(path, "test", "the test's fixtures", &err));
    snprintf(expected, sizeof expected, "%s/dataset_dict.json: missing (the test's fixtures)", path);
    assert_string_equal(err.msg, expected);
    char dict_json[8192];
    snprintf(dict_json, sizeof dict_json, "%s/dataset_dict.json", path);
    static const char SPLITS[] = "{\"splits\": [\"train\", \"test\", \"..\"]}";
    if (dy_write_file(dict_json, SPLITS, strlen(SPLITS), &err)) setup_die(err.msg);
    cJSON *rows = dy_arrow_read_dict_split(path, "test", "the test's fixtures", &err);
    if (!rows) fail_msg("%s", err.msg);
    assert_int_equal(cJSON_GetArraySize(rows), 8);
    cJSON_Delete(rows);
    assert_null(dy_arrow_read_dict_split(path, "validation", "the test's fixtures", &err));
    snprintf(expected, sizeof expected, "%s: splits: no split 'validation'", dict_json);
    assert_string_equal(err.msg, expected);
    assert_null(dy_arrow_read_dict_split(path, "..", "the test's fixtures", &err));
    snprintf(expected, sizeof expected, "%s: splits: '..' is not a folder name", dict_json);
    assert_string_equal(err.msg, expected);
    // Listed but not there: its state.json is missing.
    assert_null(dy_arrow_read_dict_split(path, "train", "the test's fixtures", &err));
    snprintf(expected, sizeof expected, "%s/train/state.json: missing (the test's fixtures)", path);
    assert_string_equal(err.msg, expected);
}

static void expect_split_error(const char *split, const char *expected_fmt) {
    dy_error err;
    char expected[8192];
    assert_null(dy_arrow_read_split(split, "the test's fixtures", &err));
    snprintf(expected, sizeof expected, expected_fmt, split);
    assert_string_equal(err.msg, expected);
}

static void test_split_errors(void **state) {
    (void)state;
    char split[4096];
    snprintf(split, sizeof split, "%s/bad_split", dir);
    dy_error err;
    if (dy_make_dirs(split, &err)) setup_die(err.msg);
    expect_split_error(split, "%s/state.json: missing (the test's fixtures)");
    write_state(split, "[]");
    expect_split_error(split, "%s/state.json: _data_files: expected a non-empty list of {\"filename\": ...}");
    write_state(split, "[{\"filename\": \"../all.arrow\"}]");
    expect_split_error(split, "%s/state.json: _data_files[0]: expected {\"filename\": a file name in the folder}");
    write_state(split, "[{\"filename\": \"gone.arrow\"}]");
    expect_split_error(split, "%s/gone.arrow: missing (state.json lists it)");
}

static const char TEXT_ONE[] = "{'schema': [{'name': 'context', 'type': 'utf8'}], 'batches': [[{'context': 'abc'}]]";
static const char TEXT_TWO[] = "{'schema': [{'name': 'context', 'type': 'utf8'}], 'batches': [[{'context': 'ab'}, {'context': 'c'}]]";

// TEXT_ONE or TEXT_TWO with patches (as the writer reads them) added to batch 0.
static void expect_patched(const char *base, const char *patches, const char *problem) {
    char spec[4096];
    snprintf(spec, sizeof spec, "%s, 'patches': [%s]}", base, patches);
    expect_error(spec, problem);
}

static void test_bad_values(void **state) {
    (void)state;
    expect_error("{'schema': [{'name': 'id', 'type': 'int64'}], 'batches': [[{'id': 1}, {'id': 9007199254740993}]]}",
                 ": record batch 1 (byte ");
    expect_error("{'schema': [{'name': 'id', 'type': 'int64'}], 'batches': [[{'id': 1}, {'id': 9007199254740993}]]}",
                 "column id: row 1: 9007199254740993 is beyond 2^53, which a JSON number does not hold exactly");
    expect_error("{'schema': [{'name': 'id', 'type': 'int64'}], 'batches': [[{'id': -9007199254740993}]]}", "is beyond 2^53");
    // 2^53 + 1 as a list item (buffer 3: the item column's values).
    expect_error("{'schema': [{'name': 'a', 'type': {'list': 'int64'}}], 'batches': [[{'a': [1]}]],"
                 " 'patches': [{'batch': 0, 'buffer': 3, 'hex': '0100000000002000'}]}",
                 "column a.item: value 0: 9007199254740993 is beyond 2^53");
    expect_error("{'schema': [{'name': 'x', 'type': 'float64'}], 'batches': [[{'x': NaN}]]}", "column x: row 0: nan has no JSON number");
    // Buffer 2 of a utf8 column is its data (after the validity bitmap and the offsets).
    expect_patched(TEXT_ONE, "{'batch': 0, 'buffer': 2, 'hex': '61ff63'}", "column context: row 0: not UTF-8 at byte 1 of the string");
    expect_patched(TEXT_ONE, "{'batch': 0, 'buffer': 2, 'hex': '610063'}", "column context: row 0: a NUL byte at byte 1 of the string");
    expect_patched(TEXT_ONE, "{'batch': 0, 'buffer': 2, 'hex': 'e697'}, {'batch': 0, 'buffer': 1, 'i32': [0, 2]}", "column context: row 0: not UTF-8 at byte 0 of the string");
    expect_error("{'schema': [{'name': 'a', 'type': {'list': 'utf8'}}], 'batches': [[{'a': ['ok']}]],"
                 " 'patches': [{'batch': 0, 'buffer': 4, 'hex': 'ff'}, {'batch': 0, 'buffer': 3, 'i32': [0, 1]}]}",
                 "column a.item: value 0: not UTF-8 at byte 0 of the string");
}

static void test_bad_offsets_and_buffers(void **state) {
    (void)state;
    expect_patched(TEXT_TWO, "{'batch': 0, 'buffer': 1, 'i32': [0, 3, 2]}", "column context: offsets decrease (or start below 0) at offset 2");
    expect_patched(TEXT_TWO, "{'batch': 0, 'buffer': 1, 'i32': [-1, 2, 3]}", "column context: offsets decrease (or start below 0) at offset 0");
    expect_patched(TEXT_TWO, "{'batch': 0, 'buffer': 1, 'i32': [0, 2, 9]}", "column context: offset 2 points past the column's data");
    expect_patched(TEXT_TWO, "{'batch': 0, 'buffer': 1, 'i32': [0, 2]}", "column context: an offsets buffer shorter than its 2 values");
    expect_error("{'schema': [{'name': 'a', 'type': {'list': 'utf8'}}], 'batches': [[{'a': ['x']}, {'a': []}]],"
                 " 'patches': [{'batch': 0, 'buffer': 1, 'i32': [0, 1, 2]}]}",
                 "column a: offset 2 points past the column's data");
    expect_patched(TEXT_TWO, "{'batch': 0, 'buffer': 2, 'offset': 0, 'length': 4096}", "column context: a buffer beyond the message body (buffer 2)");
    expect_patched(TEXT_TWO, "{'batch': 0, 'buffer': 2, 'offset': -8, 'length': 8}", "column context: a buffer beyond the message body");
    expect_patched(TEXT_TWO, "{'batch': 0, 'buffer': 2, 'offset': 0, 'length': 3}", "column context: buffers overlap or are out of order (buffer 2)");
    expect_patched(TEXT_TWO, "{'batch': 0, 'node': 0, 'length': 2, 'null_count': 1}", "column context: a validity bitmap shorter than its 2 values");
    expect_patched(TEXT_TWO, "{'batch': 0, 'node': 0, 'length': 2, 'null_count': 3}", "column context: a field node of length 2 with a bad null count");
    expect_patched(TEXT_TWO, "{'batch': 0, 'rows': 3}", "column context: 2 values in a batch of 3 rows");
    expect_patched(TEXT_TWO, "{'batch': 0, 'rows': -1}", "a negative row count");
    // A huge row count is refused by the buffers it would need, before any row is made.
    expect_patched(TEXT_TWO, "{'batch': 0, 'rows': 1000000000000000}, {'batch': 0, 'node': 0, 'length': 1000000000000000, 'null_count': 0}",
                   "column context: an offsets buffer shorter than its 1000000000000000 values");
    expect_error("{'schema': [{'name': 'n', 'type': 'int32'}], 'batches': [[{'n': 1}, {'n': 2}]], 'patches': [{'batch': 0, 'buffer': 1, 'i32': [1]}]}",
                 "column n: a data buffer shorter than its 2 values");
    expect_patched(TEXT_TWO, "{'batch': 0, 'compression': true}", "record batch 1 (byte ");
    expect_patched(TEXT_TWO, "{'batch': 0, 'compression': true}", "): compressed arrow buffers are not supported");
}

static void test_bad_schemas(void **state) {
    (void)state;
    expect_error("{'schema': [{'name': 'a', 'type': 'int16'}], 'batches': [[{'a': 1}]]}", ": schema: a: type int16 is not supported (int32, int64)");
    expect_error("{'schema': [{'name': 'a', 'type': 'uint64'}], 'batches': [[{'a': 1}]]}", "schema: a: type uint64 is not supported");
    expect_error("{'schema': [{'name': 'a', 'type': 'float32'}], 'batches': [[{'a': 1}]]}", "schema: a: type FloatingPoint other than DOUBLE");
    expect_error("{'schema': [{'name': 'a', 'type': {'list': 'binary'}}], 'batches': [[{'a': []}]]}", "schema: a.item: type Binary is not supported");
    expect_error("{'schema': [{'name': 'a', 'type': 'utf8'}, {'name': 'a', 'type': 'int64'}], 'batches': [[{'a': null}]]}",
                 "schema: two columns named 'a'");
    expect_error("{'schema': [], 'batches': []}", "schema: 0 columns (expected 1 to 4096)");
    char spec[1024], name[300];
    memset(name, 'n', 257);
    name[257] = 0;
    snprintf(spec, sizeof spec, "{'schema': [{'name': '%s', 'type': 'int64'}], 'batches': [[{'%s': 1}]]}", name, name);
    expect_error(spec, "schema: a column name longer than 256 bytes");
    expect_error("{'schema': [{'name': 'two\\nlines', 'type': 'int64'}], 'batches': [[{'two\\nlines': 1}]]}",
                 "schema: a column name that is not UTF-8 text without control characters");
    expect_error("{'schema': [{'name': 'a', 'type': 'utf8', 'dictionary': true}], 'batches': [[{'a': 'x'}]]}",
                 "schema: a: dictionary-encoded columns are not supported");
    expect_error("{'big_endian': true, 'schema': [{'name': 'a', 'type': 'int64'}], 'batches': [[{'a': 1}]]}",
                 "schema: big-endian data is not supported");
}

// A column of lists levels deep (int32 items) holding one row, 7 inside as deep as it goes.
static char *nested_spec(int lists) {
    char type[512] = "'int32'", value[512] = "7", *spec = xmalloc(2048);
    for (int i = 0; i < lists; i++) {
        char t[512], v[512];
        snprintf(t, sizeof t, "{'list': %s}", type);
        snprintf(v, sizeof v, "[%s]", value);
        strcpy(type, t);
        strcpy(value, v);
    }
    snprintf(spec, 2048, "{'schema': [{'name': 'deep', 'type': %s}], 'batches': [[{'deep': %s}]]}", type, value);
    return spec;
}

// Eight levels of fields (seven lists around int32) read; nine are too deep.
static void test_nesting_depth(void **state) {
    (void)state;
    char *ok = nested_spec(7), *deep = nested_spec(8);
    char *path = write_arrow("deep.arrow", ok);
    size_t len;
    unsigned char *data = read_bytes(path, &len);
    dy_error err;
    cJSON *rows = read_copy(data, len, path, &err), *expected = spec_rows(ok);
    if (!rows) fail_msg("%s", err.msg);
    assert_rows(rows, expected);
    expect_error(deep, "schema: deep.item.item.item.item.item.item.item.item: nested deeper than 8 levels");
    cJSON_Delete(rows);
    cJSON_Delete(expected);
    free(data);
    free(path);
    free(ok);
    free(deep);
}

static void expect_bytes_error(const unsigned char *data, size_t len, const char *expected) {
    dy_error err;
    assert_null(read_copy(data, len, "x.arrow", &err));
    assert_string_equal(err.msg, expected);
}

// Streams written by hand: framing faults and a flatbuffer whose vtable lies outside it.
static void test_bad_framing(void **state) {
    (void)state;
    static const unsigned char eos[] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0};
    expect_bytes_error(eos, 8, "x.arrow: a stream without a schema");
    expect_bytes_error(eos, 9, "x.arrow: byte 8: data after the end-of-stream marker");
    expect_bytes_error(eos, 0, "x.arrow: ends at byte 0 without the end-of-stream marker (truncated?)");
    static const unsigned char legacy[] = {8, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0};
    expect_bytes_error(legacy, sizeof legacy, "x.arrow: byte 0: expected a message's continuation marker 0xFFFFFFFF");
    // Root table at 4 whose soffset puts its vtable 2^31 bytes away.
    static const unsigned char far_vtable[] = {0xff, 0xff, 0xff, 0xff, 16, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0};
    expect_bytes_error(far_vtable, sizeof far_vtable, "x.arrow: byte 0: message metadata: a table's vtable lies outside the metadata");
    // A vtable (at 12) that says it is 64 bytes long.
    static const unsigned char long_vtable[] = {0xff, 0xff, 0xff, 0xff, 16, 0, 0, 0, 4, 0, 0, 0, 0xf8, 0xff, 0xff, 0xff, 0, 0, 0, 0, 64, 0, 4, 0};
    expect_bytes_error(long_vtable, sizeof long_vtable, "x.arrow: byte 0: message metadata: a table's vtable lies outside the metadata");
    static const unsigned char big_meta[] = {0xff, 0xff, 0xff, 0xff, 0xf0, 0xff, 0xff, 0xff, 0};
    expect_bytes_error(big_meta, sizeof big_meta,
                       "x.arrow: byte 0: a message's metadata (4294967280 bytes) runs past the end of the file (truncated?)");
}

// Every prefix of a valid file, at message boundaries and inside messages, is an error line.
static void test_truncations(void **state) {
    (void)state;
    char *path = write_arrow("all.arrow", ALL_TYPES);
    size_t len;
    unsigned char *data = read_bytes(path, &len);
    for (size_t cut = 0; cut < len; cut++) {
        dy_error err;
        cJSON *rows = read_copy(data, cut, path, &err);
        if (rows) fail_msg("%s cut to %zu bytes read", path, cut);
        assert_one_line(err.msg, path);
    }
    // Cut just before the end-of-stream marker: every message is whole.
    dy_error err;
    char expected[8192];
    assert_null(read_copy(data, len - 8, path, &err));
    snprintf(expected, sizeof expected, "%s: ends at byte %zu without the end-of-stream marker (truncated?)", path, len - 8);
    assert_string_equal(err.msg, expected);
    free(data);
    free(path);
}

static uint64_t next_random(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

// The file read after a corruption: rows, or one error line; never a crash (ASan, UBSan).
static void read_corrupted(const unsigned char *data, size_t len, const char *path, int *ok, int *failed) {
    dy_error err;
    cJSON *rows = read_copy(data, len, path, &err);
    if (rows) ++*ok;
    else {
        assert_one_line(err.msg, path);
        ++*failed;
    }
    cJSON_Delete(rows);
}

// Each byte of a valid file flipped three ways, then many random few-byte corruptions.
static void test_byte_flips(void **state) {
    (void)state;
    char *path = write_arrow("all.arrow", ALL_TYPES);
    size_t len;
    unsigned char *data = read_bytes(path, &len), *bad = xmalloc(len);
    int ok = 0, failed = 0;
    static const unsigned char masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < len; i++)
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy(bad, data, len);
            bad[i] ^= masks[m];
            read_corrupted(bad, len, path, &ok, &failed);
        }
    uint64_t seed = 0x5eed;
    for (int round = 0; round < 20000; round++) {
        memcpy(bad, data, len);
        for (int k = 1 + (int)(next_random(&seed) % 4); k > 0; k--) bad[next_random(&seed) % len] = (unsigned char)next_random(&seed);
        read_corrupted(bad, len, path, &ok, &failed);
    }
    print_message("%zu-byte file: %d corruptions read as rows, %d refused\n", len, ok, failed);
    assert_true(failed > 0);
    free(bad);
    free(data);
    free(path);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "WRITER_SCRIPT", &writer, NULL);
    dir = make_temp_dir("arrow_ipc");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_as_written),
        cmocka_unit_test(test_split_in_state_order),
        cmocka_unit_test(test_dataset_dict),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_offsets_and_buffers),
        cmocka_unit_test(test_bad_schemas),
        cmocka_unit_test(test_nesting_depth),
        cmocka_unit_test(test_bad_framing),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_byte_flips),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    rm_rf(dir);
    free(dir);
    return failed;
}

// Corrupted checkpoints through the real program: `dysco inspect DIR` must exit with status 1
// and print exactly one line "dysco: FILE: FIELD: PROBLEM" (asserted per case), never crash.
// argv[1] is the dysco binary (the sanitizer build in the *_asan run).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cJSON.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <unistd.h>

#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin;

enum { VOCAB = 1000 };

// A valid single-file tiny checkpoint, fresh for every test.
static int setup_qwen3(void **state) {
    char *dir = make_temp_dir("corrupt");
    char *json = preset_json("tiny-qwen3", VOCAB);
    dy_model_config cfg;
    load_preset("tiny-qwen3", &cfg, VOCAB);
    write_checkpoint(dir, json, &cfg, DY_BF16, 1ull << 40, 1);
    free(json);
    *state = dir;
    return 0;
}

// The same model sharded over several files with model.safetensors.index.json.
static int setup_sharded(void **state) {
    char *dir = make_temp_dir("corrupt-sharded");
    char *json = preset_json("tiny-qwen3", VOCAB);
    dy_model_config cfg;
    load_preset("tiny-qwen3", &cfg, VOCAB);
    write_checkpoint(dir, json, &cfg, DY_BF16, 400000, 1);
    free(json);
    *state = dir;
    return 0;
}

static int teardown(void **state) {
    rm_rf(*state);
    free(*state);
    return 0;
}

static void expect_error(const char *dir, const char *expected) {
    cmd_result r = run_cmd("'%s' inspect '%s'", dysco_bin, dir);
    if (r.status != 1 || !strstr(r.err, expected) || count_lines(r.err) != 1 || strncmp(r.err, "dysco: ", 7) != 0)
        fail_msg("expected exit 1 and one line containing\n    %s\n  got exit %d, stderr:\n%s", expected, r.status, r.err);
    cmd_result_free(&r);
}

static void path_in(char *out, const char *dir, const char *name) { snprintf(out, PATH_MAX, "%s/%s", dir, name); }

static void write_raw(const char *path, const void *bytes, size_t n) {
    dy_error err;
    if (dy_write_file(path, bytes, n, &err)) fail_msg("%s", err.msg);
}

// Writes a safetensors file from a header (hl bytes) and a data area.
static void write_st_bytes(const char *path, const char *header, size_t hl, const void *data, size_t data_len) {
    unsigned char *buf = xmalloc(8 + hl + data_len);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (data_len) memcpy(buf + 8 + hl, data, data_len);
    write_raw(path, buf, 8 + hl + data_len);
    free(buf);
}

static void write_st(const char *path, const char *header, const void *data, size_t data_len) {
    write_st_bytes(path, header, strlen(header), data, data_len);
}

// A safetensors file read whole: its header text (not NUL-terminated) and the data area after it.
typedef struct {
    char *bytes;  // the file; free it
    const char *header, *data;
    size_t header_len, data_len;
} st_file;

static st_file read_header(const char *path) {
    st_file f = {0};
    size_t len;
    dy_error err;
    f.bytes = dy_read_file(path, &len, &err);
    if (!f.bytes) fail_msg("%s", err.msg);
    if (len < 8) fail_msg("%s: shorter than the header length", path);
    uint64_t hl = 0;  // little-endian
    for (int i = 7; i >= 0; i--) hl = hl << 8 | (unsigned char)f.bytes[i];
    if (hl > len - 8) fail_msg("%s: header length past the end", path);
    f.header = f.bytes + 8;
    f.header_len = (size_t)hl;
    f.data = f.header + hl;
    f.data_len = len - 8 - (size_t)hl;
    return f;
}

// Parses FILE's header, lets `edit` change it, and writes the file back with the same data area.
static void edit_header(const char *dir, const char *file, void (*edit)(cJSON *root)) {
    char path[PATH_MAX];
    path_in(path, dir, file);
    st_file f = read_header(path);
    cJSON *root = cJSON_ParseWithLength(f.header, f.header_len);
    assert_non_null(root);
    edit(root);
    char *header = cJSON_PrintUnformatted(root);
    write_st(path, header, f.data, f.data_len);
    free(header);
    cJSON_Delete(root);
    free(f.bytes);
}

// Replaces the first `from` in FILE's header text by `to` (bytes cJSON would not write: raw NULs,
// invalid UTF-8, a key twice, text after the JSON) and writes the file back with the same data.
static void replace_in_header(const char *dir, const char *file, const char *from, const void *to, size_t to_len) {
    char path[PATH_MAX];
    path_in(path, dir, file);
    st_file f = read_header(path);
    const size_t from_len = strlen(from);
    const char *at = NULL;
    for (size_t i = 0; !at && i + from_len <= f.header_len; i++)
        if (memcmp(f.header + i, from, from_len) == 0) at = f.header + i;
    if (!at) fail_msg("%s: header has no %s", path, from);
    const size_t before = (size_t)(at - f.header), after = f.header_len - before - from_len;
    char *header = xmalloc(before + to_len + after);
    memcpy(header, f.header, before);
    memcpy(header + before, to, to_len);
    memcpy(header + before + to_len, at + from_len, after);
    write_st_bytes(path, header, before + to_len + after, f.data, f.data_len);
    free(header);
    free(f.bytes);
}

static cJSON *entry(cJSON *root, const char *name) {
    cJSON *e = cJSON_GetObjectItemCaseSensitive(root, name);
    assert_non_null(e);
    return e;
}

static void set_offsets(cJSON *e, double begin, double end) {
    cJSON *o = cJSON_CreateArray();
    cJSON_AddItemToArray(o, cJSON_CreateNumber(begin));
    cJSON_AddItemToArray(o, cJSON_CreateNumber(end));
    cJSON_ReplaceItemInObjectCaseSensitive(e, "data_offsets", o);
}

static double offset(cJSON *e, int which) { return cJSON_GetArrayItem(cJSON_GetObjectItem(e, "data_offsets"), which)->valuedouble; }

// ---- header-level damage -------------------------------------------------------------------

static void test_empty_file(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    write_raw(p, "", 0);
    expect_error(*state, "model.safetensors: header: file is 0 bytes, too short for the 8-byte header length");
}

static void test_truncated_header_length(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    write_raw(p, "\x10\x00\x00", 3);
    expect_error(*state, "model.safetensors: header: file is 3 bytes, too short");
}

static void test_header_length_beyond_file(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    write_raw(p, "\x00\xca\x9a\x3b\x00\x00\x00\x00{}", 10);  // claims 1e9 header bytes
    expect_error(*state, "model.safetensors: header: length 1000000000 runs past the end of the file (10 bytes)");
}

static void test_header_not_json(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    write_st(p, "{\"model.norm.weight\": {\"dtype\": \"BF16\",", "\0\0\0\0", 4);
    expect_error(*state, "model.safetensors: header: not valid JSON");
}

static void test_header_not_object(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    write_st(p, "[1, 2, 3]", NULL, 0);
    expect_error(*state, "model.safetensors: header: not a JSON object");
}

static void test_header_truncated_mid_json(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    size_t len;
    dy_error err;
    char *bytes = dy_read_file(p, &len, &err);
    write_raw(p, bytes, 200);  // the 8-byte length survives, the header is cut short
    free(bytes);
    expect_error(*state, "model.safetensors: header: length");
}

static void test_header_nul_in_name(void **state) {  // cJSON read the name as "model.norm.weight"
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    const char header[] = "{\"model.norm.weight\0x\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}";
    const size_t header_len = sizeof header - 1;  // under 256: the length's first byte alone
    unsigned char file[8 + sizeof header - 1 + 2] = {(unsigned char)header_len};  // length, header, 2 data bytes
    memcpy(file + 8, header, header_len);
    write_raw(p, file, sizeof file);
    expect_error(*state, "model.safetensors: header: not valid JSON: a NUL byte at byte 19");
}

static void test_header_without_tensors(void **state) {  // once undefined behaviour (qsort of no tensors)
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    write_st(p, "{}", NULL, 0);
    expect_error(*state, "model.safetensors: tensor model.embed_tokens.weight: missing");
}

// Header text that cJSON would not write, each once loaded with exit 0: bytes after the JSON
// (inside the declared length; only the format's padding spaces may follow), a tensor named twice,
// a NUL inside a name or dtype ("\u0000junk" read as the end of the string), a name that is not
// UTF-8, and a __metadata__ that is not an object of strings.
static void test_header_text(void **state) {
#define CASE(from, to, expected) {from, to, sizeof(to) - 1, expected}
    const struct {
        const char *from, *to;
        size_t to_len;
        const char *expected;
    } cases[] = {
        CASE("]}}", "]}} junk", "header: not valid JSON: bytes after the JSON value (from byte"),
        CASE("{\"__metadata__\"", "{\"model.norm.weight\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[0,0]},\"__metadata__\"",
             "header: not valid JSON: key \"model.norm.weight\" appears twice in one object"),
        CASE("\"model.norm.weight\"", "\"model.norm.weight\\u0000junk\"",
             "header: not valid JSON: the escape \\u0000 at byte "),
        CASE("\"BF16\"", "\"BF16\\u0000x\"", "header: not valid JSON: the escape \\u0000 at byte "),
        CASE("\"model.norm.weight\"", "\"model.norm.weight\x01junk\"",
             "header: not valid JSON: a raw control character (byte 0x01) in a string at byte "),
        CASE("\"model.norm.weight\"", "\"model.norm.weight\xff\"", "header: not valid JSON: invalid UTF-8 at byte "),
        CASE("\"__metadata__\":{\"format\":\"pt\"}", "\"__metadata__\":[\"pt\"]", "header: __metadata__: expected an object of strings"),
        CASE("\"__metadata__\":{\"format\":\"pt\"}", "\"__metadata__\":5", "header: __metadata__: expected an object of strings"),
        CASE("\"format\":\"pt\"", "\"format\":1", "header: __metadata__: format: expected a string"),
    };
#undef CASE
    char p[PATH_MAX], expected[256];
    path_in(p, *state, "model.safetensors");
    size_t len;
    dy_error err;
    char *original = dy_read_file(p, &len, &err);
    assert_non_null(original);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_raw(p, original, len);
        replace_in_header(*state, "model.safetensors", cases[i].from, cases[i].to, cases[i].to_len);
        snprintf(expected, sizeof expected, "model.safetensors: %s", cases[i].expected);
        expect_error(*state, expected);
    }
    free(original);
}

// ---- tensor-entry damage -------------------------------------------------------------------

static void unknown_dtype(cJSON *root) {
    cJSON_ReplaceItemInObjectCaseSensitive(entry(root, "model.norm.weight"), "dtype", cJSON_CreateString("Q4_K"));
}
static void test_unknown_dtype(void **state) {
    edit_header(*state, "model.safetensors", unknown_dtype);
    expect_error(*state, "model.safetensors: tensor model.norm.weight: dtype Q4_K is not supported (BF16, F16, F32)");
}

static void unsupported_dtype(cJSON *root) {
    // I64 is a real safetensors dtype, but not a weight type: 8 bytes x 64 elements = the same bytes as 256 bf16
    cJSON_ReplaceItemInObjectCaseSensitive(entry(root, "model.norm.weight"), "dtype", cJSON_CreateString("I64"));
}
static void test_integer_dtype(void **state) {
    edit_header(*state, "model.safetensors", unsupported_dtype);
    expect_error(*state, "tensor model.norm.weight: dtype I64 is not supported");
}

static void missing_dtype(cJSON *root) { cJSON_DeleteItemFromObjectCaseSensitive(entry(root, "model.norm.weight"), "dtype"); }
static void test_missing_dtype(void **state) {
    edit_header(*state, "model.safetensors", missing_dtype);
    expect_error(*state, "model.safetensors: tensor model.norm.weight: dtype missing");
}

static void entry_not_object(cJSON *root) { cJSON_ReplaceItemInObjectCaseSensitive(root, "model.norm.weight", cJSON_CreateNumber(3)); }
static void test_entry_not_object(void **state) {
    edit_header(*state, "model.safetensors", entry_not_object);
    expect_error(*state, "model.safetensors: tensor model.norm.weight: header entry is not an object");
}

static void negative_dim(cJSON *root) {
    cJSON *shape = cJSON_CreateArray();
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(-128));
    cJSON_ReplaceItemInObjectCaseSensitive(entry(root, "model.norm.weight"), "shape", shape);
}
static void test_negative_shape(void **state) {
    edit_header(*state, "model.safetensors", negative_dim);
    expect_error(*state, "tensor model.norm.weight: shape is not a list of at most 4 non-negative integers");
}

static void shape_bytes_mismatch(cJSON *root) {
    cJSON *shape = cJSON_CreateArray();
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(129));
    cJSON_ReplaceItemInObjectCaseSensitive(entry(root, "model.norm.weight"), "shape", shape);
}
static void test_shape_byte_mismatch(void **state) {
    edit_header(*state, "model.safetensors", shape_bytes_mismatch);
    expect_error(*state, "tensor model.norm.weight: shape needs 258 bytes of BF16 but data_offsets span 256");
}

static void offsets_reversed(cJSON *root) {
    cJSON *e = entry(root, "model.norm.weight");
    set_offsets(e, offset(e, 1), offset(e, 0));
}
static void test_offsets_reversed(void **state) {
    edit_header(*state, "model.safetensors", offsets_reversed);
    expect_error(*state, "tensor model.norm.weight: data_offsets is not [begin, end] with begin <= end");
}

static void offsets_three(cJSON *root) {
    cJSON_AddItemToArray(cJSON_GetObjectItem(entry(root, "model.norm.weight"), "data_offsets"), cJSON_CreateNumber(0));
}
static void test_offsets_wrong_arity(void **state) {
    edit_header(*state, "model.safetensors", offsets_three);
    expect_error(*state, "tensor model.norm.weight: data_offsets is not [begin, end]");
}

static void overlapping(cJSON *root) {
    // k_proj and v_proj have the same size: point v_proj at k_proj's bytes shifted by 2
    cJSON *k = entry(root, "model.layers.0.self_attn.k_proj.weight"), *v = entry(root, "model.layers.0.self_attn.v_proj.weight");
    set_offsets(v, offset(k, 0) + 2, offset(k, 1) + 2);
}
static void test_overlapping_ranges(void **state) {
    edit_header(*state, "model.safetensors", overlapping);
    expect_error(*state, "data_offsets overlap those of tensor model.layers.0.self_attn.");
}

static void test_truncated_data(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    assert_int_equal(truncate(p, 300000), 0);  // header intact, most tensor bytes gone
    expect_error(*state, "run past the data area");
    expect_error(*state, "truncated file?");
}

// ---- architecture-level damage ----------------------------------------------------------------

static void drop_k_norm(cJSON *root) { cJSON_DeleteItemFromObjectCaseSensitive(root, "model.layers.2.self_attn.k_norm.weight"); }
static void test_missing_qk_norm(void **state) {
    edit_header(*state, "model.safetensors", drop_k_norm);
    expect_error(*state, "model.safetensors: tensor model.layers.2.self_attn.k_norm.weight: missing (config.json describes a qwen3 model that needs it)");
}

static void drop_lm_head(cJSON *root) { cJSON_DeleteItemFromObjectCaseSensitive(root, "lm_head.weight"); }
static void test_missing_lm_head_untied(void **state) {
    edit_header(*state, "model.safetensors", drop_lm_head);
    expect_error(*state, "tensor lm_head.weight: missing");
}

static void transpose_gate(cJSON *root) {
    // (256, 128) stored transposed: the bytes agree, the architecture does not
    cJSON *shape = cJSON_CreateArray();
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(128));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(256));
    cJSON_ReplaceItemInObjectCaseSensitive(entry(root, "model.layers.1.mlp.gate_proj.weight"), "shape", shape);
}
static void test_wrong_shape(void **state) {
    edit_header(*state, "model.safetensors", transpose_gate);
    expect_error(*state, "tensor model.layers.1.mlp.gate_proj.weight: shape [128, 256], but config.json implies [256, 128]");
}

static void test_no_weights_file(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors");
    assert_int_equal(unlink(p), 0);
    expect_error(*state, ": no model.safetensors or model.safetensors.index.json in this folder");
}

static void test_missing_config(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "config.json");
    assert_int_equal(unlink(p), 0);
    expect_error(*state, "config.json: cannot open");
}

static void test_config_not_json(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "config.json");
    write_raw(p, "{\"model_type\": \"qwen3\",", 23);
    expect_error(*state, "config.json: not valid JSON");
}

static void test_config_unknown_model_type(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "config.json");
    char *json = preset_json("tiny-qwen3", VOCAB);
    char *at = strstr(json, "\"qwen3\"");
    memcpy(at, "\"gpt_2\"", 7);
    write_raw(p, json, strlen(json));
    free(json);
    expect_error(*state, "config.json: model_type: \"gpt_2\" is not supported (qwen3, qwen3_moe, llama)");
}

static void test_config_vocab_disagrees(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "config.json");
    char *json = preset_json("tiny-qwen3", VOCAB + 1);
    write_raw(p, json, strlen(json));
    free(json);
    expect_error(*state, "tensor model.embed_tokens.weight: shape [1000, 128], but config.json implies [1001, 128]");
}

static void drop_expert(cJSON *root) { cJSON_DeleteItemFromObjectCaseSensitive(root, "model.layers.3.mlp.experts.5.up_proj.weight"); }
static void test_moe_expert_missing(void **state) {
    (void)state;
    char *dir = make_temp_dir("corrupt-moe");
    char *json = preset_json("tiny-qwen3-moe", VOCAB);
    dy_model_config cfg;
    load_preset("tiny-qwen3-moe", &cfg, VOCAB);
    write_checkpoint(dir, json, &cfg, DY_BF16, 1ull << 40, 1);
    free(json);
    edit_header(dir, "model.safetensors", drop_expert);
    expect_error(dir, "tensor model.layers.3.mlp.experts.5.up_proj.weight: missing (config.json describes a qwen3_moe model");
    rm_rf(dir);
    free(dir);
}

// ---- sharded checkpoints -----------------------------------------------------------------------

// File name of shard k (1-based) of the sharded fixture, whatever the shard count came to.
static void shard_name(const char *dir, int k, char *name) {
    char pattern[PATH_MAX];
    snprintf(pattern, sizeof pattern, "%s/model-%05d-of-*.safetensors", dir, k);
    glob_t g;
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_int_equal(g.gl_pathc, 1);
    snprintf(name, 64, "%s", strrchr(g.gl_pathv[0], '/') + 1);
    globfree(&g);
}

static char first_shard[64];

static void rewrite_index(const char *dir, void (*edit)(cJSON *root)) {
    char p[PATH_MAX];
    path_in(p, dir, "model.safetensors.index.json");
    dy_error err;
    char *text = dy_read_file(p, NULL, &err);
    cJSON *root = cJSON_Parse(text);
    edit(root);
    char *out = cJSON_Print(root);
    write_raw(p, out, strlen(out));
    free(out);
    free(text);
    cJSON_Delete(root);
}

static cJSON *weight_map(cJSON *index) { return cJSON_GetObjectItem(index, "weight_map"); }

static void test_index_not_json(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors.index.json");
    write_raw(p, "{\"weight_map\": {", 16);
    expect_error(*state, "model.safetensors.index.json: not valid JSON");
}

static void test_index_without_weight_map(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors.index.json");
    write_raw(p, "{\"metadata\": {}}", 16);
    expect_error(*state, "model.safetensors.index.json: weight_map: missing or empty");
}

static void point_to_missing_shard(cJSON *root) {
    cJSON_ReplaceItemInObjectCaseSensitive(weight_map(root), "model.norm.weight", cJSON_CreateString("model-00099-of-00099.safetensors"));
}
static void test_index_names_missing_shard(void **state) {
    rewrite_index(*state, point_to_missing_shard);
    expect_error(*state, "model-00099-of-00099.safetensors: cannot open: No such file or directory");
}

static void point_to_wrong_shard(cJSON *root) {
    cJSON_ReplaceItemInObjectCaseSensitive(weight_map(root), "lm_head.weight", cJSON_CreateString(first_shard));
}
static void test_index_names_wrong_shard(void **state) {
    shard_name(*state, 1, first_shard);
    rewrite_index(*state, point_to_wrong_shard);
    char expected[256];
    snprintf(expected, sizeof expected, "model.safetensors.index.json: weight_map: tensor lm_head.weight: not found in %s", first_shard);
    expect_error(*state, expected);
}

static void path_escape(cJSON *root) {
    cJSON_ReplaceItemInObjectCaseSensitive(weight_map(root), "model.norm.weight", cJSON_CreateString("../elsewhere.safetensors"));
}
static void test_index_path_outside_folder(void **state) {
    rewrite_index(*state, path_escape);
    expect_error(*state, "weight_map: tensor model.norm.weight: shard is not a file name in this folder");
}

// Once loaded anyway: the shards' tensors came in whether the index named them or not.
static void forget_norm(cJSON *root) { cJSON_DeleteItemFromObjectCaseSensitive(weight_map(root), "model.norm.weight"); }
static void test_index_omits_tensor(void **state) {
    rewrite_index(*state, forget_norm);
    expect_error(*state, "model.safetensors.index.json: weight_map: tensor model.norm.weight: not named, but model-0000");
}

static void test_nul_in_shard_name(void **state) {
    char p[PATH_MAX];
    path_in(p, *state, "model.safetensors.index.json");
    dy_error err;
    char *text = dy_read_file(p, NULL, &err);
    assert_non_null(text);
    char *shard_end = strstr(strstr(text, "\"model.norm.weight\":"), ".safetensors\"") + strlen(".safetensors");
    char *edited = malloc(strlen(text) + 8);
    sprintf(edited, "%.*s\\u0000x%s", (int)(shard_end - text), text, shard_end);
    write_raw(p, edited, strlen(edited));
    free(edited);
    free(text);
    expect_error(*state, "model.safetensors.index.json: not valid JSON: the escape \\u0000 at byte");
}

// total_size -5 was accepted; a whole, non-negative byte count or nothing is (not compared with
// the tensors' bytes: see check_index_metadata).
static void total_size_negative(cJSON *root) {
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "metadata"), "total_size", cJSON_CreateNumber(-5));
}
static void total_size_fraction(cJSON *root) {
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "metadata"), "total_size", cJSON_CreateNumber(1.5));
}
static void total_size_text(cJSON *root) {
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(root, "metadata"), "total_size", cJSON_CreateString("5"));
}
static void metadata_list(cJSON *root) { cJSON_ReplaceItemInObject(root, "metadata", cJSON_CreateArray()); }
static void test_index_metadata(void **state) {
    void (*const edits[])(cJSON *) = {total_size_negative, total_size_fraction, total_size_text};
    for (int i = 0; i < 3; i++) {
        rewrite_index(*state, edits[i]);
        expect_error(*state, "model.safetensors.index.json: metadata.total_size: expected a whole number of bytes >= 0");
    }
    rewrite_index(*state, metadata_list);
    expect_error(*state, "model.safetensors.index.json: metadata: expected an object");
}

static void test_tensor_in_two_shards(void **state) {
    // Copy shard 1 over shard 2's name: its tensors are now stored twice (once per file).
    char a[PATH_MAX], b[PATH_MAX], na[64], nb[64];
    shard_name(*state, 1, na);
    shard_name(*state, 2, nb);
    path_in(a, *state, na);
    path_in(b, *state, nb);
    size_t len;
    dy_error err;
    char *bytes = dy_read_file(a, &len, &err);
    assert_non_null(bytes);
    write_raw(b, bytes, len);
    free(bytes);
    expect_error(*state, ": stored twice (");
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO", &dysco_bin, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_file, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_header_length, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_header_length_beyond_file, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_header_not_json, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_header_not_object, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_header_truncated_mid_json, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_header_nul_in_name, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_header_without_tensors, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_header_text, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_dtype, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_integer_dtype, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_missing_dtype, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_entry_not_object, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_negative_shape, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_shape_byte_mismatch, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_reversed, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_offsets_wrong_arity, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_overlapping_ranges, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_data, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_missing_qk_norm, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_missing_lm_head_untied, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_shape, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_no_weights_file, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_missing_config, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_config_not_json, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_config_unknown_model_type, setup_qwen3, teardown),
        cmocka_unit_test_setup_teardown(test_config_vocab_disagrees, setup_qwen3, teardown),
        cmocka_unit_test(test_moe_expert_missing),
        cmocka_unit_test_setup_teardown(test_index_not_json, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_index_without_weight_map, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_index_names_missing_shard, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_index_names_wrong_shard, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_index_path_outside_folder, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_tensor_in_two_shards, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_index_omits_tensor, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_nul_in_shard_name, setup_sharded, teardown),
        cmocka_unit_test_setup_teardown(test_index_metadata, setup_sharded, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

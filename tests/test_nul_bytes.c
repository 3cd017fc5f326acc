// A NUL byte in the middle of each kind of text file the program reads, through the real
// program: exit status 1 and exactly one line naming the file and the NUL's byte (for JSONL the
// line, and the byte in it). Each file once ended at the NUL without a word, its readers taking
// the text as a C string (strlen), so the rest was silently dropped or a cut-short file misread.
// Every command first runs on the intact files and must succeed, so only the NUL fails it.
// argv: PATH_TO_DYSCO TOKENIZER_DIR.
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

#include "runtime/util/file_util.h"
#include "test_util.h"

static const char *dysco_bin, *toks;
static char *dir;  // m: tiny model with the real Qwen3 tokenizer; sharded: a sharded checkpoint; inputs

// dir/name into path (PATH_MAX bytes), which it returns.
static const char *in_dir(const char *name, char *path) {
    snprintf(path, PATH_MAX, "%s/%s", dir, name);
    return path;
}

static void write_text(const char *name, const char *text) {
    char path[PATH_MAX];
    dy_error err;
    if (dy_write_file(in_dir(name, path), text, strlen(text), &err)) setup_die(err.msg);
}

// The Qwen3 chat template from tokenizer_config.json, as transformers >= 4.47 saves it beside the
// file (chat_template.jinja, read in preference to the inline key).
static void write_template_sidecar(void) {
    char path[PATH_MAX];
    dy_error err;
    char *json = dy_read_file(in_dir("m/tokenizer_config.json", path), NULL, &err);
    if (!json) setup_die(err.msg);
    cJSON *root = cJSON_Parse(json);
    const cJSON *tmpl = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    if (!cJSON_IsString(tmpl)) setup_die("tokenizer_config.json: no chat_template string");
    write_text("m/chat_template.jinja", tmpl->valuestring);
    cJSON_Delete(root);
    free(json);
}

static int group_setup(void **state) {
    (void)state;
    dir = make_temp_dir("nul-bytes");
    cmd_result r = run_cmd("'%s' make-model '%s/m' --preset tiny-qwen3 --layers 2 --tokenizer '%s/qwen3' && "
                           "'%s' make-model '%s/sharded' --preset tiny-qwen3 --layers 1 --hidden 16 --heads 2 "
                           "--kv-heads 1 --head-dim 8 --intermediate 16 --vocab 32 --shard-size 1500",
                           dysco_bin, dir, toks, dysco_bin, dir);
    if (r.status != 0) setup_die(r.err);
    cmd_result_free(&r);
    write_template_sidecar();
    write_text("m/generation_config.json", "{\"bos_token_id\": 151643, \"eos_token_id\": [151645, 151643]}\n");
    write_text("ids.json", "{\"input_ids\": [9707, 11, 1879, 0, 374, 264, 1273, 13, 9707, 11, 1879, 0]}\n");
    write_text("continuation.json", "[1879, 0, 374]\n");
    write_text("decode.json", "[9707, 11, 1879, 0, 374, 264, 1273, 13]\n");
    write_text("prompt.txt", "Where does the route end? Follow each step from A to the last stop.\n");
    write_text("dysco.yaml", "selected_heads: \"[(1,0),(0,1)]\"\ntop_k: 4\nstrength: 2.0\ndecay_factor: 0.75\n"
                             "context_warmup_steps: 2\nintervention_warmup: 2\n");
    write_text("batch.jsonl", "{\"text\": \"hello there\"}\n{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n");
    write_text("eval.jsonl", "{\"output\": \"no\", \"example\": {\"item\": {\"answer\": [\"yes\"]}}}\n"
                             "{\"output\": \"yes\", \"example\": {\"item\": {\"answer\": [\"yes\"]}}}\n");
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    rm_rf(dir);
    free(dir);
    return 0;
}

enum kind { JSON, TEXT, YAML, JSONL };

typedef struct {
    const char *file;     // in dir
    const char *command;  // dysco's arguments; each @ is dir
    enum kind kind;
} nul_case;

static const nul_case CASES[] = {
    {"m/config.json", "inspect '@/m'", JSON},
    {"sharded/model.safetensors.index.json", "inspect '@/sharded'", JSON},
    {"m/tokenizer.json", "tokenize --model '@/m' --text hi", JSON},
    {"m/tokenizer_config.json", "tokenize --model '@/m' --text hi --chat", JSON},
    {"m/chat_template.jinja", "tokenize --model '@/m' --text hi --chat", TEXT},
    {"m/generation_config.json", "generate --model '@/m' --input-ids '@/ids.json' --method vanilla --max-new-tokens 1",
     JSON},
    {"ids.json", "generate --model '@/m' --input-ids '@/ids.json' --method vanilla --max-new-tokens 1", JSON},
    {"continuation.json",
     "score --model '@/m' --input-ids '@/ids.json' --continuation-ids '@/continuation.json' --method vanilla", JSON},
    {"prompt.txt", "generate --model '@/m' --prompt-file '@/prompt.txt' --method vanilla --max-new-tokens 1", TEXT},
    {"prompt.txt", "tokenize --model '@/m' --file '@/prompt.txt'", TEXT},
    {"decode.json", "tokenize --model '@/m' --decode --file '@/decode.json'", TEXT},
    {"dysco.yaml",
     "generate --model '@/m' --input-ids '@/ids.json' --method dysco --dysco-config '@/dysco.yaml' --max-new-tokens 1",
     YAML},
    {"batch.jsonl", "tokenize --model '@/m' --batch '@/batch.jsonl'", JSONL},
    {"eval.jsonl", "eval score --dataset hotpot_nocot_8k --input '@/eval.jsonl'", JSONL},
};

// Runs dysco with the case's arguments.
static cmd_result run_case(const nul_case *c) {
    char args[4 * PATH_MAX];
    size_t n = 0;
    for (const char *p = c->command; *p && n + PATH_MAX < sizeof args; p++) {
        if (*p == '@')
            n += (size_t)snprintf(args + n, sizeof args - n, "%s", dir);
        else
            args[n++] = *p;
    }
    args[n] = '\0';
    return run_cmd("'%s' %s", dysco_bin, args);
}

// The one line the program must print for a NUL inserted at byte `at` of text (len bytes).
static void expected_line(const nul_case *c, const char *path, const char *text, size_t at, char *out, size_t n) {
    if (c->kind == JSONL) {  // the line holding the NUL, and its byte in that line
        int line = 1;
        size_t start = 0;
        for (size_t i = 0; i < at; i++)
            if (text[i] == '\n') line++, start = i + 1;
        snprintf(out, n, "dysco: %s:%d: not valid JSON: a NUL byte at byte %zu\n", path, line, at - start);
        return;
    }
    const char *what = c->kind == JSON ? "not valid JSON" : c->kind == YAML ? "not valid YAML" : "not text";
    snprintf(out, n, "dysco: %s: %s: a NUL byte at byte %zu\n", path, what, at);
}

// Every case runs, and each one that fails says so, before the test fails.
static void test_nul_in_each_file(void **state) {
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        const nul_case *c = &CASES[i];
        cmd_result r = run_case(c);
        if (r.status != 0) fail_msg("%s with the intact files: exit %d\n%s", c->command, r.status, r.err);
        cmd_result_free(&r);

        char path[PATH_MAX], want[PATH_MAX + 128];
        size_t len;
        dy_error err;
        char *original = dy_read_file(in_dir(c->file, path), &len, &err);
        if (!original) fail_msg("%s", err.msg);
        const size_t at = len / 2;
        char *with_nul = xmalloc(len + 1);
        memcpy(with_nul, original, at);
        with_nul[at] = '\0';
        memcpy(with_nul + at + 1, original + at, len - at);
        assert_int_equal(dy_write_file(path, with_nul, len + 1, &err), 0);
        expected_line(c, path, with_nul, at, want, sizeof want);

        r = run_case(c);
        assert_int_equal(dy_write_file(path, original, len, &err), 0);  // intact again for the next case
        if (r.status != 1 || strcmp(r.err, want) != 0) {
            print_error("%s with a NUL at byte %zu of %s\n  expected exit 1 and %s  got exit %d and %s\n", c->command,
                        at, c->file, want, r.status, r.err);
            failed++;
        }
        cmd_result_free(&r);
        free(with_nul);
        free(original);
    }
    if (failed) fail_msg("%d of %zu files with a NUL byte were not refused as expected", failed, sizeof CASES / sizeof *CASES);
}

int main(int argc, char **argv) {
    test_args(argc, argv, "PATH_TO_DYSCO TOKENIZER_DIR", &dysco_bin, &toks, NULL);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_nul_in_each_file)};
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

#include "eval_dataset.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "py_text.h"
#include "scorers.h"

const char dy_eval_dataset_names[] =
    "path_walking_{4k,8k,16k,32k}, hotpot_nocot_{8k,16k,32k,64k,128k}, hotpot_cot_{8k,...,128k}, "
    "infbench_qa_eng_{8k,...,128k}, infbench_choice_eng_{8k,...,128k}, longbenchv2_[cot_|original_cot_]{N}k, "
    "longbenchv2_128k_sp1, longbenchv2_128k_sp2, mrcr_{2,4,8}needle_{8k,16k,32k,64k,128k,256k}, clipper, "
    "clipper_sp1, clipper_sp2";

static bool one_of(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

// name is prefix followed by one of lengths.
static bool prefixed_length(const char *name, const char *prefix, const char *const *lengths) {
    const size_t k = strlen(prefix);
    return strncmp(name, prefix, k) == 0 && one_of(name + k, lengths);
}

// "{N}k": digits then k.
static bool is_length(const char *s) {
    size_t i = 0;
    while (isdigit((unsigned char)s[i])) i++;
    return i > 0 && s[i] == 'k' && s[i + 1] == '\0';
}

int dy_eval_dataset_family(const char *name, dy_eval_family *family, dy_error *err) {
    static const char *const helmet_lengths[] = {"8k", "16k", "32k", "64k", "128k", NULL};
    static const char *const path_lengths[] = {"4k", "8k", "16k", "32k", NULL};
    static const char *const mrcr_lengths[] = {"8k", "16k", "32k", "64k", "128k", "256k", NULL};
    static const char *const clipper[] = {"clipper", "clipper_sp1", "clipper_sp2", NULL};
    // HELMET's loader first drops "_nonchat_" (the reference's way to tell apart runs without a
    // chat template): str.replace("_nonchat_", "_"), left to right, without overlaps.
    char helmet[128] = "";
    if ((strncmp(name, "hotpot", 6) == 0 || strncmp(name, "infbench", 8) == 0) && strlen(name) < sizeof helmet) {
        size_t k = 0;
        for (const char *p = name; *p;)
            if (strncmp(p, "_nonchat_", 9) == 0) {
                helmet[k++] = '_';
                p += 9;
            } else {
                helmet[k++] = *p++;
            }
        helmet[k] = '\0';
    }
    const char *lbv2 = strncmp(name, "longbenchv2_", 12) == 0 ? name + 12 : NULL;
    if (lbv2 && strncmp(lbv2, "original_cot_", 13) == 0)
        lbv2 += 13;
    else if (lbv2 && strncmp(lbv2, "cot_", 4) == 0)
        lbv2 += 4;
    if (prefixed_length(name, "path_walking_", path_lengths))
        *family = DY_EVAL_PATH_WALKING;
    else if (prefixed_length(helmet, "hotpot_nocot_", helmet_lengths) || prefixed_length(helmet, "hotpot_cot_", helmet_lengths))
        *family = DY_EVAL_HOTPOT;
    else if (prefixed_length(helmet, "infbench_qa_eng_", helmet_lengths))
        *family = DY_EVAL_INFBENCH_QA;
    else if (prefixed_length(helmet, "infbench_choice_eng_", helmet_lengths))
        *family = DY_EVAL_INFBENCH_CHOICE;
    else if (lbv2 && (is_length(lbv2) || strcmp(name, "longbenchv2_128k_sp1") == 0 || strcmp(name, "longbenchv2_128k_sp2") == 0))
        *family = DY_EVAL_LONGBENCH_V2;
    else if (prefixed_length(name, "mrcr_2needle_", mrcr_lengths) || prefixed_length(name, "mrcr_4needle_", mrcr_lengths) ||
             prefixed_length(name, "mrcr_8needle_", mrcr_lengths))
        *family = DY_EVAL_MRCR;
    else if (one_of(name, clipper))
        *family = DY_EVAL_CLIPPER;
    else
        return dy_fail(err, "--dataset: unknown dataset '%s' (the reference's are %s)", name, dy_eval_dataset_names);
    return 0;
}

int dy_eval_score(dy_eval_family family, const char *output, size_t len, const cJSON *example, dy_metrics *m,
                  dy_error *err) {
    dy_ustr text = {0};
    if (dy_ustr_from_utf8(output, len, "output", &text, err)) return -1;
    *m = (dy_metrics){0};
    int rc = -1;
    switch (family) {
    case DY_EVAL_PATH_WALKING: rc = dy_score_path_walking(&text, example, m, err); break;
    case DY_EVAL_HOTPOT: rc = dy_score_helmet_qa(&text, example, false, m, err); break;
    case DY_EVAL_INFBENCH_QA: rc = dy_score_helmet_qa(&text, example, true, m, err); break;
    case DY_EVAL_INFBENCH_CHOICE: rc = dy_score_infbench_choice(&text, example, m, err); break;
    case DY_EVAL_LONGBENCH_V2: rc = dy_score_longbench_v2(&text, example, m, err); break;
    case DY_EVAL_MRCR: rc = dy_score_mrcr(&text, example, m, err); break;
    case DY_EVAL_CLIPPER: rc = dy_score_clipper(&text, example, m, err); break;
    }
    dy_ustr_free(&text);
    return rc;
}

int dy_eval_average(dy_eval_family family, const dy_metrics *per_example, int n, dy_metrics *avg, dy_error *err) {
    if (n < 1) return dy_fail(err, "no examples to average");
    *avg = (dy_metrics){0};
    for (int k = 0; k < per_example[0].n; k++) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += dy_metrics_get(&per_example[i], per_example[0].name[k])->value;
        dy_metrics_set(avg, per_example[0].name[k], dy_metric_float(sum / n));
    }
    double paired;  // CLIPPER's accuracy (its first metric) counts pairs instead
    if (family == DY_EVAL_CLIPPER && dy_clipper_paired_accuracy(per_example, n, &paired, err)) return -1;
    if (family == DY_EVAL_CLIPPER) dy_metrics_set(avg, "accuracy", dy_metric_float(paired));
    return 0;
}

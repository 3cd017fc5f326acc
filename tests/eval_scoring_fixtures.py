#!/usr/bin/env python3
"""Writes tests/fixtures/eval_scoring.json: (output, example, expected metrics) cases that the
reference's own scoring code scores, for test_eval_scoring to hold runtime/eval to.

usage: tests/eval_scoring_fixtures.py [--out tests/fixtures/eval_scoring.json]
       tests/eval_scoring_fixtures.py --snowball-check WORDLIST
           counts the distinct tokens longer than 3 letters of WORDLIST (README: Debian's
           wamerican-large, /usr/share/dict/american-english-large) that nltk's PorterStemmer
           and Snowball's "porter" (python3-snowballstemmer, the Snowball release of Debian's
           libstemmer) stem differently, with the first few; writes no fixture

Run with Debian's python3 and python3-nltk (nltk's PorterStemmer is what rouge_score stems with);
the rest is the standard library (difflib, re, string, unicodedata). Deterministic: the same
Python and nltk write the same file.

What the expected values come from:
  - The reference's eval functions, transcribed below from princeton-pli/DySCO at commit
    1f4e3a65e8da4ae16fc61927ba053324c4bb88bf ("starting pack"), which import what they use
    from helmet_utils and call difflib, re, string and unicodedata directly:
      eval_datasets/longproc/longproc_data.py      _extract_with_tag, eval_path_traversal
      eval_datasets/helmet/helmet_utils.py         parse_output, normalize_answer, f1_score,
                                                   drqa_exact_match_score,
                                                   substring_exact_match_score,
                                                   drqa_metric_max_over_ground_truths,
                                                   calculate_metrics
      eval_datasets/helmet/helmet_data.py          qa_post_process, choice_post_process
                                                   (inside load_infbench)
      eval_datasets/longbenchv2/longbenchv2_data.py  _extract_answer, _eval_longbenchv2
      eval_datasets/mrcr/mrcr_data.py              _eval_mrcr (difflib.SequenceMatcher itself)
      eval_datasets/clipper/clipper_utils.py       parse_clipper_answer, evaluate_clipper_single
      eval_datasets/clipper/clipper_data.py        post_process
      run_eval.py                                  avg_metrics (CLIPPER's paired accuracy)
  - rouge_score is not packaged for Debian and the registry that has it is not reachable here,
    so its RougeScorer(['rougeL', 'rougeLsum'], use_stemmer=True).score is transcribed from
    google-research/google-research rouge/ (rouge_scorer.py at 61ce9f0ca760, tokenize.py and
    scoring.py's fmeasure at 0c1bbe5fc971, tokenizers.py at 30adf0ec5f35), with nltk's own
    PorterStemmer (python3-nltk 3.8; nltk/stem/porter.py is unchanged from 3.8 to nltk's HEAD).
  - run_eval.py averages with np.mean; numpy is not needed here, so the means are sum / len
    (within 1e-15 of np.mean for these sizes; the test's tolerance is 1e-9).

Every character in the cases is assigned in Unicode 14.0 (Python 3.11's tables), so utf8proc's
15.0 tables give the same properties.

Fixture layout (compact UTF-8 JSON):
  {"meta": {...},
   "porter": [[word, nltk's PorterStemmer().stem(word)], ...],
   "families": [{"family", "dataset", "cases": [{"output", "example",
                                                  "expected": [[key, type, value], ...]}],
                 "avg_metrics": [[key, type, value], ...]}, ...]}
  where type is the Python type of the value: "b" bool, "i" int, "f" float (json.dumps writes
  true, 0 and 0.0 for them).
"""

import argparse
import difflib
import json
import random
import re
import string
import sys
import unicodedata
from collections import Counter

import nltk
from nltk.stem import porter

DYSCO_COMMIT = "1f4e3a65e8da4ae16fc61927ba053324c4bb88bf"

# ---- LongProc path_walking (longproc_data.py) -------------------------------------------------


def _extract_with_tag(response, tag):
    start = response.find(f"<{tag}>")
    end = response.find(f"</{tag}>")
    if start == -1 or end == -1:
        return None
    return response[start + len(tag) + 2:end].strip()


def eval_path_traversal(prediction, example):
    gt = example["reference_output"]
    parsed_pred = _extract_with_tag(prediction, "Route")
    if parsed_pred is None:
        return {"accuracy": .0, "partial_accuracy": .0, "extraction_rate": .0}
    gt = gt.strip()
    parsed_pred = parsed_pred.strip()
    if gt == parsed_pred:
        return {"accuracy": 1.0, "partial_accuracy": 1.0, "extraction_rate": 1.0}
    gt_lines = gt.split("\n")
    pred_lines = parsed_pred.split("\n")
    for i, (gl, pl) in enumerate(zip(gt_lines, pred_lines)):
        if gl != pl:
            break
    i += 1
    return {"accuracy": 0.0, "partial_accuracy": i / len(gt_lines), "extraction_rate": 1.0}


# ---- rouge_score (google-research rouge/), transcribed ------------------------------------------

_STEMMER = porter.PorterStemmer()


def _rouge_tokenize(text):
    text = text.lower()
    text = re.sub(r"[^a-z0-9]+", " ", text)
    tokens = re.split(r"\s+", text)
    tokens = [_STEMMER.stem(x) if len(x) > 3 else x for x in tokens]
    return [x for x in tokens if re.match(r"^[a-z0-9]+$", x)]


def _fmeasure(precision, recall):
    if precision + recall > 0:
        return 2 * precision * recall / (precision + recall)
    return 0.0


def _lcs_table(ref, can):
    t = [[0] * (len(can) + 1) for _ in range(len(ref) + 1)]
    for i in range(1, len(ref) + 1):
        for j in range(1, len(can) + 1):
            if ref[i - 1] == can[j - 1]:
                t[i][j] = t[i - 1][j - 1] + 1
            else:
                t[i][j] = max(t[i - 1][j], t[i][j - 1])
    return t


def _backtrack_norec(t, ref, can):
    i, j, lcs = len(ref), len(can), []
    while i > 0 and j > 0:
        if ref[i - 1] == can[j - 1]:
            lcs.insert(0, i - 1)
            i -= 1
            j -= 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return lcs


def _score_lcs(target_tokens, prediction_tokens):
    if not target_tokens or not prediction_tokens:
        return (0, 0, 0)  # Score(precision, recall, fmeasure)
    lcs = _lcs_table(target_tokens, prediction_tokens)[-1][-1]
    precision = lcs / len(prediction_tokens)
    recall = lcs / len(target_tokens)
    return (precision, recall, _fmeasure(precision, recall))


def _summary_level_lcs(ref_sent, can_sent):
    if not ref_sent or not can_sent:
        return (0, 0, 0)
    m = sum(map(len, ref_sent))
    n = sum(map(len, can_sent))
    if not n or not m:
        return (0, 0, 0)
    token_cnts_r, token_cnts_c = Counter(), Counter()
    for s in ref_sent:
        token_cnts_r.update(s)
    for s in can_sent:
        token_cnts_c.update(s)
    hits = 0
    for r in ref_sent:
        lcs_list = [_backtrack_norec(_lcs_table(r, c), r, c) for c in can_sent]
        lcs = [r[i] for i in sorted(list(set().union(*lcs_list)))]
        for t in lcs:
            if token_cnts_c[t] > 0 and token_cnts_r[t] > 0:
                hits += 1
                token_cnts_c[t] -= 1
                token_cnts_r[t] -= 1
    recall = hits / m
    precision = hits / n
    return (precision, recall, _fmeasure(precision, recall))


def rouge_score(target, prediction):
    """RougeScorer(['rougeL', 'rougeLsum'], use_stemmer=True).score(target, prediction)."""
    def get_sents(text):
        return [x for x in text.split("\n") if len(x)]
    return {
        "rougeL": _score_lcs(_rouge_tokenize(target), _rouge_tokenize(prediction)),
        "rougeLsum": _summary_level_lcs([_rouge_tokenize(s) for s in get_sents(target)],
                                        [_rouge_tokenize(s) for s in get_sents(prediction)]),
    }


# ---- HELMET (helmet_utils.py, helmet_data.py) ---------------------------------------------------


def parse_output(output, prefix="Answer:"):
    def lstrip_string(s, sub):
        return re.sub(f'^{re.escape(sub)}', '', s, flags=re.IGNORECASE)
    patterns = [re.compile(f"(?:{prefix})(.*)(?:\n|$)", flags=re.IGNORECASE), re.compile(r"(?:^)(.*)(?:\n|$)")]
    for pat in patterns:
        matches = pat.search(output)
        if matches is not None:
            return lstrip_string(matches[1].strip(), prefix).strip()
    return None


def normalize_answer(s):
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def f1_score(prediction, ground_truth):
    normalized_prediction = normalize_answer(prediction)
    normalized_ground_truth = normalize_answer(ground_truth)
    ZERO_METRIC = (0, 0, 0)
    if normalized_prediction in ['yes', 'no', 'noanswer'] and normalized_prediction != normalized_ground_truth:
        return ZERO_METRIC
    if normalized_ground_truth in ['yes', 'no', 'noanswer'] and normalized_prediction != normalized_ground_truth:
        return ZERO_METRIC
    prediction_tokens = normalized_prediction.split()
    ground_truth_tokens = normalized_ground_truth.split()
    common = Counter(prediction_tokens) & Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return ZERO_METRIC
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1, precision, recall


def drqa_exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def substring_exact_match_score(prediction, ground_truth):
    return normalize_answer(ground_truth) in normalize_answer(prediction)


def _flatten(ground_truths):
    if isinstance(ground_truths, str):
        return [ground_truths]
    if isinstance(ground_truths[0], list):
        return [g for gl in ground_truths for g in gl]
    return ground_truths


def drqa_metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    return max([metric_fn(prediction, g) for g in _flatten(ground_truths)])


def calculate_metrics(prediction, answers, compute_rouge=False):
    em = drqa_metric_max_over_ground_truths(drqa_exact_match_score, prediction, answers)
    f1 = drqa_metric_max_over_ground_truths(lambda x, y: f1_score(x, y)[0], prediction, answers)
    sub_em = drqa_metric_max_over_ground_truths(substring_exact_match_score, prediction, answers)
    answers = _flatten(answers)
    rouge = {}
    if compute_rouge:
        rouges = [rouge_score(target=a, prediction=prediction) for a in answers]
        for k in ["rougeL", "rougeLsum"]:
            rouge[k + "_f1"] = max([r[k][2] for r in rouges])
            rouge[k + "_recall"] = max([r[k][1] for r in rouges])
    return {"exact_match": em, "f1": f1, "substring_exact_match": sub_em, **rouge}


def qa_post_process(output, example, compute_rouge=False):
    answer = example["item"]["answer"]
    mets = calculate_metrics(output, answer, compute_rouge=compute_rouge)
    parsed_pred = parse_output(output)
    if parsed_pred is not None:
        new_mets = calculate_metrics(parsed_pred, answer, compute_rouge=compute_rouge)
        mets = {k: max(v, new_mets[k]) for k, v in mets.items()}
    return mets


def choice_post_process(output, example):
    prediction = output
    answer = example["item"]["answer"]
    mets = calculate_metrics(prediction, answer)
    mets.pop("substring_exact_match")
    parsed_pred = parse_output(prediction)
    if parsed_pred is not None:
        new_mets = calculate_metrics(parsed_pred, answer)
        new_mets.pop("substring_exact_match")
        mets = {k: max(v, new_mets[k]) for k, v in mets.items()}
    mets["substring_exact_match"] = False
    if answer[1].lower() in prediction.lower():
        mets["substring_exact_match"] = True
        mets["exact_match"] = True
    return mets


# ---- LongBench v2 (longbenchv2_data.py) ---------------------------------------------------------


def _extract_answer(response):
    response = response.replace('*', '')
    match = re.search(r'The correct answer is \(([A-D])\)', response)
    if match:
        return match.group(1)
    match = re.search(r'The correct answer is ([A-D])', response)
    return match.group(1) if match else None


def eval_longbenchv2(prediction, example):
    gt = example["item"]["answer"].strip()
    parsed = _extract_answer(prediction)
    if parsed is None:
        return {"accuracy": 0.0, "extraction": 0.0}
    return {"accuracy": 1.0 if gt == parsed else 0.0, "extraction": 1.0}


# ---- MRCR (mrcr_data.py) ------------------------------------------------------------------------


def eval_mrcr(response, example):
    response = response.strip()
    answer = example["reference_output"]
    prefix = example["random_string_to_prepend"]
    if not response.startswith(prefix):
        return {"match_ratio": 0.0}
    response = response.removeprefix(prefix)
    answer = answer.removeprefix(prefix)
    return {"match_ratio": float(difflib.SequenceMatcher(None, response, answer).ratio())}


# ---- CLIPPER (clipper_utils.py, clipper_data.py) -------------------------------------------------


def parse_clipper_answer(output):
    match = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE).findall(output)
    if match:
        return match[0].strip().lower()
    output_lower = output.lower()
    if "true" in output_lower and "false" not in output_lower:
        return "true"
    if "false" in output_lower and "true" not in output_lower:
        return "false"
    return None


def eval_clipper(output, example):
    parsed = parse_clipper_answer(output)
    expected = "true" if example["item"]["label"] else "false"
    return {"accuracy": 1 if parsed == expected else 0, "parsed_successfully": 1 if parsed is not None else 0}


# ---- run_eval.py's avg_metrics --------------------------------------------------------------------


def _mean(xs):
    return sum(float(x) for x in xs) / len(xs)


def avg_metrics(dataset, all_metrics):
    if "clipper" in dataset:
        num_pairs = len(all_metrics) // 2
        paired = sum(1 for i in range(num_pairs)
                     if all_metrics[2 * i]["accuracy"] == 1 and all_metrics[2 * i + 1]["accuracy"] == 1)
        avg = {"accuracy": paired / num_pairs}
        for k in all_metrics[0].keys():
            if k != "accuracy":
                avg[k] = _mean([x[k] for x in all_metrics])
        return avg
    return {k: _mean([x[k] for x in all_metrics]) for k in all_metrics[0].keys()}


# ---- The cases ------------------------------------------------------------------------------------

# Characters the cases mix in: accents, Greek with final sigma, dotted capital I, long s, Kelvin,
# sharp s, a ligature, Roman numerals, circled and superscript digits, combining marks, every
# kind of whitespace Python's str.isspace knows (and U+200B, which it does not), CJK, Arabic,
# Hebrew, emoji (astral), Hangul, a feminine ordinal and squared Latin capitals.
UNICODE_WORDS = ["café", "naïve", "ΟΔΟΣ", "οδος", "ΣΑΣ", "Σ", "İstanbul", "ıi", "anſwer", "\u212aelvin",
                 "straße", "ﬁne", "Ⅻ", "①", "x²", "a\u0301", "the\u0301", "北京", "القاهرة", "שלום",
                 "😀", "👩‍👩‍👧", "한국어", "ª", "🄰🄱", "ǅ", "ΣΑ'Σ", "aΣ\u0301b"]
SPACES = [" ", "\t", "\n", "\r\n", "\u00a0", "\u2028", "\u2029", "\u3000", "\u0085", "\x1c", "\x1f", "\u200b",
          "\u2009", "\u202f", "\x0b", "\x0c"]
WORDS = ("the a an of river city station bridge tower market history king queen garden library music "
         "running generously abbey aced additionally happiness relational conditional hopefulness "
         "sensibility dying skies news innings agreed feed plastered motoring controlling electrical "
         "formalize triplicate operator analogy anthology archaeology fully") .split()


# The scorers read no more of an example than reference_output, random_string_to_prepend,
# item.answer and item.label; the cases keep the rest short.
PROMPT = "(the prompt)"


def pick_space(rng):
    return rng.choice(SPACES)


def sentence(rng, n, unicode_rate=0.1):
    out = []
    for _ in range(n):
        out.append(rng.choice(UNICODE_WORDS) if rng.random() < unicode_rate else rng.choice(WORDS))
    return " ".join(out)


def cities(rng):
    base = ["Oslo", "Lima", "Paris", "Kyoto", "Quito", "Zürich", "São Paulo", "Åre", "Łódź", "北京", "İzmir",
            "Reykjavík", "Ulm", "Dakar", "Perth", "ΣΑΜΟΣ", "Cairo", "Nice"]
    return rng.sample(base, rng.randint(2, 7))


def route_lines(path, rng, modes=("bus", "train", "plane", "ferry")):
    return [f"From {a}, take a {rng.choice(modes)} to {b}." for a, b in zip(path, path[1:])]


def path_walking_cases(rng):
    cases = []
    variants = ["exact", "wrong_hop", "short", "long", "no_open", "no_close", "none", "close_first", "twice",
                "lower_tag", "spaces", "crlf", "empty", "unicode_ws", "gold_ws", "text_around", "swap"]
    for k in range(221):
        path = cities(rng)
        lines = route_lines(path, rng)
        gold = "\n".join(lines)
        v = variants[k % len(variants)]
        pred = list(lines)
        if v == "wrong_hop" and pred:
            j = rng.randrange(len(pred))
            pred[j] = pred[j].replace("take a", "take the")
        elif v == "short":
            pred = pred[:rng.randrange(len(pred) + 1)]
        elif v == "long":
            pred = pred + route_lines([path[-1], "Oslo", "Lima"], rng)
        elif v == "swap" and len(pred) > 1:
            pred[0], pred[1] = pred[1], pred[0]
        body = "\n".join(pred)
        if v == "spaces":
            body = "  \n" + body.replace("\n", " \n") + "\n\n  "
        elif v == "crlf":
            body = body.replace("\n", "\r\n")
        elif v == "empty":
            body = ""
        elif v == "unicode_ws":
            body = pick_space(rng) + body + pick_space(rng) + pick_space(rng)
        out = {
            "no_open": f"Route:\n{body}\n</Route>",
            "no_close": f"<Route>\n{body}\n",
            "none": body,
            "close_first": f"</Route> then <Route>\n{body}",
            "twice": f"<Route>\n{body}\n</Route>\n<Route>\nFrom X, take a bus to Y.\n</Route>",
            "lower_tag": f"<route>\n{body}\n</route>",
            "text_around": f"I will walk the graph.{pick_space(rng)}<Route>{body}</Route> Done. </Route>",
        }.get(v, f"<Route>\n{body}\n</Route>")
        if v == "gold_ws":
            gold = pick_space(rng) + gold + "\n" + pick_space(rng)
        example = {"input_prompt": PROMPT, "reference_output": gold,
                   "item": {"src_city": path[0], "dst_city": path[-1]}}
        cases.append((out, example))
    return cases


def qa_answer_output(rng, gold, k):
    forms = [
        lambda g: f"Answer: {g}",
        lambda g: g,
        lambda g: f"answer:{g}\nBecause the documents say so.",
        lambda g: f"ANSWER: Answer: {g}",
        lambda g: f"Anſwer: {g}",
        lambda g: f"The answer is {g}.",
        lambda g: f"Let me think.\nAnswer: the {g}!",
        lambda g: f"{sentence(rng, 5)}\nAnswer:{pick_space(rng)}{g}{pick_space(rng)}",
        lambda g: "",
        lambda g: pick_space(rng) * 3,
        lambda g: f"Answer: {sentence(rng, rng.randint(1, 6), 0.3)}",
        lambda g: rng.choice(["yes", "no", "Yes.", "No!", "noanswer", "no answer"]),
        lambda g: f"{g.upper()}",
        lambda g: f"{g} {sentence(rng, 3)}",
        lambda g: f"Answer: {g.replace(' ', pick_space(rng))}",
        lambda g: f"answer: a {g}, an {g}",
        lambda g: f"{sentence(rng, 2, 0.5)} answer: {g}\nanswer: wrong",
        lambda g: f"\u212a{g}",
        lambda g: f"Answer:\n{g}",
    ]
    return forms[k % len(forms)](gold)


def qa_golds(rng, k):
    n = rng.randint(1, 3)
    golds = [sentence(rng, rng.randint(1, 4), 0.35) for _ in range(n)]
    if k % 11 == 0:
        golds[0] = rng.choice(["yes", "no", "Yes", "NO"])
    if k % 13 == 0:
        golds[0] = "The " + golds[0] + "."
    shape = k % 7
    if shape == 0:
        return golds[0], golds[0]  # a plain string
    if shape == 1:
        return [golds[:1], golds[1:]] if len(golds) > 1 else [golds], golds[0]  # a list of lists
    return golds, golds[0]


# (gold, prediction) pairs where Python's str.lower() differs from a simple case mapping: the
# dotted capital I (full mapping "i\u0307"), final sigma, and characters cased without a mapping.
CASE_PAIRS = [("İstanbul", "istanbul"), ("İstanbul", "i\u0307stanbul"), ("ΟΔΟΣ", "οδος"), ("ΟΔΟΣ", "οδοσ"),
              ("ΣΑ'Σ", "σα'ς"), ("ΣΑ\u0301Σ x", "σα\u0301ς x"), ("Ⅻ", "ⅻ"), ("STRASSE", "straße"), ("ǅ", "ǆ"),
              ("aΣ", "aς"), ("Σ", "σ"), ("ªΣ", "ªς"), ("🄰Σ", "🄰ς"), ("Ｗｏｒｄ", "ｗｏｒｄ"), ("\u212aelvin", "kelvin")]

# (gold word, prediction word) pairs that nltk's Porter stemmer conflates through its own rules
# (logi -> log, the irregular forms, -alli, -fulli, y -> i after a consonant, the two-letter *o,
# -eed, -ies, -ied) and Snowball's "porter" may not.
STEM_PAIRS = [("archaeology", "archaeological"), ("analogies", "analogy"), ("dying", "die"), ("skies", "sky"),
              ("generously", "generous"), ("hopefulness", "hopeful"), ("relational", "relate"),
              ("controlling", "control"), ("agreed", "agree"), ("aced", "ace"), ("abbeys", "abbey"),
              ("fully", "full"), ("additionally", "addition"), ("conditionally", "condition"),
              ("sensibility", "sensible"), ("triplicate", "triplic"), ("formalize", "formal"),
              ("lying", "lie"), ("innings", "inning"), ("succeeded", "succeed"), ("spied", "spy"),
              ("flies", "fly"), ("enjoyed", "enjoy"), ("geology", "geological"), ("hopefully", "hopeful"),
              ("radically", "radical"), ("news", "new"), ("ties", "tie"), ("agreement", "agree"),
              ("feed", "fed"), ("proceeding", "proceed"), ("trying", "tri"), ("happiness", "happy")]


def hotpot_cases(rng):
    cases = []
    for gold, pred in CASE_PAIRS:
        for out in (f"Answer: {pred}", pred.upper(), f"{pred} and more"):
            cases.append((out, {"input_prompt": PROMPT, "reference_output": gold, "item": {"answer": [gold]}}))
    for k in range(200):
        answer, first = qa_golds(rng, k)
        out = qa_answer_output(rng, rng.choice([first, first, sentence(rng, 2, 0.4)]), k)
        example = {"input_prompt": PROMPT, "reference_output":
                   answer if isinstance(answer, str) else " ".join(map(str, answer)),
                   "item": {"answer": answer}}
        cases.append((out, example))
    return cases


def infbench_qa_cases(rng):
    cases = []
    for gold, pred in STEM_PAIRS + CASE_PAIRS:
        words = sentence(rng, 3)
        cases.append((f"Answer: {words} {pred}", {"input_prompt": PROMPT, "reference_output": str([gold]),
                                                  "item": {"id": -1, "answer": [f"{gold} {words}", gold]}}))
    for k in range(200):
        golds = [sentence(rng, rng.randint(1, 8), 0.15) for _ in range(rng.randint(1, 2))]
        if k % 9 == 0:
            golds[0] = golds[0].replace(" ", "\n", 1)
        if k % 17 == 0:
            golds[0] = "!!! ..."
        base = rng.choice(golds)
        words = base.split()
        r = k % 10
        if r == 0:
            out = f"Answer: {base}"
        elif r == 1:
            rng.shuffle(words)
            out = " ".join(words)
        elif r == 2:
            out = "\n".join([sentence(rng, rng.randint(2, 9), 0.1) for _ in range(rng.randint(2, 5))])
        elif r == 3:
            out = f"{sentence(rng, rng.randint(10, 30), 0.05)}\n\nAnswer: {base}"
        elif r == 4:
            out = ""
        elif r == 5:
            out = base.upper().replace("K", "\u212a").replace("I", "İ")
        elif r == 6:
            out = "\n".join(words) + "\n\n"
        elif r == 7:
            out = f"{base} {base} 1999 and 42"
        elif r == 8:
            out = "?!... " + pick_space(rng)
        else:
            out = sentence(rng, rng.randint(1, 30), 0.2)
        example = {"input_prompt": PROMPT, "reference_output": str(golds),
                   "item": {"id": k, "answer": golds}}
        cases.append((out, example))
    return cases


def infbench_choice_cases(rng):
    cases = []
    for k in range(210):
        options = [sentence(rng, rng.randint(1, 4), 0.2) for _ in range(4)]
        j = rng.randrange(4)
        letter = "ABCD"[j]
        gold = [letter, f"{letter}. {options[j]}"]
        other = "ABCD"[(j + 1) % 4]
        r = k % 12
        out = [
            letter, f"Answer: {letter}", f"{letter}. {options[j]}", f"The answer is {letter}. {options[j].upper()}",
            other, f"Answer: {other}\nActually {letter}", f"answer: {letter.lower()}", "",
            f"{options[j]}", f"({letter})", f"{letter}.{options[j]}", f"Anſwer: {letter}",
        ][r]
        example = {"input_prompt": PROMPT,
                   "reference_output": str(gold),
                   "item": {"id": k, "answer": gold}}
        cases.append((out, example))
    return cases


def longbench_v2_cases(rng):
    cases = []
    for k in range(210):
        gold = rng.choice("ABCD")
        x = rng.choice("ABCD")
        r = k % 16
        out = [
            f"The correct answer is ({x})", f"**The correct answer is ({x})**", f"The correct answer is {x}.",
            f"the correct answer is ({x})", f"The correct answer is (E). The correct answer is {x}",
            f"The correct answer is ({x}", f"The correct answer is (*{x}*)", f"Reasoning...\nThe correct answer is ({x}).",
            "", "I cannot tell.", f"The correct answer is {x.lower()}", f"The correct answer is  ({x})",
            f"The correct answer is ({x}) or The correct answer is (A)", f"The correct answer is {x} not ({gold})",
            f"The correct answer is*({x})*", f"The correct answer is\u00a0({x})",
        ][r]
        answer = gold if k % 5 else f" {gold}\n"
        example = {"input_prompt": PROMPT, "reference_output": f"The correct answer is ({gold})",
                   "item": {"_id": f"id{k}", "answer": answer}}
        cases.append((out, example))
    return cases


def mutate(rng, text, n):
    chars = list(text)
    for _ in range(n):
        op = rng.randrange(3)
        pos = rng.randrange(len(chars) + 1)
        if op == 0 or not chars:
            chars.insert(pos, rng.choice("ab eé\n"))
        elif op == 1 and pos < len(chars):
            del chars[pos]
        elif pos < len(chars):
            chars[pos] = rng.choice("xyz ")
    return "".join(chars)


def mrcr_text(rng, length):
    # A small alphabet repeats characters well past len // 100 + 1 (difflib's autojunk) and makes
    # many equally long blocks (ties); some cases use prose or unicode instead.
    style = rng.randrange(4)
    if style == 0:
        return "".join(rng.choice("ab") for _ in range(length))
    if style == 1:
        return "".join(rng.choice("abcde \n") for _ in range(length))
    if style == 2:
        return sentence(rng, max(1, length // 6), 0.1)[:length]
    return "".join(rng.choice(["x", "y", "é", "😀", "北", " ", "Σ"]) for _ in range(length))


def mrcr_cases(rng):
    cases = []
    for k in range(230):
        prefix = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10))
        length = rng.choice([0, 1, 5, 40, 150, 199, 200, 201, 230, 260, 330, 450])
        body = mrcr_text(rng, length)
        answer = prefix + body if k % 9 else body  # some gold answers lack the prefix
        r = k % 12
        if r == 0:
            out = prefix + body
        elif r == 1:
            out = prefix + mutate(rng, body, rng.randint(1, 12))
        elif r == 2:
            out = pick_space(rng) + prefix + mutate(rng, body, 3) + pick_space(rng)
        elif r == 3:
            out = mutate(rng, body, 2)  # no prefix: 0
        elif r == 4:
            out = prefix
        elif r == 5:
            out = ""
        elif r == 6:
            out = prefix + body[len(body) // 2:] + body[:len(body) // 2]
        elif r == 7:
            out = prefix + mrcr_text(rng, rng.choice([10, 200, 300]))
        elif r == 8:
            out = prefix + body + body
        elif r == 9:
            out = prefix.lower() + body
        elif r == 10:
            out = prefix + "abab" * rng.randint(1, 80)
        else:
            out = prefix + "".join(reversed(body))
        if k % 23 == 0:
            prefix = ""
        example = {"input_prompt": [{"role": "user", "content": "Write a poem about tapirs."}],
                   "reference_output": answer, "random_string_to_prepend": prefix}
        cases.append((out, example))
    return cases


def clipper_cases(rng):
    forms = [
        lambda a: f"<explanation>{sentence(rng, 3)}</explanation>\n<answer>{a.upper()}</answer>",
        lambda a: f"<ANSWER> {a} </ANSWER>",
        lambda a: f"<Answer>{a.capitalize()}</answer>",
        lambda a: f"<anſwer>{a}</anſwer>",
        lambda a: f"<answer>{a}",
        lambda a: f"The statement is {a}.",
        lambda a: "It is true that the premise is false.",
        lambda a: "I cannot decide.",
        lambda a: "<answer></answer>",
        lambda a: f"<answer>{a}.</answer>",
        lambda a: f"<answer>\n{a}\n</answer><answer>maybe</answer>",
        lambda a: f"<answer><answer>{a}</answer></answer>",
        lambda a: f"{a.upper()}",
        lambda a: f"</answer>{a}<answer>",
        lambda a: f"<answer>{pick_space(rng)}{a.upper()}{pick_space(rng)}</answer>",
    ]
    cases = []
    for k in range(110):  # 220 examples: (TRUE, FALSE) pairs, as run_eval.py expects
        for label in (True, False):
            said = rng.choice(["true", "false"]) if rng.random() < 0.4 else ("true" if label else "false")
            out = forms[(k + (0 if label else 7)) % len(forms)](said)
            sample = {"idx": str(k + (0 if label else 1000))}
            example = {"input_prompt": PROMPT,
                       "reference_output": "TRUE" if label else "FALSE", "item": {**sample, "label": label}}
            cases.append((out, example))
    return cases


FAMILIES = [
    ("path_walking", "path_walking_16k", path_walking_cases, eval_path_traversal),
    ("hotpot", "hotpot_nocot_8k", hotpot_cases, qa_post_process),
    ("infbench_qa", "infbench_qa_eng_128k", infbench_qa_cases, lambda o, e: qa_post_process(o, e, compute_rouge=True)),
    ("infbench_choice", "infbench_choice_eng_128k", infbench_choice_cases, choice_post_process),
    ("longbenchv2", "longbenchv2_128k", longbench_v2_cases, eval_longbenchv2),
    ("mrcr", "mrcr_2needle_128k", mrcr_cases, eval_mrcr),
    ("clipper", "clipper", clipper_cases, eval_clipper),
]


def porter_words(rng):
    """Words for nltk's stemmer alone: roots with every suffix its rules name, the irregular forms,
    short and odd words (digits, runs of y)."""
    roots = ["run", "hop", "fil", "troubl", "siz", "conflat", "rat", "ceas", "control", "rol", "feed", "agre",
             "plaster", "bled", "motor", "sing", "happ", "sk", "enjo", "relat", "condit", "valen", "hesit",
             "digit", "conform", "radic", "differ", "vil", "analog", "vietnam", "predic", "oper", "feud", "decis",
             "hope", "call", "form", "sensit", "sensib", "tripl", "electr", "good", "reviv", "allow", "infer",
             "airlin", "gyroscop", "adjust", "defens", "irrit", "replac", "depend", "adopt", "homolog", "commun",
             "activ", "angular", "effect", "bowdler", "probat", "geo", "theo", "archaeo", "a", "e", "y", "yy",
             "by", "oy", "sy", "12", "x9", "ab", "o"]
    suffixes = ["", "s", "es", "ies", "sses", "ss", "ed", "eed", "ied", "ing", "ings", "y", "ly", "ational", "tional",
                "enci", "anci", "izer", "bli", "abli", "alli", "entli", "eli", "ousli", "ization", "ation", "ator",
                "alism", "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi", "logy",
                "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic", "able",
                "ible", "ant", "ement", "ment", "ent", "sion", "tion", "ion", "ou", "ism", "ate", "iti", "ous", "ive",
                "ize", "e", "ll", "lled", "ling", "ally", "fully", "tionally", "ying", "yed"]
    words = sorted({r + x for r in roots for x in suffixes if len(r + x) > 3})
    words = rng.sample(words, 1200)
    words += ["sky", "skies", "dying", "lying", "tying", "news", "innings", "inning", "outings", "outing",
              "cannings", "canning", "howe", "proceed", "exceed", "succeed", "yyyyyy", "syzygy", "ies", "eed",
              "aies", "oied", "1234", "ab12ing", "y" * 40]
    return [[w, _STEMMER.stem(w)] for w in words]


def typed(metrics):
    out = []
    for k, v in metrics.items():
        kind = "b" if isinstance(v, bool) else "i" if isinstance(v, int) else "f"
        assert kind != "f" or isinstance(v, float), (k, v)
        out.append([k, kind, v])
    return out


def check_unicode_14(text):
    for ch in text:
        assert unicodedata.category(ch) != "Cn", f"U+{ord(ch):04X} is unassigned in Unicode {unicodedata.unidata_version}"


def snowball_check(wordlist):
    import snowballstemmer
    snowball = snowballstemmer.stemmer("porter")
    words = set()
    with open(wordlist, encoding="utf-8") as f:
        for line in f:
            words.update(t for t in re.split(r"[^a-z0-9]+", line.strip().lower()) if len(t) > 3)
    differ = [(w, _STEMMER.stem(w), snowball.stemWord(w)) for w in sorted(words) if _STEMMER.stem(w) != snowball.stemWord(w)]
    print(f"{len(differ)} of {len(words)} words stem differently (nltk {nltk.__version__} vs Snowball porter)")
    for w, a, b in differ[:10]:
        print(f"  {w}: nltk {a}, snowball {b}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="tests/fixtures/eval_scoring.json")
    ap.add_argument("--snowball-check", metavar="WORDLIST")
    args = ap.parse_args()
    if args.snowball_check:
        return snowball_check(args.snowball_check)
    families = []
    for family, dataset, make, score in FAMILIES:
        rng = random.Random(f"eval-scoring-{family}")
        cases, all_metrics = [], []
        for output, example in make(rng):
            check_unicode_14(output + json.dumps(example, ensure_ascii=False))
            metrics = score(output, example)
            all_metrics.append(metrics)
            cases.append({"output": output, "example": example, "expected": typed(metrics)})
        families.append({"family": family, "dataset": dataset, "cases": cases,
                         "avg_metrics": typed(avg_metrics(dataset, all_metrics))})
        print(f"{family}: {len(cases)} cases", file=sys.stderr)
    meta = {"script": "tests/eval_scoring_fixtures.py", "dysco_reference_commit": DYSCO_COMMIT,
            "python": sys.version.split()[0], "unicode": unicodedata.unidata_version, "nltk": nltk.__version__}
    stems = porter_words(random.Random("eval-scoring-porter"))
    print(f"porter: {len(stems)} words", file=sys.stderr)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write('{"meta":' + json.dumps(meta, ensure_ascii=False) + ',\n"porter":' + json.dumps(stems) + ',\n"families":[\n')
        for i, fam in enumerate(families):
            head = {k: fam[k] for k in ("family", "dataset", "avg_metrics")}
            f.write(("," if i else "") + json.dumps(head, ensure_ascii=False)[:-1] + ',"cases":[\n')
            f.write(",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in fam["cases"]))
            f.write("]}\n")
        f.write("]}\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compares dysco's tokenizer with Hugging Face `tokenizers` on one long document: speed and ids.

usage: tests/hf_tokenizer_bench.py --tokenizer DIR --dysco PATH_TO_DYSCO_BINARY [--tokens 131072] [--repeats 7]
                                   [--keep FILE]

DIR holds tokenizer.json (+ tokenizer_config.json). The document is deterministic: paragraphs of
English prose, code and multilingual text from the corpus generator of hf_tokenizer_fixtures.py,
appended until HF counts at least --tokens tokens; it is written to a temporary UTF-8 file (kept at
FILE with --keep).

  HF     tokenizers.Tokenizer.from_file(DIR/tokenizer.json).encode(text, add_special_tokens=False)
         on one thread (RAYON_NUM_THREADS=1, TOKENIZERS_PARALLELISM=false, set before the import),
         timed --repeats times after one untimed warm-up encode; the median is reported.
  dysco  `dysco tokenize --model DIR --file FILE --no-special --bench REPEATS` prints one JSON line
         {"tokens": n, "bytes": b, "seconds_median": s, "runs": r}; then
         `dysco tokenize --model DIR --file FILE --no-special` prints the ids as one JSON array,
         compared with HF's ids.

Prints one JSON line:
  {"tokens", "bytes", "hf_seconds", "hf_tokens_per_s", "dysco_seconds", "dysco_tokens_per_s",
   "ratio_dysco_over_hf_speed", "ids_equal", "first_diff", "hf_threads": 1, ...}
"first_diff" is the first index where the id lists differ (the shorter length when one is a prefix
of the other), null when equal. Exit status 0 when dysco ran and the ids are equal, 1 otherwise.
"""
import os

# Must be set before tokenizers is imported (its thread pool reads them once).
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizer_fixtures as corpus  # noqa: E402  (standard library only at import time)

import tokenizers  # noqa: E402


def build_document(tok, target):
    """Deterministic text of at least `target` HF tokens, paragraphs joined by blank lines."""
    paragraphs = corpus.iter_document_paragraphs()
    parts, estimate = [], 0
    goal = target
    while True:
        # Per-paragraph counts only estimate the whole (merges across the joins differ slightly);
        # grow by that estimate, then count the whole document, and grow again if it is short.
        while estimate < goal:
            p = next(paragraphs)
            parts.append(p)
            estimate += len(tok.encode(p + "\n\n", add_special_tokens=False).ids)
        text = "\n\n".join(parts) + "\n"
        n = len(tok.encode(text, add_special_tokens=False).ids)
        if n >= target:
            return text
        goal = estimate + (target - n)


def time_hf(tok, text, repeats):
    """(median seconds, ids) of encode(text) on one thread."""
    ids = tok.encode(text, add_special_tokens=False).ids  # warm-up, and the reference ids
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        tok.encode(text, add_special_tokens=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), ids


def run_dysco(cmd):
    """stdout of a dysco command; raises RuntimeError with its stderr when it fails."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def last_json_line(stdout):
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON line in dysco's output: {stdout[-500:]!r}")


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokenizer", required=True, help="folder with tokenizer.json")
    ap.add_argument("--dysco", required=True, help="path to the dysco binary")
    ap.add_argument("--tokens", type=int, default=131072, help="document size in HF tokens (at least)")
    ap.add_argument("--repeats", type=int, default=7, help="timed runs (median reported)")
    ap.add_argument("--keep", help="write the document here instead of a temporary file, and keep it")
    args = ap.parse_args()

    tok = tokenizers.Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    text = build_document(tok, args.tokens)
    data = text.encode("utf-8")
    if args.keep:
        path = args.keep
    else:
        fd, path = tempfile.mkstemp(prefix="dysco-tokbench-", suffix=".txt")
        os.close(fd)
    with open(path, "wb") as f:
        f.write(data)

    hf_seconds, hf_ids = time_hf(tok, text, args.repeats)
    n = len(hf_ids)
    result = {"tokens": n, "bytes": len(data), "hf_seconds": hf_seconds, "hf_tokens_per_s": n / hf_seconds,
              "dysco_seconds": None, "dysco_tokens_per_s": None, "ratio_dysco_over_hf_speed": None,
              "ids_equal": False, "first_diff": None, "hf_threads": 1}
    status = 1
    try:
        base = [args.dysco, "tokenize", "--model", args.tokenizer, "--file", path, "--no-special"]
        bench = last_json_line(run_dysco(base + ["--bench", str(args.repeats)]))
        d_seconds = float(bench["seconds_median"])
        d_tokens = int(bench.get("tokens", n))
        result["dysco_seconds"] = d_seconds
        result["dysco_tokens_per_s"] = d_tokens / d_seconds if d_seconds > 0 else None
        if result["dysco_tokens_per_s"]:
            result["ratio_dysco_over_hf_speed"] = result["dysco_tokens_per_s"] / result["hf_tokens_per_s"]
        result["dysco_tokens"] = d_tokens
        result["dysco_runs"] = bench.get("runs")
        dysco_ids = json.loads(run_dysco(base))
        diff = first_diff(hf_ids, dysco_ids)
        result["ids_equal"] = diff is None
        result["first_diff"] = diff
        if diff is not None:
            result["dysco_len"] = len(dysco_ids)
            result["hf_ids_at_diff"] = hf_ids[diff:diff + 8]
            result["dysco_ids_at_diff"] = dysco_ids[diff:diff + 8]
        status = 0 if diff is None else 1
    except (RuntimeError, OSError, ValueError, KeyError, TypeError) as exc:
        result["error"] = str(exc)
    finally:
        if not args.keep:
            os.unlink(path)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())

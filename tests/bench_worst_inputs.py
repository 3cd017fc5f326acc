#!/usr/bin/env python3
"""Times dysco's parsers on their worst inputs, to show that the work per input byte is bounded.

usage: tests/bench_worst_inputs.py [--dysco build-rel/dysco] [--tokenizers ~/.cache/dysco/tokenizers]
                                   [--sizes 1,10] [--runs 3] [--timeout 60] [--only PARSER]

Build the Release binary first (cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release
-DDYSCO_CUDA=OFF -DDYSCO_SANITIZE_TESTS=OFF && cmake --build build-rel --target dysco). Each input
is generated here (deterministic, python3 standard library only) at every size in MB and run as a
whole `dysco` process --runs times; the median wall time and the median CPU time (user + sys,
steadier on a shared machine) are reported, process start and the tokenizer's load included.
A "startup" case per parser (a tiny input) gives that fixed part, so the slope between sizes is
the work per byte. Work per byte is bounded when seconds_per_mb stays
flat (or falls) from 1 MB to 10 MB; a parser quadratic in some input shows it 10x higher.

Parsers and cases:
  tokenizer_qwen3, tokenizer_llama3_1, tokenizer_lenml_llama2  `dysco tokenize --model DIR --file F`
      on one word of one letter ("aaa..."), one CJK character repeated, digits, spaces, the
      alternation "abab...", random code points, and random bytes (refused as invalid UTF-8 at the
      first bad byte). lenml_llama2 (Llama-2's format, no pre-tokenizer) merges each whole input
      as one word, its spaces included, with byte fallback for the random code points.
  dysco_yaml  `dysco generate --method dysco --dysco-config F --input-ids ...` on a tiny model
      made here: nested '[' / '{' / "- " (refused past depth 32), one flow list of [1] items
      under template_sequences and of scalars under top_k, a scalar the size of the file (quoted,
      and a plain number), a list of anchors and one of aliases (refused), and the valid key
      "top_k: 1" repeated (the whole file is read; a last unknown key ends the run before
      generating).

Prints one JSON line per case:
  {"parser", "case", "bytes", "seconds", "seconds_per_mb", "cpu_seconds", "cpu_seconds_per_mb",
   "exit_status", "message"}
("message" is the first line dysco wrote to stderr, so a refusal shows what it said; a run
killed at --timeout gets null figures and says so there.)
"""
import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time

MB = 1_000_000


def fill(piece, size):
    """piece repeated to size bytes (whole pieces only)."""
    return piece * max(1, size // len(piece))


def random_code_points(size, rng):
    chars, n = [], 0
    while n < size:
        cp = rng.randrange(0x20, 0x30000)
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp).encode()
        chars.append(c)
        n += len(c)
    return b"".join(chars)


def tokenizer_cases(size):
    rng = random.Random(size)
    return {
        "one_letter_word": fill(b"a", size),
        "cjk_repeated": fill("的".encode(), size),
        "digits": fill(b"0123456789", size),
        "spaces": fill(b" ", size),
        "alternation_ab": fill(b"ab", size),
        "random_code_points": random_code_points(size, rng),
        "random_bytes": rng.randbytes(size),
    }


def anchors(size):
    """ "&a0 1, &a1 1, ..." of about size bytes: every value an anchor of its own."""
    items, n, i = [], 0, 0
    while n < size:
        items.append(b"&a%d 1, " % i)
        n += len(items[-1])
        i += 1
    return b"".join(items)


def yaml_cases(size):
    minimal = b'selected_heads: "[(1,2)]"\nstrength: 2.0\ndecay_factor: 0.75\n'
    return {
        "nested_brackets": fill(b"[", size),
        "nested_braces": fill(b"{", size),
        "nested_block_lists": fill(b"- ", size) + b"x\n",
        "flow_list_of_lists": minimal + b"template_sequences: [" + fill(b"[1], ", size) + b"[1]]\n",
        "flow_list_of_scalars": minimal + b"top_k: [" + fill(b"1, ", size) + b"1]\n",
        "quoted_scalar": minimal + b'selected_heads: "' + fill(b"a", size) + b'"\n',
        "plain_number": minimal + b"strength: " + fill(b"9", size) + b"\n",
        "anchors": minimal + b"top_k: [" + anchors(size) + b"1]\n",
        "aliases": b"a: &a [1, 1]\nb: [" + fill(b"*a, ", size) + b"*a]\n",
        "repeated_valid_key": minimal + fill(b"top_k: 1\n", size) + b"not_a_key: 1\n",
    }


def cpu_of_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, runs, timeout):
    """Median wall and CPU (user + sys) seconds of runs runs, the last exit status and stderr's
    first line; None for the figures when a run passes timeout seconds."""
    walls, cpus = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), cpu_of_children()
        try:
            p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, None, None, f"killed after the --timeout of {timeout} s"
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu_of_children() - c0)
    message = p.stderr.decode(errors="replace").strip().splitlines()
    return statistics.median(walls), statistics.median(cpus), p.returncode, (message[0][:120] if message else "")


def report(parser, case, nbytes, result):
    wall, cpu, status, message = result
    per_mb = nbytes > 1000 and wall is not None  # not for the startup cases

    def fig(x, per):
        return None if x is None or (per and not per_mb) else round(x / (nbytes / MB) if per else x, 4)

    print(json.dumps({"parser": parser, "case": case, "bytes": nbytes, "seconds": fig(wall, False),
                      "seconds_per_mb": fig(wall, True), "cpu_seconds": fig(cpu, False),
                      "cpu_seconds_per_mb": fig(cpu, True), "exit_status": status, "message": message}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dysco", default="build-rel/dysco")
    ap.add_argument("--tokenizers", default=os.path.expanduser("~/.cache/dysco/tokenizers"))
    ap.add_argument("--sizes", default="1,10", help="input sizes in MB, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60, help="seconds a run may take before it is killed")
    ap.add_argument("--only", help="one parser: tokenizer_qwen3, tokenizer_llama3_1, tokenizer_lenml_llama2 or dysco_yaml")
    args = ap.parse_args()
    sizes = [int(float(s) * MB) for s in args.sizes.split(",")]
    if not os.access(args.dysco, os.X_OK):
        sys.exit(f"{args.dysco}: not an executable (build the Release binary, see --help)")
    with tempfile.TemporaryDirectory(prefix="dysco-worst-") as tmp:
        path = os.path.join(tmp, "input")

        def timed(parser, case, data, cmd):
            with open(path, "wb") as f:
                f.write(data)
            report(parser, case, len(data), run(cmd, args.runs, args.timeout))

        for name in ("qwen3", "llama3_1", "lenml_llama2"):
            parser = "tokenizer_" + name
            if args.only and args.only != parser:
                continue
            cmd = [args.dysco, "tokenize", "--model", os.path.join(args.tokenizers, name), "--file", path]
            timed(parser, "startup", b"hi", cmd)
            for size in sizes:
                for case, data in tokenizer_cases(size).items():
                    timed(parser, case, data, cmd)

        if not args.only or args.only == "dysco_yaml":
            model, ids = os.path.join(tmp, "model"), os.path.join(tmp, "ids.json")
            subprocess.run([args.dysco, "make-model", model, "--preset", "tiny-qwen3", "--vocab", "512"],
                           check=True, stdout=subprocess.DEVNULL)
            with open(ids, "w") as f:
                f.write("[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]")
            cmd = [args.dysco, "generate", "--model", model, "--method", "dysco", "--input-ids", ids,
                   "--max-new-tokens", "1", "--dysco-config", path]
            timed("dysco_yaml", "startup", b"not_a_key: 1\n", cmd)
            for size in sizes:
                for case, data in yaml_cases(size).items():
                    timed("dysco_yaml", case, data, cmd)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""DySCO on the GPU against the CPU on the tiny presets, same inputs (issue 12's model-level check).

usage: tests/dysco_device_compare.py --dysco build-gpu/dysco [--work DIR] [--presets LIST]
           [--prompt-len N] [--steps N] [--qk-std X] [--seed S]

For each preset: `dysco make-model` (bf16 weights, --qk-std so attention is peaked and the
importance has structure), a random prompt and continuation of ids, then the same teacher-forced
`dysco score --method dysco --trace --trace-selected` on --device cpu (the fp32 controller path)
and --device cuda (the device path: one recorded graph per kind of step). Both feed the same
tokens, so every intervention step compares the selected sets of one position: the Jaccard index
per step, its mean over all steps, how many steps are identical; the per-token argmax agreement;
and, greedy, `dysco generate` on both: how many tokens agree before the first difference.

Prints one JSON line per preset and a table to stderr; exit status 1 with one line naming the
problem when a dysco command fails. Selection differences come from bf16 numerics (the GPU's
probabilities are computed from bf16 activations), not from the selection itself: the kernels
are held to the controller bit for bit by tests/gpu/test_cuda_dysco.c.
"""
import argparse
import json
import random
import subprocess
import sys
from pathlib import Path

# Heads each preset's DySCO config uses: valid (layer, query head) pairs of its shape.
HEADS = {"tiny-qwen3": "[(1,0),(2,1),(2,3),(3,2)]", "tiny-llama": "[(1,0),(2,1),(2,3),(3,2)]",
         "tiny-qwen3-moe": "[(1,0),(2,1),(2,3),(3,2)]"}


def fail(msg):
    sys.exit(f"dysco_device_compare.py: {msg}")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"{' '.join(cmd[:2])} failed (exit {r.returncode}): {(r.stderr.strip().splitlines() or ['?'])[-1]}")
    return r.stdout


def trace_sets(path):
    """{pos: set of selected positions} of the intervention lines."""
    out = {}
    for line in Path(path).read_text().splitlines():
        rec = json.loads(line)
        if rec["phase"] == "intervention":
            out[rec["pos"]] = set(rec["selected"])
    return out


def compare(args, preset, work):
    model = work / preset
    run([args.dysco, "make-model", str(model), "--preset", preset, "--dtype", "bf16", "--qk-std", str(args.qk_std),
         "--seed", str(args.seed), "--vocab", "1024", "--force"])
    rng = random.Random(args.seed)
    prompt = [rng.randrange(1024) for _ in range(args.prompt_len)]
    cont = [rng.randrange(1024) for _ in range(args.steps)]
    (work / "prompt.json").write_text(json.dumps(prompt))
    (work / "cont.json").write_text(json.dumps(cont))
    cfg = work / f"{preset}.yaml"
    cfg.write_text(f'selected_heads: "{HEADS[preset]}"\ntop_k: 64\ntop_p: 0.975\nstrength: 2.0\n'
                   "decay_factor: 0.75\ncontext_warmup_steps: 8\nintervention_warmup: 'auto'\n"
                   "scale_template_tokens: False\ntemplate_sequences: []\ndynamic_rescale: True\n")
    common = ["--model", str(model), "--input-ids", str(work / "prompt.json"), "--method", "dysco",
              "--dysco-config", str(cfg)]
    sets, scores, greedy = {}, {}, {}
    for dev in ("cpu", "cuda"):
        trace, out = work / f"trace_{dev}.jsonl", work / f"score_{dev}.json"
        run([args.dysco, "score", *common, "--continuation-ids", str(work / "cont.json"), "--device", dev,
             "--trace", str(trace), "--trace-selected", "--output", str(out)])
        sets[dev], scores[dev] = trace_sets(trace), json.loads(out.read_text())
        gen = work / f"gen_{dev}.json"
        run([args.dysco, "generate", *common, "--max-new-tokens", str(args.steps), "--device", dev,
             "--output", str(gen)])
        greedy[dev] = json.loads(gen.read_text())["output_ids"]
    if sets["cpu"].keys() != sets["cuda"].keys():
        fail(f"{preset}: the traces list different intervention positions")
    jac = []
    for pos in sorted(sets["cpu"]):
        a, b = sets["cpu"][pos], sets["cuda"][pos]
        jac.append(len(a & b) / len(a | b) if a | b else 1.0)
    am_cpu, am_gpu = scores["cpu"]["argmax_ids"], scores["cuda"]["argmax_ids"]
    agree = sum(x == y for x, y in zip(am_cpu, am_gpu))
    same_prefix = next((i for i, (x, y) in enumerate(zip(greedy["cpu"], greedy["cuda"])) if x != y),
                       min(len(greedy["cpu"]), len(greedy["cuda"])))
    return {"preset": preset, "steps": len(jac), "jaccard_mean": sum(jac) / len(jac), "jaccard_min": min(jac),
            "identical_steps": sum(j == 1.0 for j in jac), "argmax_agreement": agree, "argmax_positions": len(am_cpu),
            "greedy_tokens_equal_before_first_difference": same_prefix, "greedy_tokens": len(greedy["cpu"]),
            "prompt_len": args.prompt_len, "qk_std": args.qk_std}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dysco", required=True, help="the dysco binary (built with CUDA)")
    ap.add_argument("--work", default="/tmp/dysco-devcmp", help="scratch folder (default /tmp/dysco-devcmp)")
    ap.add_argument("--presets", default="tiny-qwen3,tiny-llama,tiny-qwen3-moe", help="comma-separated presets")
    ap.add_argument("--prompt-len", type=int, default=600, help="prompt ids (default 600)")
    ap.add_argument("--steps", type=int, default=64, help="continuation tokens (default 64)")
    ap.add_argument("--qk-std", type=float, default=0.08, help="make-model --qk-std (default 0.08)")
    ap.add_argument("--seed", type=int, default=1, help="weights and ids seed (default 1)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    for preset in args.presets.split(","):
        if preset not in HEADS:
            fail(f"--presets: no DySCO heads known for '{preset}' (known: {', '.join(HEADS)})")
        line = compare(args, preset, work)
        print(json.dumps(line), flush=True)
        print(f"{preset:>15}: Jaccard mean {line['jaccard_mean']:.4f} min {line['jaccard_min']:.4f}, "
              f"{line['identical_steps']}/{line['steps']} steps identical, argmax {line['argmax_agreement']}/"
              f"{line['argmax_positions']}, greedy equal for {line['greedy_tokens_equal_before_first_difference']}/"
              f"{line['greedy_tokens']}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()

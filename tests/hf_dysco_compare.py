#!/usr/bin/env python3
"""DySCO step time of the reference pattern (transformers, eager attention) next to `dysco bench --method dysco`.

usage: tests/hf_dysco_compare.py --dysco build-gpu/dysco --preset qwen3-8b --dysco-config configs/dysco/qwen3_8b.yaml
           --ctx 8192,32768,131072 [--work DIR] [--steps 8] [--make-model-args ARGS] [--dysco-args ARGS]
           [--dysco-timeout S]

Runs on the GPU host (torch + CUDA + transformers, no network), in one process:
  1. `dysco make-model WORK/PRESET --preset PRESET --config-only --force [--make-model-args]`: the
     config both sides build their random-weight model from (timing only).
  2. transformers, bf16: per context a prefill of that many random ids with SDPA (the reference
     prefills with flash attention), then --steps DySCO steps the way the reference's
     `_rescale_sample` (princeton-pli/DySCO dysco/custom_mixin.py) runs one, all eager (its
     attention falls back to eager whenever it captures attention or adds a bias):
       speculative pass: layers 0..Lmax only (the model's layer list is cut to Lmax + 1 for the
         call), output_attentions=True, no logits; the cache is cropped back afterwards;
       importance: mean of the selected heads' newest-query probabilities, decay, normalise;
       selection: nucleus over a descending sort and cumulative sum, top-k fallback (hybrid);
       bias vector log(s) on the selected keys and the current one;
       real pass: all layers, the bias as an additive 4-D attention mask, logits of the token.
     The median of the synchronised step times is the per-step cost the reference pays (its
     bf16 numerics are not reproduced: only the time matters here).
  3. `dysco bench --model WORK/PRESET --random-weights --ctx LIST --method dysco --dysco-config YAML
     --decode-steps N --device cuda [--dysco-args]`, its JSON lines parsed.

Prints one JSON line per context to stdout:
  {"ctx", "hf_eager_step_ms", "dysco_step_ms", "speedup" (hf / dysco), "dysco_roofline_ms",
   "dysco_fraction_of_roofline", "dysco_vanilla_decode_ms", "dysco_prefill_s", "dysco_vanilla_prefill_s",
   "dysco_phases_ms" (where the step's time goes), "hf_error",
   "preset", "device", "versions"}
and a table to stderr. Exit status 1 with one line naming the problem when a dysco command fails.
"""
import argparse
import gc
import json
import math
import shlex
import statistics
import sys
import time

import yaml

from hf_bench_common import (Failure, add_common_args, hf_guarded, load_hf_model, make_config_model, run_bench,
                             run_main)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap, min_ctx=64, timeout_s=900)
    ap.add_argument("--dysco-config", required=True, help="DySCO YAML (selected heads, top_k, top_p, strength, decay)")
    ap.add_argument("--steps", type=int, default=8, help="timed DySCO steps per context on each side (default 8)")
    args = ap.parse_args(argv)
    if args.steps < 2:
        ap.error("--steps must be >= 2")
    return args


def load_dysco_config(path):
    """(heads [(layer, head)], top_k or None, top_p or None, strength, decay) of a reference-format YAML."""
    with open(path) as f:
        cfg = yaml.safe_load(f)
    pairs = cfg["selected_heads"].replace("(", " ").replace(")", " ").replace("[", " ").replace("]", " ")
    nums = [int(v) for v in pairs.replace(",", " ").split()]
    heads = list(zip(nums[0::2], nums[1::2]))
    return heads, cfg.get("top_k"), cfg.get("top_p"), float(cfg["strength"]), float(cfg["decay_factor"])


# ---- transformers -------------------------------------------------------------------------------

def select(torch, v, top_k, top_p):
    """The reference's hybrid selection on the importance v (1, c): a bool mask."""
    mask = None
    if top_p is not None:
        vals, idx = torch.sort(v / v.sum(dim=-1, keepdim=True), dim=-1, descending=True)
        keep = vals.cumsum(dim=-1) <= top_p
        keep[..., 0] = True
        mask = torch.zeros_like(v, dtype=torch.bool).scatter_(-1, idx, keep)
    if top_k is not None and (mask is None or int(mask.sum()) > top_k):
        _, idx = torch.topk(v, k=min(top_k, v.shape[-1]), dim=-1)
        mask = torch.zeros_like(v, dtype=torch.bool).scatter_(-1, idx, True)
    return mask


def hf_steps(torch, model, cfg, ids, steps, dysco):
    """Median ms of one reference-pattern DySCO step after a prefill of ids (1, ctx)."""
    heads, top_k, top_p, strength, decay = dysco
    lmax = max(layer for layer, _ in heads)
    layers = model.model.layers
    model.set_attn_implementation("sdpa")
    out = model(input_ids=ids[:, :-1], use_cache=True, logits_to_keep=1)
    cache, importance = out.past_key_values, None
    out = None
    model.set_attn_implementation("eager")
    tok = ids[:, -1:]
    times = []
    for _ in range(steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        c = cache.get_seq_length() + 1
        model.model.layers = layers[: lmax + 1]
        try:
            spec = model.model(input_ids=tok, past_key_values=cache, use_cache=True, output_attentions=True)
        finally:
            model.model.layers = layers
        cache.crop(c - 1)
        attn = torch.stack([spec.attentions[layer][0, head, -1, :c] for layer, head in heads]).float().mean(0)
        spec = None
        if importance is None:
            importance = attn
        else:
            attn[: c - 1] += decay * importance
            importance = attn
        importance = importance / importance.sum()
        mask = select(torch, importance[None], top_k, top_p)[0]
        bias = torch.zeros(c, device="cuda", dtype=torch.bfloat16)
        bias[mask] = math.log(strength)
        bias[-1] = math.log(strength)
        real = model(input_ids=tok, past_key_values=cache, use_cache=True, attention_mask=bias.view(1, 1, 1, c))
        tok = real.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        real = None
    return 1e3 * statistics.median(times[1:])  # the first step pays the eager path's warm-up


def run_hf(args, model_dir, dysco):
    import torch
    model, cfg, versions = load_hf_model(torch, model_dir)
    results = {}
    g = torch.Generator(device="cuda").manual_seed(0)
    with torch.inference_mode():
        for ctx in args.ctx:
            def one():
                ids = torch.randint(0, cfg.vocab_size, (1, ctx), device="cuda", generator=g)
                return {"step_ms": hf_steps(torch, model, cfg, ids, args.steps, dysco)}
            results[ctx] = hf_guarded(torch, one)
            print(f"transformers ctx {ctx}: {json.dumps(results[ctx])}", file=sys.stderr, flush=True)
    device = torch.cuda.get_device_name(0)
    del model
    gc.collect()
    torch.cuda.empty_cache()
    return results, versions, device


# ---- dysco --------------------------------------------------------------------------------------

def run_dysco(args, model_dir):
    """({ctx: context line}, error or None)."""
    cmd = [args.dysco, "bench", "--model", str(model_dir), "--random-weights", "--ctx", ",".join(map(str, args.ctx)),
           "--method", "dysco", "--dysco-config", args.dysco_config, "--decode-steps", str(args.steps),
           "--device", "cuda", *shlex.split(args.dysco_args)]
    _, contexts, problem = run_bench(cmd, args.dysco_timeout, args.ctx)
    return contexts, problem


def main(argv=None):
    args = parse_args(argv)
    dysco = load_dysco_config(args.dysco_config)
    model_dir = make_config_model(args)
    hf, versions, device = run_hf(args, model_dir, dysco)
    contexts, problem = run_dysco(args, model_dir)
    print(f"{'ctx':>8} {'HF eager ms':>12} {'dysco ms':>9} {'speedup':>8} {'roofline ms':>12} {'of roofline':>12}",
          file=sys.stderr)
    for ctx in args.ctx:
        h, d = hf.get(ctx, {}), contexts.get(ctx, {})
        hf_ms, ms = h.get("step_ms"), d.get("dysco_step_ms")
        line = {"ctx": ctx, "hf_eager_step_ms": hf_ms, "dysco_step_ms": ms,
                "speedup": float(f"{hf_ms / ms:.4g}") if hf_ms and ms else None,
                "dysco_roofline_ms": d.get("dysco_roofline_ms"),
                "dysco_fraction_of_roofline": d.get("dysco_fraction_of_roofline"),
                "dysco_vanilla_decode_ms": d.get("vanilla_decode_ms"), "dysco_prefill_s": d.get("prefill_seconds"),
                "dysco_vanilla_prefill_s": d.get("vanilla_prefill_seconds"), "dysco_phases_ms": d.get("dysco_phases_ms"),
                "hf_error": h.get("error"), "preset": args.preset, "device": device, "versions": versions}
        print(json.dumps(line), flush=True)
        cells = [f"{v:>{w}.2f}" if isinstance(v, float) else f"{'-':>{w}}"
                 for v, w in ((hf_ms, 12), (ms, 9), (line["speedup"], 8), (line["dysco_roofline_ms"], 12),
                              (line["dysco_fraction_of_roofline"], 12))]
        print(f"{ctx:>8} " + " ".join(cells) + f"  {h.get('error') or ''}", file=sys.stderr)
    if problem:
        raise Failure(problem)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python3
"""Prefill and decode speed of Hugging Face transformers (torch SDPA, bf16) next to `dysco bench`.

usage: tests/hf_prefill_compare.py --dysco build-gpu/dysco --preset qwen3-8b --ctx 32768,131072
           [--work DIR] [--repeats 3] [--decode-steps 16] [--warmup-ctx 1024]
           [--make-model-args ARGS] [--dysco-args ARGS] [--dysco-timeout S]

Runs on the GPU host (python3 with torch + CUDA and transformers, no network), in one process:
  1. `dysco make-model WORK/PRESET --preset PRESET --config-only --force [--make-model-args]`:
     the config.json both sides build their model from (random weights: timing only).
  2. transformers: AutoModelForCausalLM.from_config(dtype bfloat16, attn_implementation "sdpa"),
     created on the GPU (its random init runs there, in well under a second for 8B). After one
     warm-up at --warmup-ctx tokens, per context: --repeats prefills of that many random ids
     (one forward, use_cache=True so a DynamicCache is filled as generate() would, logits_to_keep=1
     so the LM head does not make ctx x vocab logits), the median time; then --decode-steps greedy
     one-token forwards through that cache, the median ms/token (each step synchronised: the
     latency a user sees); torch.cuda.max_memory_allocated over both. An out-of-memory error is
     reported for that context and the next one is tried. Then the model is freed and the
     caching allocator emptied, so dysco gets the GPU (this process keeps its CUDA context,
     ~0.5 GiB, reported as gpu_in_use_before_dysco_gib).
  3. `dysco bench --model WORK/PRESET --random-weights --ctx LIST --decode-steps N+1 --device cuda
     [--dysco-args]` (N+1 tokens: N intervals between produced tokens, as many steps as the HF side
     times), its JSON lines parsed (runtime/cli/cli_bench.c).

Prints one JSON line per context to stdout:
  {"ctx", "hf_sdpa_prefill_s", "dysco_prefill_s", "prefill_ratio" (dysco / hf: below 1 means dysco
   is faster), "hf_decode_ms", "dysco_decode_ms", "decode_ratio", "hf_peak_gib"
   (max_memory_allocated), "dysco_mem_gib" (device memory in use after dysco's run, the device's
   figure, so it includes this process's context), "gpu_in_use_before_dysco_gib", "hf_error",
   "dysco_prefill_roofline_s", "dysco_decode_roofline_ms", "hf_prefill_s_repeats", "preset",
   "device", "versions"}
and a table to stderr. Exit status 1 with one line naming the problem when make-model or dysco
bench fails (the JSON lines are still printed, with null for what dysco did not measure).
"""
import argparse
import gc
import json
import shlex
import statistics
import sys
import time

from hf_bench_common import (Failure, add_common_args, hf_guarded, load_hf_model, make_config_model, run_bench,
                             run_main)

GIB = float(1 << 30)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_args(ap, min_ctx=16, timeout_s=1800)
    ap.add_argument("--repeats", type=int, default=3, help="timed prefills per context (default 3)")
    ap.add_argument("--decode-steps", type=int, default=16, help="timed one-token steps per context (default 16)")
    ap.add_argument("--warmup-ctx", type=int, default=1024, help="length of the untimed warm-up prefill (default 1024)")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.decode_steps < 1 or args.warmup_ctx < 1:
        ap.error("--repeats, --decode-steps and --warmup-ctx must be >= 1")
    return args


def median_or_none(values):
    return statistics.median(values) if values else None


def ratio(a, b):
    return float(f"{a / b:.4g}") if a is not None and b else None


# ---- transformers -------------------------------------------------------------------------------

def hf_one_ctx(torch, model, vocab, ctx, repeats, decode_steps, seed):
    """Prefill and decode timings of one context; raises torch.cuda.OutOfMemoryError."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    torch.cuda.reset_peak_memory_stats()
    prefill, out = [], None
    for _ in range(repeats):
        out = None  # the previous repeat's cache goes before the next fills one
        ids = torch.randint(0, vocab, (1, ctx), device="cuda", generator=g)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        torch.cuda.synchronize()
        prefill.append(time.perf_counter() - t0)
    cache, tok = out.past_key_values, out.logits[:, -1:].argmax(-1)
    out = None
    torch.cuda.synchronize()
    decode = []
    for _ in range(decode_steps):
        t0 = time.perf_counter()
        step = model(input_ids=tok, past_key_values=cache, use_cache=True)
        tok = step.logits[:, -1:].argmax(-1)
        torch.cuda.synchronize()
        decode.append(time.perf_counter() - t0)
        cache = step.past_key_values
    return {"prefill_s": prefill, "decode_ms": 1e3 * statistics.median(decode),
            "peak_gib": torch.cuda.max_memory_allocated() / GIB}


def run_hf(args, model_dir):
    """{ctx: result or {"error": ...}}, versions, device name, device memory in use after freeing."""
    import torch
    model, cfg, versions = load_hf_model(torch, model_dir)
    results = {}
    with torch.inference_mode():
        # index 0 is the warm-up; a failure anywhere is reported for its context
        for i, ctx in enumerate([args.warmup_ctx, *args.ctx]):
            res = hf_guarded(torch, lambda: hf_one_ctx(torch, model, cfg.vocab_size, ctx, args.repeats if i else 1,
                                                       args.decode_steps, i))
            print(f"transformers {'ctx' if i else 'warm-up'} {ctx}: {json.dumps(res)}", file=sys.stderr, flush=True)
            if i:
                results[ctx] = res
    device = torch.cuda.get_device_name(0)
    del model
    gc.collect()
    torch.cuda.empty_cache()
    free, total = torch.cuda.mem_get_info()
    return results, versions, device, (total - free) / GIB


# ---- dysco --------------------------------------------------------------------------------------

def dysco_cmd(args, model_dir):
    return [args.dysco, "bench", "--model", str(model_dir), "--random-weights",
            "--ctx", ",".join(map(str, args.ctx)), "--decode-steps", str(args.decode_steps + 1),
            "--device", "cuda", *shlex.split(args.dysco_args)]


def run_dysco(args, model_dir):
    """(machine, {ctx: line}, None) or (..., error line) when dysco bench failed or timed out."""
    return run_bench(dysco_cmd(args, model_dir), args.dysco_timeout, args.ctx)


# ---- report -------------------------------------------------------------------------------------

def rows(args, hf, dysco_ctx, meta):
    for ctx in args.ctx:
        h, d = hf.get(ctx, {}), dysco_ctx.get(ctx, {})
        hf_prefill = median_or_none(h.get("prefill_s"))
        mem = d.get("gpu_memory_in_use_bytes")
        yield {"ctx": ctx, "hf_sdpa_prefill_s": hf_prefill, "dysco_prefill_s": d.get("prefill_seconds"),
               "prefill_ratio": ratio(d.get("prefill_seconds"), hf_prefill),
               "hf_decode_ms": h.get("decode_ms"), "dysco_decode_ms": d.get("decode_ms_per_token_median"),
               "decode_ratio": ratio(d.get("decode_ms_per_token_median"), h.get("decode_ms")),
               "hf_peak_gib": h.get("peak_gib"), "dysco_mem_gib": mem / GIB if mem is not None else None,
               "gpu_in_use_before_dysco_gib": meta["in_use_before_dysco_gib"], "hf_error": h.get("error"),
               "dysco_prefill_roofline_s": d.get("prefill_roofline_seconds"),
               "dysco_decode_roofline_ms": d.get("decode_roofline_ms"), "hf_prefill_s_repeats": h.get("prefill_s"),
               "preset": args.preset, "device": meta["device"], "versions": meta["versions"]}


def fmt(v, spec):
    """v formatted by spec ('9.3f'), or '-' in the same width."""
    return "-".rjust(int(spec.split(".")[0])) if v is None else format(v, spec)


def table(lines, machine):
    out = []
    if machine:
        out.append(f"dysco machine: copy {machine['copy_bandwidth_bytes_per_s'] / 1e12:.2f} TB/s, "
                   f"GEMM {machine['gemm_flops_per_s'] / 1e12:.0f} TFLOP/s")
    out.append(f"{'ctx':>8} {'HF prefill s':>12} {'dysco s':>9} {'ratio':>6} {'HF ms/tok':>10} {'dysco ms':>9} "
               f"{'ratio':>6} {'HF GiB':>7} {'dysco GiB':>9}  note")
    for r in lines:
        out.append(f"{r['ctx']:>8} {fmt(r['hf_sdpa_prefill_s'], '12.3f')} {fmt(r['dysco_prefill_s'], '9.3f')} "
                   f"{fmt(r['prefill_ratio'], '6.2f')} {fmt(r['hf_decode_ms'], '10.2f')} "
                   f"{fmt(r['dysco_decode_ms'], '9.2f')} {fmt(r['decode_ratio'], '6.2f')} "
                   f"{fmt(r['hf_peak_gib'], '7.1f')} {fmt(r['dysco_mem_gib'], '9.1f')}  {r['hf_error'] or ''}")
    out.append("ratio = dysco / transformers (below 1: dysco faster)")
    return "\n".join(out)


def main(argv=None):
    args = parse_args(argv)
    model_dir = make_config_model(args)
    hf, versions, device, in_use = run_hf(args, model_dir)
    meta = {"versions": versions, "device": device, "in_use_before_dysco_gib": in_use}
    machine, dysco_ctx, problem = run_dysco(args, model_dir)
    lines = list(rows(args, hf, dysco_ctx, meta))
    for line in lines:
        print(json.dumps(line), flush=True)
    print(table(lines, machine), file=sys.stderr, flush=True)
    if problem:
        raise Failure(problem)


if __name__ == "__main__":
    run_main(main)

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
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

GIB = float(1 << 30)


def fail(msg):
    sys.exit(f"hf_prefill_compare.py: {msg}")


def parse_ctx(text):
    try:
        ctx = [int(v) for v in text.split(",")]
    except ValueError:
        ctx = []
    if not ctx or min(ctx) < 16:
        raise argparse.ArgumentTypeError(f"expected comma-separated lengths >= 16, got '{text}'")
    return ctx


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dysco", required=True, help="the dysco binary (built with CUDA)")
    ap.add_argument("--preset", required=True, help="dysco make-model preset, e.g. qwen3-8b")
    ap.add_argument("--ctx", required=True, type=parse_ctx, help="comma-separated prompt lengths")
    ap.add_argument("--work", default="/tmp/dysco-cmp", help="where the config-only model goes (default /tmp/dysco-cmp)")
    ap.add_argument("--repeats", type=int, default=3, help="timed prefills per context (default 3)")
    ap.add_argument("--decode-steps", type=int, default=16, help="timed one-token steps per context (default 16)")
    ap.add_argument("--warmup-ctx", type=int, default=1024, help="length of the untimed warm-up prefill (default 1024)")
    ap.add_argument("--make-model-args", default="", help="more make-model arguments, one shell-quoted string "
                    "(e.g. YaRN for 128k: --rope-scaling '{...}' --max-pos 131072)")
    ap.add_argument("--dysco-args", default="", help="more dysco bench arguments, one shell-quoted string")
    ap.add_argument("--dysco-timeout", type=float, default=1800, help="seconds before dysco bench is stopped (default 1800)")
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
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM
    if not torch.cuda.is_available():
        fail("torch sees no CUDA device")
    torch.set_grad_enabled(False)
    cfg = AutoConfig.from_pretrained(model_dir)
    t0 = time.perf_counter()
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation="sdpa")
    model = model.to("cuda").eval()  # a no-op where the device context placed it already
    dtype = next(model.parameters()).dtype
    if dtype != torch.bfloat16:
        fail(f"{model_dir}/config.json: transformers built the model in {dtype}, not bfloat16")
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "python": platform.python_version(), "cuda": torch.version.cuda,
                "attn_implementation": getattr(model.config, "_attn_implementation", None)}
    print(f"transformers: {type(model).__name__}, {model.num_parameters() / 1e9:.2f} B parameters, built in "
          f"{time.perf_counter() - t0:.1f} s, {json.dumps(versions)}", file=sys.stderr, flush=True)
    results = {}
    with torch.inference_mode():
        # index 0 is the warm-up; a failure anywhere is reported for its context and dysco still runs
        # (a GPU-host call is precious), out of memory first of all.
        for i, ctx in enumerate([args.warmup_ctx, *args.ctx]):
            try:
                res = hf_one_ctx(torch, model, cfg.vocab_size, ctx, args.repeats if i else 1, args.decode_steps, i)
            except torch.cuda.OutOfMemoryError as e:
                res = {"error": "out of memory: " + str(e).split("\n")[0]}
            except Exception as e:
                res = {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
            gc.collect()
            torch.cuda.empty_cache()
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


def parse_bench(stdout):
    """dysco bench's JSON lines: (the machine line or None, {ctx: context line})."""
    machine, contexts = None, {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec.get("kind") == "machine":
            machine = rec
        elif rec.get("kind") == "context":
            contexts[rec["ctx"]] = rec
    return machine, contexts


def run_dysco(args, model_dir):
    """(machine, {ctx: line}, None) or (..., error line) when dysco bench failed or timed out."""
    cmd = dysco_cmd(args, model_dir)
    print("dysco: " + shlex.join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=args.dysco_timeout)
        problem = None if proc.returncode == 0 else \
            f"dysco bench failed (exit {proc.returncode}): {(err.strip().splitlines() or ['no message'])[-1]}"
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()  # what it printed before the timeout
        problem = f"dysco bench did not finish within --dysco-timeout {args.dysco_timeout:g} s"
    try:
        machine, contexts = parse_bench(out)
    except (json.JSONDecodeError, KeyError) as e:
        return None, {}, f"dysco bench printed a line that is not its JSON ({e}): {out[:200]!r}"
    if problem is None and set(contexts) != set(args.ctx):
        problem = f"dysco bench reported contexts {sorted(contexts)}, asked for {args.ctx}"
    return machine, contexts, problem


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
    model_dir = Path(args.work) / args.preset
    r = subprocess.run([args.dysco, "make-model", str(model_dir), "--preset", args.preset, "--config-only", "--force",
                        *shlex.split(args.make_model_args)], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"dysco make-model failed (exit {r.returncode}): {(r.stderr.strip().splitlines() or ['no message'])[-1]}")
    hf, versions, device, in_use = run_hf(args, model_dir)
    meta = {"versions": versions, "device": device, "in_use_before_dysco_gib": in_use}
    machine, dysco_ctx, problem = run_dysco(args, model_dir)
    lines = list(rows(args, hf, dysco_ctx, meta))
    for line in lines:
        print(json.dumps(line), flush=True)
    print(table(lines, machine), file=sys.stderr, flush=True)
    if problem:
        fail(problem)


if __name__ == "__main__":
    main()

"""What the GPU-host comparisons with transformers (hf_prefill_compare.py, hf_dysco_compare.py)
share: their common flags, the config-only model both sides build, the transformers model in
bf16 on the GPU, and `dysco bench` run under a timeout with its JSON lines parsed."""
import argparse
import json
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path


class Failure(Exception):
    """A problem that ends the comparison with one line."""


def ctx_list(minimum):
    """An argparse type: comma-separated lengths, each >= minimum."""
    def parse(text):
        try:
            ctx = [int(v) for v in text.split(",")]
        except ValueError:
            ctx = []
        if not ctx or min(ctx) < minimum:
            raise argparse.ArgumentTypeError(f"expected comma-separated lengths >= {minimum}, got '{text}'")
        return ctx
    return parse


def add_common_args(ap, min_ctx, timeout_s):
    ap.add_argument("--dysco", required=True, help="the dysco binary (built with CUDA)")
    ap.add_argument("--preset", required=True, help="dysco make-model preset, e.g. qwen3-8b")
    ap.add_argument("--ctx", required=True, type=ctx_list(min_ctx), help="comma-separated context lengths")
    ap.add_argument("--work", default="/tmp/dysco-cmp", help="where the config-only model goes (default /tmp/dysco-cmp)")
    ap.add_argument("--make-model-args", default="", help="more make-model arguments, one shell-quoted string "
                    "(e.g. YaRN for 128k: --rope-scaling '{...}' --max-pos 131072)")
    ap.add_argument("--dysco-args", default="", help="more dysco bench arguments, one shell-quoted string")
    ap.add_argument("--dysco-timeout", type=float, default=timeout_s,
                    help=f"seconds before dysco bench is stopped (default {timeout_s:g})")


def last_line(text):
    return (text.strip().splitlines() or ["no message"])[-1]


def make_config_model(args):
    """`dysco make-model WORK/PRESET --preset PRESET --config-only --force [--make-model-args]`: the
    config both sides build their random-weight model from (timing only). Returns its folder."""
    model_dir = Path(args.work) / args.preset
    try:
        r = subprocess.run([args.dysco, "make-model", str(model_dir), "--preset", args.preset, "--config-only",
                            "--force", *shlex.split(args.make_model_args)], capture_output=True, text=True)
    except OSError as e:
        raise Failure(f"--dysco {args.dysco}: {e.strerror}")
    if r.returncode != 0:
        raise Failure(f"dysco make-model failed (exit {r.returncode}): {last_line(r.stderr)}")
    return model_dir


def load_hf_model(torch, model_dir):
    """(model, config, versions): transformers' model of model_dir/config.json in bf16 on the GPU,
    random-initialised there (well under a second for 8B), SDPA attention."""
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM
    if not torch.cuda.is_available():
        raise Failure("torch sees no CUDA device")
    torch.set_grad_enabled(False)
    cfg = AutoConfig.from_pretrained(model_dir)
    t0 = time.perf_counter()
    with torch.device("cuda"):
        model = AutoModelForCausalLM.from_config(cfg, dtype=torch.bfloat16, attn_implementation="sdpa")
    model = model.to("cuda").eval()  # a no-op where the device context placed it already
    dtype = next(model.parameters()).dtype
    if dtype != torch.bfloat16:
        raise Failure(f"{model_dir}/config.json: transformers built the model in {dtype}, not bfloat16")
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "python": platform.python_version(), "cuda": torch.version.cuda,
                "attn_implementation": getattr(model.config, "_attn_implementation", None)}
    print(f"transformers: {type(model).__name__}, {model.num_parameters() / 1e9:.2f} B parameters, built in "
          f"{time.perf_counter() - t0:.1f} s, {json.dumps(versions)}", file=sys.stderr, flush=True)
    return model, cfg, versions


def run_bench(cmd, timeout_s, ctx):
    """Runs a `dysco bench` command: (the machine line or None, {ctx: context line}, None or the
    problem: a failure, a timeout, a line that is not its JSON, contexts other than ctx)."""
    print("dysco: " + shlex.join(cmd), file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
        problem = None if proc.returncode == 0 else f"dysco bench failed (exit {proc.returncode}): {last_line(err)}"
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()  # what it printed before the timeout
        problem = f"dysco bench did not finish within --dysco-timeout {timeout_s:g} s"
    machine, contexts = None, {}
    try:
        for line in out.splitlines():
            rec = json.loads(line) if line.strip() else {}
            if rec.get("kind") == "machine":
                machine = rec
            elif rec.get("kind") == "context":
                contexts[rec["ctx"]] = rec
    except (json.JSONDecodeError, KeyError) as e:
        return None, {}, f"dysco bench printed a line that is not its JSON ({e}): {out[:200]!r}"
    if problem is None and set(contexts) != set(ctx):
        problem = f"dysco bench reported contexts {sorted(contexts)}, asked for {ctx}"
    return machine, contexts, problem


def hf_guarded(torch, fn):
    """fn()'s result, or {"error": ...} when it raised (out of memory first of all: a GPU-host call
    is precious, so the next context and dysco still run); the caching allocator emptied after."""
    import gc
    try:
        return fn()
    except torch.cuda.OutOfMemoryError as e:
        return {"error": "out of memory: " + str(e).split("\n")[0]}
    except Exception as e:
        return {"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"}
    finally:
        gc.collect()
        torch.cuda.empty_cache()


def run_main(main):
    """main(), a Failure ending the script with one line naming it and a non-zero exit."""
    try:
        main()
    except Failure as e:
        sys.exit(f"{Path(sys.argv[0]).name}: {e}")

#!/usr/bin/env python3
"""Checks dysco's checkpoints and configs against Hugging Face transformers (run on the GPU host).

For every tiny preset: `dysco make-model` writes a checkpoint (bf16 and fp32), transformers loads it
with from_pretrained (no missing, unexpected or mismatched keys allowed), a few weights are compared
with the safetensors bytes as dysco reads them, and one forward pass must give finite logits.
For every preset: transformers builds the model from config.json alone on the meta device and its
parameter count must equal `dysco inspect --json`.

usage: tests/hf_check_models.py BUILD_DIR [WORK_DIR]     prints one JSON line per check and a summary
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import transformers
from transformers import AutoConfig, AutoModelForCausalLM

TINY = ["tiny-qwen3", "tiny-llama", "tiny-qwen3-moe"]
ALL = TINY + ["qwen3-4b", "qwen3-8b", "qwen3-32b", "qwen3-30b-a3b", "llama3-8b", "llama3-70b"]


def dysco(build, *args):
    r = subprocess.run([str(Path(build) / "dysco"), *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"dysco {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def check_tiny(build, work, preset, dtype):
    out = Path(work) / f"{preset}-{dtype}"
    dysco(build, "make-model", str(out), "--preset", preset, "--dtype", dtype, "--seed", "3", "--force")
    info = json.loads(dysco(build, "inspect", str(out), "--json"))
    torch_dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
    model, loading = AutoModelForCausalLM.from_pretrained(out, dtype=torch_dtype, output_loading_info=True)
    problems = {k: sorted(v) for k, v in loading.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    hf_params = model.num_parameters()
    # The embedding row 0 and the last layer's first norm, as transformers holds them.
    from safetensors import safe_open
    files = sorted(out.glob("*.safetensors"))
    raw = {}
    for f in files:
        with safe_open(f, "pt") as st:
            for name in ("model.embed_tokens.weight", "model.norm.weight"):
                if name in st.keys():
                    raw[name] = st.get_tensor(name)
    sd = model.state_dict()
    same = all(torch.equal(sd[n].cpu(), raw[n]) for n in raw) and len(raw) == 2
    ids = torch.arange(1, 33).unsqueeze(0)
    with torch.no_grad():
        logits = model(ids).logits
    ok = not problems and hf_params == info["parameters"] and same and bool(torch.isfinite(logits).all())
    return {"check": "load", "preset": preset, "dtype": dtype, "ok": ok, "hf_parameters": hf_params,
            "dysco_parameters": info["parameters"], "weights_equal": same, "loading_problems": problems,
            "logits_shape": list(logits.shape), "model_class": type(model).__name__}


def check_config(build, work, preset):
    out = Path(work) / f"{preset}-config"
    dysco(build, "make-model", str(out), "--preset", preset, "--config-only", "--force")
    info = json.loads(dysco(build, "inspect", "--preset", preset, "--json"))
    cfg = AutoConfig.from_pretrained(out)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cfg)
    hf_params = model.num_parameters()
    return {"check": "config", "preset": preset, "ok": hf_params == info["parameters"], "hf_parameters": hf_params,
            "dysco_parameters": info["parameters"], "model_class": type(model).__name__}


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    build = sys.argv[1]
    work = sys.argv[2] if len(sys.argv) == 3 else tempfile.mkdtemp(prefix="dysco-hf-")
    print(json.dumps({"transformers": transformers.__version__, "torch": torch.__version__}), flush=True)
    results = []
    for preset in TINY:
        for dtype in ("bf16", "fp32"):
            results.append(check_tiny(build, work, preset, dtype))
            print(json.dumps(results[-1]), flush=True)
    for preset in ALL:
        results.append(check_config(build, work, preset))
        print(json.dumps(results[-1]), flush=True)
    passed = sum(r["ok"] for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()

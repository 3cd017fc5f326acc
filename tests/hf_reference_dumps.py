#!/usr/bin/env python3
"""Reference outputs of tiny dysco checkpoints, made with PyTorch + Hugging Face transformers.

usage: tests/hf_reference_dumps.py BUILD_DIR OUT_DIR [--work DIR] [--threads N] [--only qwen3,llama,qwen3_moe] [--bf16]

Runs on the GPU host (python3 with torch and transformers, no network; BUILD_DIR/dysco built
there, only `make-model` is used, so a build with -DDYSCO_CUDA=OFF will do). Everything runs on
the CPU in fp32 and is deterministic (about a minute). Writes six compact JSON files
into OUT_DIR (committed as tests/fixtures/reference/), which ctest compares dysco against:

  logits_{qwen3,llama,qwen3_moe}.json
      {"preset", "make_model_args", "versions", "checkpoint_sha256", "prompt_ids" (300 ids), "positions",
       "logits": [[1024 floats] per position], "steps": {"ids": [8 ids], "logits": [[...] x 8]}}
      logits of transformers' own full forward (AutoModelForCausalLM, eager attention) at
      positions 0, 1, 63, 64, 65, 150, 299 of a 300-token random prompt, then of 8 more random
      tokens fed one at a time through its KV cache (positions 300..307). Rounded to 6
      significant digits. Positions past 64 exercise YaRN / llama3 RoPE scaling beyond
      original_max_position_embeddings (64 here).
  dysco_{qwen3,llama,qwen3_moe}.json
      {"preset", "make_model_args", "versions", "checkpoint_sha256", "self_check",
       "attention_peakedness",
       "cases": [{"name", "method": "dysco"|"vanilla"|"attnsharp", "config": {selected_heads,
                  top_k, top_p, strength, decay_factor, context_warmup_steps,
                  intervention_warmup, template_sequences, dynamic_rescale, attn_temperature},
                  "input_ids", "output_ids", "logprobs", "trace": [...], "argmax_margins",
                  "fp64_agreement", dysco only: "generation_logging", "selection_summary",
                  "selection_diagnostics", hybrid only: "hybrid_p_search"}]}
      Cases, per model: topk (k 16, s 2), topp (p 0.6, s 2), hybrid (k 16, p 0.9 or lower, s 2),
      hard (k 16, s 100), template (k 16, s 2.5, templates [5 6 7], [9 9], [100 101 102 103]
      planted in the prompt), static (k 16, p 0.9, s 2, dynamic_rescale false), all with the 6
      (layer, head) pairs of SELECTED_HEADS, Wc 8, Wi 7, decay 0.75, a 200-token random prompt and
      24 greedy tokens; vanilla and attnsharp (tau 0.5) on the same prompt.
      trace: one object per fed token after the prefill, the format of `dysco generate --trace`:
        {"pos": fed position, "phase": "context_warmup"|"intervention"|"decode",
         "n_selected": selection count before template masking (intervention steps only),
         "top_positions": the 16 positions of highest importance after the step's decay update
                          (descending, ties to the lower index; dysco only),
         "token", "logprob": where the step produces a token}.
      selection_diagnostics (one per selection): the branch taken, the nucleus count, the relative
        gap between the k-th and (k+1)-th largest importance (top-k) and the distance of the
        deciding cumulative sums from p (nucleus); argmax_margins: top-1 minus top-2 logit per
        produced token. They say how close a step came to a tie, for judging a mismatch of an
        independent implementation (whose fp32 rounding differs at the 1e-6..1e-5 level).
      fp64_agreement: the same case run again on a float64 copy of the model (transformers'
        RMSNorm and RoPE tables still compute in fp32 inside): whether the output ids and every
        trace entry's n_selected / top_positions / token agree with the fp32 run, and the largest
        log-probability difference. Agreement means the fixture's discrete outputs do not sit on a
        rounding-level tie, so an independent fp32 implementation should reproduce them. Absent
        for Qwen3-MoE with transformers 5.17 (its grouped expert matmul takes no float64).

With --bf16 it writes three other files instead (a minute, on the GPU; committed beside the others):

  bf16_logits_{qwen3,llama,qwen3_moe}.json
      the logits_*.json format for the same models with their weights stored in bf16 (make-model
      --dtype bf16, the same seeds and RoPE settings but make-model's default initialisation, not the
      sharpened attention (make_model_args says why); both sides start from identical bf16 weights,
      so only the computation differs), run by transformers in bf16 on the GPU (SDPA attention, its
      default there), same prompt, positions and cached steps, logits widened to fp32; plus "dtype",
      "attn_implementation", versions.device (the GPU), and "hf_bf16_vs_fp32_rel_err": per row
      (the positions, then the steps) ||bf16 - fp32|| / ||fp32|| of transformers' bf16 run against
      the same weights in fp32 (CPU, eager): the rounding noise of bf16 itself, printed by
      tests/gpu/test_cuda_reference.c beside dysco's error (which must stay below 2e-2 per row).

make_model_args are the arguments after OUT_DIR: `dysco make-model DIR <make_model_args>` rebuilds
the exact checkpoint (make-model's weights depend only on seed, tensor name and index);
checkpoint_sha256 holds the hashes of the files it wrote here.

What is checked here (the script exits non-zero otherwise):
  * The restated forward (own loop over the HF modules' weights, own KV cache, own eager attention
    with an additive per-key bias) reproduces transformers' logits for the same tokens, measured as
    max over rows of max|ours - hf| / max|hf|: below 1e-5 for the 300-token prefill and the 8
    cached steps (these through the bias path with an all-zero bias); below 1e-4 for a 150-token
    prefill followed by 150 single-token steps through the zero-bias path, where the fp32 sums run
    in another order than in transformers' one prefill and peaked attention magnifies the rounding
    (seen: ~1e-5 with torch 2.11 on the GPU host's CPU, 0 with torch 1.13).
  * DySCO with strength 1.0 (bias log(1) = 0; the speculative pass leaves the cache unchanged) gives
    transformers' greedy tokens for the same prompt, with log-probabilities within 1e-4.
  * The hybrid case uses both branches (nucleus and top-k fallback): p = 0.9 is kept if each branch
    gets HYBRID_MIN_STEPS steps, else p goes down HYBRID_P_CANDIDATES to the first that does (or the
    most balanced one); the p used is in the case's config, the search in hybrid_p_search.

The DySCO loop restates runtime/dysco/README.md §1-§7 (the reference's
`_rescale_sample` in dysco/custom_mixin.py) with these deliberate differences from the reference:
  * fp32 everywhere (the reference runs bf16: bf16 logits, probabilities, importance, bias). The
    bias is float32(math.log(s)) (0.6931472 for s = 2, not bf16's 0.69140625).
  * RoPE positions are the true indices 0, 1, 2, ...: the reference's +T position shift (dysco/README §9)
    is NOT reproduced (relative offsets, hence the math, are the same).
  * Nucleus selection is exact: the importance v (fp32) is renormalised as v / sum(v) in fp32,
    sorted descending (stable: ties keep increasing index order), the cumulative sum of the sorted
    values is accumulated in float64 and sorted entry i is kept iff cumsum[i] <= p (p compared as
    the float64 value of the Python float; the reference rounds p and the cumsum to bf16). Sorted
    entry 0 is always kept. Top-k ties go to the lower index (the first k of that stable sort).
  * Importance decay in fp32: new[j] = a[j] + lambda * old[j] (j < c-1), new[c-1] = a[c-1], then
    new / sum(new); a = unweighted mean over the selected (layer, query head) pairs of the newest
    query's softmax probabilities (GQA: query head h reads KV head h // (H / Hkv)).
  * Attention: logits = (q @ k^T) * head_dim**-0.5 [/ tau for attnsharp] [+ causal mask in the
    prefill] + bias, softmax in fp32, @ v. The bias (same vector for every head of every layer) is
    log(s) on selected positions and always on the current position c-1; template occurrences in
    the prompt are cleared from the selection first (0 < s < 99 only); s >= 99 is a hard mask (0 on
    selected positions and c-1, -inf elsewhere, no template masking).
  * Phases: prefill x[0..N-T-1] (T = Wc + Wi), Wc-1 context-warmup steps (full pass with capture, KV
    kept, no logits), then intervention steps: speculative pass (layers 0..Lmax, no bias, capture,
    its K/V discarded), decay update, selection, bias, real pass (all layers, bias, KV kept,
    logits); logits discarded while prompt tokens remain (teacher forcing), then greedy decoding
    (argmax, first index on ties) of MAX_NEW_TOKENS tokens with no EOS stopping.
  * Static variant (dysco/README §6): one selection on the importance left by the warmup (length N-Wi-1)
    at the first intervention step, extended by one False entry per step; no speculative pass, so
    the importance (and top_positions) stays frozen; n_selected is the count of that persistent
    selection (before template masking) at every step; num_generations = 1.
  * attnsharp divides the attention logits by tau (after the 1/sqrt(d) scale) in every layer,
    prefill included, for all three models (the reference divides q and k by sqrt(tau) each, in
    bf16, and silently ignores tau for Qwen3-MoE in its _sharp_sample path).
  * generation_logging per dysco/README §7: counts before template masking; nucleus outcomes add p,
    top-k outcomes add the fp32 sum of the selected importance values; the first four fields are
    divided by num_generations at the end.

Peaked attention (QK_STD, MODELS): the checkpoints should attend clearly non-uniformly, so that
top-k and nucleus sets are far from ties, but not saturate (a head with all its mass on one key
leaves the other keys at exp(-40), where fp32 differences between implementations reorder them).
For Llama the attention-logit standard deviation is about 128 * qk_std^2 (hidden 128): --qk-std
0.35 gives ~16 (mean max probability ~0.83, ~1.7 effective keys: saturated), 0.2 gives ~5 (~0.5).
Qwen3 normalises q and k per head (q_norm / k_norm) before RoPE, so --qk-std does not change its
logits (standard deviation ~1, times YaRN's attention factor squared; mean max probability ~0.04
over 300 keys: nearly flat); --norm-jitter 3.0 (RMSNorm weights, q_norm / k_norm included, in
1 +- 3) brings it to ~0.5 (Qwen3-MoE ~0.4). attention_peakedness records, for the last position of
the 300-token logits prompt, the mean over layers and heads of the maximum probability and of the
effective number of keys exp(entropy).

torch / transformers are imported inside main(); the helpers that do not need them (template
masks, selection, decay on plain lists, rounding, argument lists) can be exercised without torch.
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VOCAB = 1024
# make-model settings for peaked (but not saturated) attention, see the module docstring: the mean
# over layers and heads of the last position's maximum attention probability (300 keys) is about
# 0.5 for all three. Llama: --qk-std 0.2 (0.35 saturates: most heads put > 0.9 on one key, and the
# tails then hang on exp() of large negative logits). Qwen3 normalises q and k per head, so
# --qk-std hardly matters there; --norm-jitter 3.0 (q_norm / k_norm weights in 1 +- 3) sharpens it.
QK_STD = {"qwen3": "0.35", "llama": "0.2", "qwen3_moe": "0.35"}
MODELS = [  # fixture name, preset, make-model seed, extra make-model arguments
    ("qwen3", "tiny-qwen3", 101,
     ["--norm-jitter", "3.0",
      "--rope-scaling", '{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":64}']),
    ("llama", "tiny-llama", 102,
     ["--rope-scaling", '{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,'
                        '"original_max_position_embeddings":64}', "--max-pos", "512"]),
    ("qwen3_moe", "tiny-qwen3-moe", 103, ["--norm-jitter", "3.0"]),
]
LOGIT_PROMPT_LEN = 300
LOGIT_POSITIONS = [0, 1, 63, 64, 65, 150, 299]
LOGIT_STEPS = 8
SELF_CHECK_SPLIT = 150  # prefill this many, then single steps through the bias path
SELF_CHECK_TOL = 1e-5
SPLIT_TOL = 1e-4
# --bf16: transformers' attention on the GPU is SDPA (its default there: fp32 softmax inside, as in
# dysco's CUDA attention); the bound dysco's CUDA logits must meet against these dumps.
BF16_ATTN = "sdpa"
BF16_TOL = 2e-2

PROMPT_LEN = 200
MAX_NEW_TOKENS = 24
SELECTED_HEADS = [(1, 0), (1, 3), (2, 1), (2, 2), (3, 0), (3, 3)]
CTX_WARMUP = 8
INTERV_WARMUP = 7
DECAY = 0.75
TEMPLATES = [[5, 6, 7], [9, 9], [100, 101, 102, 103]]
HYBRID_MIN_STEPS = 3  # steps each hybrid branch should get
HYBRID_P_CANDIDATES = [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2,
                       0.15, 0.1, 0.05]
ATTN_TEMPERATURE = 0.5
N_TOP_POSITIONS = 16

SEED_LOGIT_PROMPT = 1000  # + model index
SEED_LOGIT_STEPS = 2000
SEED_PROMPT = 3000
SEED_TEMPLATE_PROMPT = 4000


def dysco_case(name, top_k=None, top_p=None, strength=2.0, templates=None, dynamic=True):
    return {"name": name, "method": "dysco",
            "config": {"selected_heads": [list(p) for p in SELECTED_HEADS], "top_k": top_k, "top_p": top_p,
                       "strength": strength, "decay_factor": DECAY, "context_warmup_steps": CTX_WARMUP,
                       "intervention_warmup": INTERV_WARMUP, "template_sequences": templates,
                       "dynamic_rescale": dynamic, "attn_temperature": None}}


def plain_case(name, temperature=None):
    return {"name": name, "method": "attnsharp" if temperature else "vanilla",
            "config": {"selected_heads": None, "top_k": None, "top_p": None, "strength": None,
                       "decay_factor": None, "context_warmup_steps": None, "intervention_warmup": None,
                       "template_sequences": None, "dynamic_rescale": None, "attn_temperature": temperature}}


CASES = [
    dysco_case("topk", top_k=16),
    dysco_case("topp", top_p=0.6),
    dysco_case("hybrid", top_k=16, top_p=0.9),
    dysco_case("hard", top_k=16, strength=100.0),
    dysco_case("template", top_k=16, strength=2.5, templates=TEMPLATES),
    dysco_case("static", top_k=16, top_p=0.9, dynamic=False),
    plain_case("vanilla"),
    plain_case("attnsharp", ATTN_TEMPERATURE),
]


# ---- helpers without torch ----------------------------------------------------------------------

def make_model_args(name, dtype="fp32"):
    """make-model arguments after OUT_DIR for fixture `name`, weights stored in dtype (fp32, bf16).

    bf16 fixtures keep the RoPE settings but not the sharpening (--qk-std, --norm-jitter): attention
    that peaked amplifies rounding, so that transformers' own bf16 run drifts up to 0.2 (relative)
    from its fp32 run, and no bf16 implementation could be held to 2e-2 against it."""
    _, preset, seed, extra = next(m for m in MODELS if m[0] == name)
    if dtype == "bf16":
        drop = {"--norm-jitter"}
        extra = [a for i, a in enumerate(extra) if a not in drop and (i == 0 or extra[i - 1] not in drop)]
        return ["--preset", preset, "--dtype", dtype, "--vocab", str(VOCAB), "--seed", str(seed), *extra, "--force"]
    return ["--preset", preset, "--dtype", dtype, "--vocab", str(VOCAB), "--qk-std", QK_STD[name],
            "--seed", str(seed), *extra, "--force"]


def fixture_header(name, dtype, versions, sha):
    """The fields every fixture starts with: how to rebuild its checkpoint and what made it."""
    return {"preset": next(m[1] for m in MODELS if m[0] == name), "make_model_args": make_model_args(name, dtype),
            "versions": versions, "checkpoint_sha256": sha}


def sig6(x):
    return float(f"{x:.6g}")


def f32_repr(x):
    """A float32 value as a short decimal that reads back to the same float32."""
    return float(f"{x:.9g}")


def template_mask(ids, templates):
    """Positions of ids covered by any occurrence of any template (overlaps allowed)."""
    mask = [False] * len(ids)
    for t in templates or []:
        n = len(t)
        for i in range(len(ids) - n + 1):
            if ids[i:i + n] == t:
                for j in range(i, i + n):
                    mask[j] = True
    return mask


def plant_templates(ids):
    """The template prompt: random ids with every template planted several times (about a quarter of
    the positions), with overlapping occurrences ([9, 9, 9] holds two of [9, 9]; 5 6 7 5 6 7 back to
    back), one [9, 9] across the end of the prefill (positions N-T-1, N-T) and one [5, 6, 7] among the
    intervention steps' prompt tokens."""
    ids = list(ids)
    n = len(ids)
    plan = [(3, [5, 6, 7]), (17, [9, 9, 9]), (30, [100, 101, 102, 103]), (48, [5, 6, 7, 5, 6, 7]),
            (66, [9, 9]), (75, [100, 101, 102, 103, 9, 9, 9]), (97, [5, 6, 7]), (110, [100, 101, 102, 103]),
            (125, [9, 9, 9, 9]), (140, [5, 6, 7, 100, 101, 102, 103]), (158, [9, 9]), (166, [5, 6, 7]),
            (174, [100, 101, 102, 103]), (n - CTX_WARMUP - INTERV_WARMUP - 1, [9, 9]), (n - 6, [5, 6, 7])]
    for at, seq in plan:
        ids[at:at + len(seq)] = seq
    assert len(ids) == n
    return ids


def order_desc(values):
    """Indices by value descending, ties to the lower index (a stable descending sort)."""
    return sorted(range(len(values)), key=lambda j: (-values[j], j))


def top_positions(imp, n=N_TOP_POSITIONS):
    return order_desc(imp)[:n]


def select(v, top_k, top_p, renorm):
    """Selection of dysco/README §3 on the importance v (list of fp32 values as Python floats); renorm is
    v / sum(v) computed in fp32 by the caller. Returns (mask, branch, count, logging mass,
    diagnostics)."""
    c = len(v)
    diag = {}
    nucleus = None
    if top_p is not None:
        order = order_desc(renorm)
        cum, kept, cums = 0.0, 0, []
        for i, j in enumerate(order):
            cum += renorm[j]  # float64 accumulation of fp32 values
            cums.append(cum)
            if cum <= top_p or i == 0:
                kept = i + 1
            else:
                break
        # kept is a prefix: the float64 cumsum of non-negative values never decreases. The deciding
        # comparisons are those of sorted entries kept-1 and kept.
        diag["nucleus_count"] = kept
        diag["nucleus_margin"] = min(abs(cums[i] - top_p) for i in (kept - 1, kept) if i < len(cums))
        nucleus = set(order[:kept])
    use_topk = top_k is not None and (nucleus is None or len(nucleus) > top_k)
    if use_topk:
        kk = min(top_k, c)
        order = order_desc(v)
        chosen = order[:kk]
        if kk < c:
            a, b = v[order[kk - 1]], v[order[kk]]
            diag["topk_gap"] = (a - b) / a if a > 0 else 0.0
        mask = [False] * c
        for j in chosen:
            mask[j] = True
        diag["branch"] = "top_k"
        return mask, "top_k", kk, None, diag  # mass: fp32 sum, computed by the caller
    mask = [False] * c
    for j in nucleus:
        mask[j] = True
    diag["branch"] = "nucleus"
    return mask, "nucleus", len(nucleus), top_p, diag


def new_logging():
    return {"avg_num_token": 0.0, "avg_nucleus_mass": 0.0, "scale_by_token": 0.0, "scale_by_nucleus": 0.0,
            "num_generations": 0}


def finish_logging(log):
    n = log["num_generations"]
    out = dict(log)
    if n:
        for key in ("avg_num_token", "avg_nucleus_mass", "scale_by_token", "scale_by_nucleus"):
            out[key] = log[key] / n
    return out


def dysco(build, *args):
    r = subprocess.run([str(Path(build) / "dysco"), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"dysco {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def checkpoint_sha256(mdir):
    import hashlib
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(Path(mdir).iterdir()) if f.is_file()}


def dump(path, obj):
    text = json.dumps(obj, separators=(",", ":"))
    Path(path).write_text(text + "\n")
    return len(text) + 1


# ---- the restated forward -------------------------------------------------------------------------

def load_hf(path, dtype=None, attn="eager", device="cpu"):
    """The checkpoint in transformers (default: fp32, eager attention, on the CPU)."""
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype or torch.float32, attn_implementation=attn)
    return model.to(device).eval()


class Ref:
    """Own forward over an HF causal LM's modules: own KV cache, own eager attention with an additive
    per-key bias, capture of chosen (layer, query head) probabilities of the newest query."""

    def __init__(self, hf):
        import torch
        self.torch = torch
        self.hf = hf
        cfg = hf.config
        self.inner = hf.model
        self.layers = list(self.inner.layers)
        self.n_layers = len(self.layers)
        self.n_heads = cfg.num_attention_heads
        self.n_kv = cfg.num_key_value_heads
        self.head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.qk_norm = hasattr(self.layers[0].self_attn, "q_norm")
        self.dtype = next(hf.parameters()).dtype  # float32, or float64 for the shadow run

    def new_cache(self):
        return [[None, None] for _ in range(self.n_layers)]

    def rotate_half(self, x):
        h = x.shape[-1] // 2
        return self.torch.cat((-x[..., h:], x[..., :h]), dim=-1)

    def forward(self, ids, start, cache, bias=None, capture=(), n_layers=None, keep_kv=True,
                temperature=None, logits="last"):
        """ids at positions start.. (true indices). bias: None or a fp32 vector over all keys (only
        for one token). capture: (layer, head) pairs. logits: "last", "all" or None.
        Returns (logits or None, {(layer, head): fp32 probability vector of the last query})."""
        torch = self.torch
        S = len(ids)
        n_layers = self.n_layers if n_layers is None else n_layers
        x = torch.tensor([ids], dtype=torch.long)
        pos = torch.arange(start, start + S, dtype=torch.long).unsqueeze(0)
        h = self.inner.embed_tokens(x)
        cos, sin = self.inner.rotary_emb(h, pos)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        captured = {}
        d, H, Hkv = self.head_dim, self.n_heads, self.n_kv
        for li in range(n_layers):
            layer = self.layers[li]
            attn = layer.self_attn
            residual = h
            a = layer.input_layernorm(h)
            q = attn.q_proj(a).view(1, S, -1, d)
            k = attn.k_proj(a).view(1, S, -1, d)
            v = attn.v_proj(a).view(1, S, -1, d).transpose(1, 2)
            if self.qk_norm:
                q, k = attn.q_norm(q), attn.k_norm(k)
            q, k = q.transpose(1, 2), k.transpose(1, 2)
            q = q * cos + self.rotate_half(q) * sin
            k = k * cos + self.rotate_half(k) * sin
            past_k, past_v = cache[li]
            K = k if past_k is None else torch.cat([past_k, k], dim=2)
            V = v if past_v is None else torch.cat([past_v, v], dim=2)
            if keep_kv:
                cache[li] = [K, V]
            C = K.shape[2]
            rep = H // Hkv
            Kx = K[:, :, None].expand(1, Hkv, rep, C, d).reshape(1, H, C, d)
            Vx = V[:, :, None].expand(1, Hkv, rep, C, d).reshape(1, H, C, d)
            scores = torch.matmul(q, Kx.transpose(2, 3)) * self.scale
            if temperature is not None:
                scores = scores / temperature
            if S > 1:
                causal = torch.full((S, C), float("-inf")).triu(C - S + 1)
                scores = scores + causal
            if bias is not None:
                assert S == 1 and bias.shape == (C,)
                scores = scores + bias.view(1, 1, 1, C)
            probs = torch.softmax(scores, dim=-1, dtype=self.dtype)
            for (cl, ch) in capture:
                if cl == li:
                    captured[(cl, ch)] = probs[0, ch, -1, :].clone()
            out = torch.matmul(probs, Vx).transpose(1, 2).reshape(1, S, H * d)
            h = residual + attn.o_proj(out)
            residual = h
            m = layer.mlp(layer.post_attention_layernorm(h))
            if isinstance(m, tuple):  # sparse MoE blocks of some transformers versions: (out, router_logits)
                m = m[0]
            h = residual + m
        if logits is None:
            return None, captured
        h = self.inner.norm(h)
        if logits == "last":
            h = h[:, -1:]
        return self.hf.lm_head(h)[0], captured


# ---- generation loops -----------------------------------------------------------------------------

def run_dysco(ref, x, cfg, max_new=MAX_NEW_TOKENS):
    torch = ref.torch
    N = len(x)
    Wc, Wi = cfg["context_warmup_steps"], cfg["intervention_warmup"]
    T = Wc + Wi
    heads = [tuple(p) for p in cfg["selected_heads"]]
    Lmax = max(layer for layer, _ in heads)
    s = cfg["strength"]
    if s <= 0:
        raise ValueError("strength must be > 0")
    hard = s >= 99
    log_s = torch.tensor(math.log(s), dtype=torch.float32)
    tmask = template_mask(x, cfg["template_sequences"]) if cfg["template_sequences"] and not hard else None
    lam = torch.tensor(cfg["decay_factor"], dtype=torch.float32)

    cache = ref.new_cache()
    ref.forward(x[:N - T], 0, cache, logits=None)  # prefill
    imp = torch.zeros(N - T, dtype=torch.float32)
    seq = list(x)
    trace, out_ids, logprobs, diags, margins = [], [], [], [], []
    log = new_logging()
    static_sel = None
    template_removed = 0

    def decay(imp, captured):
        a = torch.stack([captured[p] for p in heads]).mean(dim=0)
        new = a.clone()
        new[:-1] = a[:-1] + lam * imp
        return new / new.sum()

    def do_select(v):
        vals = v.tolist()
        renorm = (v / v.sum()).tolist()
        mask, branch, count, mass, diag = select(vals, cfg["top_k"], cfg["top_p"], renorm)
        if branch == "top_k":
            sel_idx = torch.tensor([j for j, m in enumerate(mask) if m], dtype=torch.long)
            mass = v[sel_idx].sum().item()
            log["scale_by_token"] += 1
        else:
            log["scale_by_nucleus"] += 1
        log["avg_num_token"] += count
        log["avg_nucleus_mass"] += mass
        return mask, count, diag

    p = N - T
    while True:
        c = p + 1
        tok = seq[p]
        if c < N - Wi:  # context warmup
            _, cap = ref.forward([tok], p, cache, capture=heads, logits=None)
            imp = decay(imp, cap)
            trace.append({"pos": p, "phase": "context_warmup", "top_positions": top_positions(imp.tolist())})
            p += 1
            continue
        if cfg["dynamic_rescale"]:
            _, cap = ref.forward([tok], p, cache, capture=heads, n_layers=Lmax + 1, keep_kv=False, logits=None)
            imp = decay(imp, cap)
            sel, n_sel, diag = do_select(imp)
            log["num_generations"] += 1
            diag = {"pos": p, **diag}
            diags.append(diag)
        else:
            if static_sel is None:
                static_sel, _, diag = do_select(imp)
                log["num_generations"] = 1
                diags.append({"pos": p, **diag})
            static_sel = static_sel + [False]
            sel = static_sel
            n_sel = sum(sel)
        assert len(sel) == c
        eff = list(sel)
        if tmask is not None:
            for j in range(min(c, N)):
                if tmask[j] and eff[j]:
                    eff[j] = False
                    template_removed += 1
        if hard:
            bias = torch.full((c,), float("-inf"), dtype=torch.float32)
            bias[torch.tensor([j for j in range(c) if eff[j] or j == c - 1])] = 0.0
        else:
            bias = torch.zeros(c, dtype=torch.float32)
            idx = [j for j in range(c) if eff[j]] + [c - 1]
            bias[torch.tensor(idx)] = log_s
        logits, _ = ref.forward([tok], p, cache, bias=bias, logits="last")
        entry = {"pos": p, "phase": "intervention", "n_selected": n_sel, "top_positions": top_positions(imp.tolist())}
        if p >= N - 1:
            row = logits[-1]
            t = int(torch.argmax(row).item())
            lp = torch.log_softmax(row, dim=-1)[t].item()
            top2 = torch.topk(row, 2).values
            margins.append(sig6((top2[0] - top2[1]).item()))
            out_ids.append(t)
            logprobs.append(f32_repr(lp))
            seq.append(t)
            entry["token"], entry["logprob"] = t, f32_repr(lp)
        trace.append(entry)
        if len(out_ids) == max_new:
            break
        p += 1
    return {"output_ids": out_ids, "logprobs": logprobs, "trace": trace,
            "generation_logging": finish_logging(log), "selection_diagnostics": diags,
            "template_removed": template_removed, "argmax_margins": margins}


def run_plain_ref(ref, x, temperature=None, max_new=MAX_NEW_TOKENS):
    torch = ref.torch
    cache = ref.new_cache()
    logits, _ = ref.forward(x, 0, cache, temperature=temperature, logits="last")
    out, lps, trace, margins = [], [], [], []
    p = len(x) - 1
    while True:
        row = logits[-1]
        t = int(torch.argmax(row).item())
        lp = f32_repr(torch.log_softmax(row, dim=-1)[t].item())
        top2 = torch.topk(row, 2).values
        margins.append(sig6((top2[0] - top2[1]).item()))
        out.append(t)
        lps.append(lp)
        trace.append({"pos": p, "phase": "decode", "token": t, "logprob": lp})
        if len(out) == max_new:
            break
        p += 1
        logits, _ = ref.forward([t], p, cache, temperature=temperature, logits="last")
    return {"output_ids": out, "logprobs": lps, "trace": trace, "argmax_margins": margins}


def run_plain_hf(hf, x, max_new=MAX_NEW_TOKENS):
    import torch
    out = hf(input_ids=torch.tensor([x]), use_cache=True)
    ids, lps = [], []
    while True:
        row = out.logits[0, -1].float()
        t = int(torch.argmax(row).item())
        ids.append(t)
        lps.append(torch.log_softmax(row, dim=-1)[t].item())
        if len(ids) == max_new:
            return ids, lps
        out = hf(input_ids=torch.tensor([[t]]), past_key_values=out.past_key_values, use_cache=True)


def rel_err(ours, ref):
    """max over rows of max|ours - ref| / max|ref|."""
    worst = 0.0
    for a, b in zip(ours, ref):
        worst = max(worst, (a - b).abs().max().item() / max(b.abs().max().item(), 1e-30))
    return worst


# ---- per model ------------------------------------------------------------------------------------

def rand_ids(torch, seed, n):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCAB, (n,), generator=g).tolist()


def logits_fixture(torch, hf, index, header):
    """transformers' logits (as fp32, on the CPU) of the prompt and the cached steps, on hf's device."""
    prompt = rand_ids(torch, SEED_LOGIT_PROMPT + index, LOGIT_PROMPT_LEN)
    steps = rand_ids(torch, SEED_LOGIT_STEPS + index, LOGIT_STEPS)
    out = hf(input_ids=torch.tensor([prompt], device=hf.device), use_cache=True)
    full = out.logits[0].float().cpu()
    pkv = out.past_key_values
    step_logits = []
    for t in steps:
        o = hf(input_ids=torch.tensor([[t]], device=hf.device), past_key_values=pkv, use_cache=True)
        pkv = o.past_key_values
        step_logits.append(o.logits[0, -1].float().cpu())
    fixture = {**header, "prompt_ids": prompt, "positions": LOGIT_POSITIONS,
               "logits": [[sig6(v) for v in full[i].tolist()] for i in LOGIT_POSITIONS],
               "steps": {"ids": steps, "logits": [[sig6(v) for v in r.tolist()] for r in step_logits]}}
    return fixture, prompt, steps, full, step_logits


def self_check(torch, ref, prompt, steps, full, step_logits):
    """Own forward vs transformers, and the peakedness of attention at the last prompt position.
    exact: the same computation shapes as transformers (one 300-token prefill, then the 8 cached
    steps, these through the bias path with an all-zero bias): must agree within SELF_CHECK_TOL.
    split: a 150-token prefill, then positions 150..299 one at a time through the zero-bias path.
    The fp32 sums then run in another order (matrix-vector instead of matrix-matrix products), and
    peaked attention turns the score rounding (scores of magnitude ~10-50, ulp ~1e-6) into relative
    errors of the probabilities: this measures that noise, bounded by SPLIT_TOL."""
    all_pairs = [(layer, head) for layer in range(ref.n_layers) for head in range(ref.n_heads)]
    cache = ref.new_cache()
    lg, cap = ref.forward(prompt, 0, cache, capture=all_pairs, logits="all")
    prefill_err = rel_err([lg[i] for i in range(len(prompt))], [full[i] for i in range(len(prompt))])
    so = []
    for i, t in enumerate(steps):
        c = len(prompt) + i + 1
        out, _ = ref.forward([t], c - 1, cache, bias=torch.zeros(c), capture=all_pairs, logits="last")
        so.append(out[-1])
    step_err = rel_err(so, step_logits)
    split = SELF_CHECK_SPLIT
    cache = ref.new_cache()
    lg2, _ = ref.forward(prompt[:split], 0, cache, logits="all")
    ours = [lg2[i] for i in range(split)]
    for p in range(split, len(prompt)):
        out, _ = ref.forward([prompt[p]], p, cache, bias=torch.zeros(p + 1), capture=all_pairs, logits="last")
        ours.append(out[-1])
    split_err = rel_err(ours, [full[i] for i in range(len(prompt))])
    maxp = {pair: cap[pair].max().item() for pair in all_pairs}
    ent = {pair: -(cap[pair].clamp_min(1e-30) * cap[pair].clamp_min(1e-30).log()).sum().item() for pair in all_pairs}
    peaked = {"position": len(prompt) - 1, "keys": len(prompt),
              "mean_max_prob_all_heads": sum(maxp.values()) / len(maxp),
              "mean_max_prob_selected_heads": sum(maxp[tuple(p)] for p in SELECTED_HEADS) / len(SELECTED_HEADS),
              "mean_effective_keys_all_heads": sum(math.exp(e) for e in ent.values()) / len(ent),
              "uniform_prob": 1.0 / len(prompt),
              "max_prob_per_layer_head": [[round(maxp[(layer, h)], 4) for h in range(ref.n_heads)]
                                          for layer in range(ref.n_layers)]}
    return {"prefill_rel_err": prefill_err, "steps_rel_err": step_err, "tolerance": SELF_CHECK_TOL,
            "split_rel_err": split_err, "split_tolerance": SPLIT_TOL,
            "definition": "max over rows of max|ours - transformers| / max|transformers|. prefill: rows 0..299 of "
                          "one 300-token forward; steps: the 8 cached steps through the zero-bias path; split: a "
                          "150-token prefill, then rows 150..299 one token at a time through the zero-bias path"}, peaked


def compare_runs(a, b):
    """Discrete agreement of two runs of one case (fp32 vs the float64 shadow)."""
    n = min(len(a["output_ids"]), len(b["output_ids"]))
    first_tok = next((i for i in range(n) if a["output_ids"][i] != b["output_ids"][i]), None)
    keys = ("pos", "n_selected", "top_positions", "token")
    same = [all(x.get(k) == y.get(k) for k in keys) for x, y in zip(a["trace"], b["trace"])]
    first_trace = next((a["trace"][i]["pos"] for i, ok in enumerate(same) if not ok), None)
    upto = n if first_tok is None else first_tok + 1
    return {"output_ids_equal": a["output_ids"] == b["output_ids"], "first_token_mismatch": first_tok,
            "trace_steps_equal": sum(same), "trace_steps": len(same), "first_trace_mismatch_pos": first_trace,
            "max_logprob_diff": sig6(max(abs(x - y) for x, y in zip(a["logprobs"][:upto], b["logprobs"][:upto])))}


def summarize_diags(diags):
    branches = {}
    for d in diags:
        branches[d["branch"]] = branches.get(d["branch"], 0) + 1
    gaps = [d["topk_gap"] for d in diags if "topk_gap" in d]
    margins = [d["nucleus_margin"] for d in diags if d.get("nucleus_margin") is not None]
    counts = [d["nucleus_count"] for d in diags if "nucleus_count" in d]
    return {"branches": branches, "min_topk_gap": min(gaps) if gaps else None,
            "min_nucleus_margin": min(margins) if margins else None,
            "nucleus_count_range": [min(counts), max(counts)] if counts else None}


def dysco_fixture(torch, hf, ref, ref64, name, index, versions, checks):
    prompt = rand_ids(torch, SEED_PROMPT + index, PROMPT_LEN)
    tprompt = plant_templates(rand_ids(torch, SEED_TEMPLATE_PROMPT + index, PROMPT_LEN))
    cases = []
    notes = []
    shadow_ref = [ref64]

    def shadow(case, res, rerun):
        """The same case on the float64 copy; a failure there (an op without float64 support) only
        turns the shadow off."""
        if shadow_ref[0] is None:
            return
        try:
            case["fp64_agreement"] = compare_runs(res, rerun(shadow_ref[0]))
        except Exception as e:
            print(f"  float64 shadow off: {e!r}", flush=True)
            shadow_ref[0] = None
    # strength 1.0: the real pass carries a zero bias and the speculative pass must leave the cache as
    # it was, so DySCO must decode exactly like transformers' own greedy loop.
    hf_ids, hf_lps = run_plain_hf(hf, prompt)
    neutral = run_dysco(ref, prompt, dysco_case("neutral", top_k=16, strength=1.0)["config"])
    lp_diff = max(abs(a - b) for a, b in zip(neutral["logprobs"], hf_lps))
    checks["neutral_dysco_vs_hf"] = {"same_tokens": neutral["output_ids"] == hf_ids, "max_logprob_diff": lp_diff}
    for case in CASES:
        case = json.loads(json.dumps(case))
        cfg = case["config"]
        x = tprompt if cfg["template_sequences"] else prompt
        t0 = time.time()
        if case["method"] == "dysco":
            if case["name"] == "hybrid":
                # both branches must occur: the first p of HYBRID_P_CANDIDATES (0.9 first) whose run
                # gives each branch HYBRID_MIN_STEPS steps, else the one whose less frequent branch has
                # the most steps
                tried, best = [], None
                for p in HYBRID_P_CANDIDATES:
                    cfg["top_p"] = p
                    r = run_dysco(ref, x, cfg)
                    br = summarize_diags(r["selection_diagnostics"])["branches"]
                    tried.append({"top_p": p, "branches": br})
                    score = min(br.get("top_k", 0), br.get("nucleus", 0))
                    if best is None or score > best[0]:
                        best = (score, p, r)
                    if score >= HYBRID_MIN_STEPS:
                        break
                score, cfg["top_p"], res = best
                case["hybrid_p_search"] = tried
                if score == 0:
                    notes.append("hybrid: no p in HYBRID_P_CANDIDATES used both branches")
            else:
                res = run_dysco(ref, x, cfg)
            shadow(case, res, lambda r64: run_dysco(r64, x, cfg))
            case.update(input_ids=x, output_ids=res["output_ids"], logprobs=res["logprobs"], trace=res["trace"],
                        generation_logging=res["generation_logging"],
                        argmax_margins=res["argmax_margins"],
                        selection_summary={**summarize_diags(res["selection_diagnostics"]),
                                           "template_selections_removed": res["template_removed"]},
                        selection_diagnostics=[{k: sig6(v) if isinstance(v, float) else v for k, v in d.items()}
                                               for d in res["selection_diagnostics"]])
        else:
            res = run_plain_ref(ref, x, cfg["attn_temperature"])
            shadow(case, res, lambda r64: run_plain_ref(r64, x, cfg["attn_temperature"]))
            case.update(input_ids=x, output_ids=res["output_ids"], logprobs=res["logprobs"], trace=res["trace"],
                        argmax_margins=res["argmax_margins"])
            if case["method"] == "vanilla":
                case["matches_transformers_generate"] = res["output_ids"] == hf_ids
                checks["vanilla_ref_vs_hf"] = {"same_tokens": res["output_ids"] == hf_ids,
                                               "max_logprob_diff": max(abs(a - b) for a, b in zip(res["logprobs"], hf_lps))}
        cases.append(case)
        summ = case.get("selection_summary", {})
        print(f"  {name} {case['name']}: {time.time() - t0:.1f} s, out {case['output_ids'][:8]}..., min argmax "
              f"margin {min(case['argmax_margins']):.3g}, top_p {cfg['top_p']}, {json.dumps(summ)} "
              f"fp64 {json.dumps(case.get('fp64_agreement'))} "
              f"{json.dumps(case.get('generation_logging'))}", flush=True)
    return cases, notes


def one_model(args, torch, versions, work, out, index, name):
    failures = []
    t0 = time.time()
    mdir = work / name
    dysco(args.build_dir, "make-model", str(mdir), *make_model_args(name))
    hf = load_hf(str(mdir))
    print(f"== {name}: {type(hf).__name__}, rope {json.dumps(getattr(hf.config, 'rope_parameters', None) or getattr(hf.config, 'rope_scaling', None))}",
          flush=True)
    ref = Ref(hf)
    sha = checkpoint_sha256(mdir)
    header = fixture_header(name, "fp32", versions, sha)
    fixture, prompt, steps, full, step_logits = logits_fixture(torch, hf, index, header)
    size = dump(out / f"logits_{name}.json", fixture)
    check, peaked = self_check(torch, ref, prompt, steps, full, step_logits)
    print(f"  logits_{name}.json: {size} bytes; self-check {json.dumps(check['prefill_rel_err'])} / "
          f"{json.dumps(check['steps_rel_err'])} / split {json.dumps(check['split_rel_err'])}; peakedness {json.dumps({k: v for k, v in peaked.items() if k != 'max_prob_per_layer_head'})}",
          flush=True)
    print(f"  max prob per layer/head at the last position: {peaked['max_prob_per_layer_head']}", flush=True)
    if not (check["prefill_rel_err"] < SELF_CHECK_TOL and check["steps_rel_err"] < SELF_CHECK_TOL
            and check["split_rel_err"] < SPLIT_TOL):
        failures.append(f"{name}: own forward differs from transformers ({check})")
    checks = {"forward_vs_transformers": check}
    try:  # float64 shadow: how far from a tie the discrete outputs are (see compare_runs)
        import copy
        ref64 = Ref(copy.deepcopy(hf).double())
    except Exception as e:
        print(f"  no float64 shadow: {e!r}", flush=True)
        ref64 = None
    cases, notes = dysco_fixture(torch, hf, ref, ref64, name, index, versions, checks)
    n = checks["neutral_dysco_vs_hf"]
    if not n["same_tokens"] or n["max_logprob_diff"] > 1e-4:
        failures.append(f"{name}: DySCO with strength 1 differs from transformers' greedy decode ({n})")
    print(f"  checks: {json.dumps(checks)}", flush=True)
    failures += [f"{name}: {s}" for s in notes]
    doc = {**header, "self_check": checks, "attention_peakedness": peaked, "cases": cases}
    size = dump(out / f"dysco_{name}.json", doc)
    print(f"  dysco_{name}.json: {size} bytes ({time.time() - t0:.1f} s)", flush=True)
    return failures


def l2_rel(a, b):
    """||a - b|| / ||b|| of two logits rows (the measure of tests/gpu/test_cuda_reference.c)."""
    return ((a - b).norm() / b.norm()).item()


def one_model_bf16(args, torch, versions, work, out, index, name):
    """bf16_logits_NAME.json: the logits fixture of the model with bf16 weights, run by transformers in
    bf16 on the GPU, and how far that run is from the same weights in fp32 (on the CPU, eager)."""
    t0 = time.time()
    mdir = work / f"{name}_bf16"
    dysco(args.build_dir, "make-model", str(mdir), *make_model_args(name, "bf16"))
    header = {**fixture_header(name, "bf16", versions, checkpoint_sha256(mdir)), "dtype": "bfloat16",
              "attn_implementation": BF16_ATTN}
    hf = load_hf(str(mdir), torch.bfloat16, BF16_ATTN, "cuda")
    print(f"== {name} (bf16): {type(hf).__name__} on {hf.device}, attention "
          f"{getattr(hf.config, '_attn_implementation', None)}", flush=True)
    fixture, _, _, full, step_logits = logits_fixture(torch, hf, index, header)
    del hf
    torch.cuda.empty_cache()
    _, _, _, full32, steps32 = logits_fixture(torch, load_hf(str(mdir)), index, header)
    noise = [float(f"{l2_rel(a, b):.3g}") for a, b in zip([full[i] for i in LOGIT_POSITIONS] + step_logits,
                                                          [full32[i] for i in LOGIT_POSITIONS] + steps32)]
    fixture["hf_bf16_vs_fp32_rel_err"] = noise
    size = dump(out / f"bf16_logits_{name}.json", fixture)
    print(f"  bf16_logits_{name}.json: {size} bytes ({time.time() - t0:.1f} s); transformers bf16 vs fp32 relative "
          f"error per row (positions, then steps): {noise}", flush=True)
    if max(noise) >= BF16_TOL:  # then the tolerance is below transformers' own rounding: say so, the file stays
        print(f"  WARNING: {name}: transformers' bf16 logits are {max(noise):.3g} from its fp32 run, above the "
              f"{BF16_TOL} that dysco's must meet against them", flush=True)
    return []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--work", help="where the checkpoints go (default: a temporary folder)")
    ap.add_argument("--threads", type=int, default=4, help="torch CPU threads (default 4)")
    ap.add_argument("--only", help="comma-separated fixture names (qwen3, llama, qwen3_moe)")
    ap.add_argument("--bf16", action="store_true", help="write bf16_logits_*.json (transformers in bf16 on the GPU) "
                    "instead of the fp32 fixtures")
    args = ap.parse_args()

    if args.bf16:  # cuBLAS is deterministic only with this workspace setting, read when torch starts CUDA
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    import torch
    import transformers
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    # bf16 on the GPU: warn only where an op has no deterministic CUDA kernel (the dumps are made once)
    torch.use_deterministic_algorithms(True, warn_only=args.bf16)
    torch.set_grad_enabled(False)
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "python": platform.python_version()}
    if args.bf16:
        if not torch.cuda.is_available():
            sys.exit("hf_reference_dumps.py: --bf16 needs a CUDA device, torch sees none")
        versions["device"] = torch.cuda.get_device_name(0)
    print(json.dumps(versions), flush=True)
    work = Path(args.work or tempfile.mkdtemp(prefix="dysco-ref-"))
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    failures = []
    only = set(args.only.split(",")) if args.only else None
    for index, (name, _, _, _) in enumerate(MODELS):
        if only and name not in only:
            continue
        try:
            failures += (one_model_bf16 if args.bf16 else one_model)(args, torch, versions, work, out, index, name)
        except Exception:  # report and go on with the next model: a device run is precious
            import traceback
            traceback.print_exc()
            failures.append(f"{name}: exception (traceback above)")
    for f in failures:
        print(f"FAILED: {f}")
    print("ok" if not failures else f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""QRHead's scores restated in numpy (float64) on a tiny dysco checkpoint, for test_qrhead_reference.

usage: tests/qrhead_numpy_reference.py DYSCO MODEL_DIR DATA.json QRELS RETRIEVE.json

Independent of dysco's forward and of its QRHead code: the checkpoint's safetensors are read
here and the decoder (Qwen3: q/k RMSNorm; Llama: llama3 RoPE scaling) is run in float64 over each
prompt, its attention probabilities taken as eager attention has them; the rest follows the
reference's code (QRHead src/qrretriever/attn_retriever.py, exp_scripts/detection/*.py): the
prompt strings, the span search through the offset mapping, the mean over the query rows minus
the null query's ("N/A"), the mean - 2 std filter per head (detection) or after summing the
heads (retrieval), the LME criterion (numpy mean of the gold sums) and BEIR's (paragraphs
shuffled by random.seed(42), nDCG@10 as trec_eval's ndcg_cut with gains = relevance and ties by
document id descending, the mean rounded to 5 decimals). Only the tokenizer is dysco's own
(`dysco tokenize --offsets`; its ids are held to Hugging Face's by the tokenizer parity tests).
RETRIEVE.json: {"heads": "l-h,...", "query": ..., "docs": [...]}.
Prints {"lme": [[name, score], ...], "beir": [...], "retrieve": {idx: score}} as JSON.
A PyTorch + transformers restatement of the same (tests/hf_qrhead_reference.py) runs on a GPU host.
"""
import json
import math
import random
import struct
import subprocess
import sys
import tempfile

import numpy as np

from qrhead_reference_common import Prompter, ndcg10  # tests/, the script's folder



def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        assert t["dtype"] == "F32", f"{name}: {t['dtype']} (make the checkpoint with --dtype fp32)"
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").astype(np.float64).reshape(t["shape"])
    return out


def inv_freq(cfg, d):
    f = 1.0 / (cfg.get("rope_theta", 10000.0) ** (np.arange(0, d, 2, dtype=np.float64) / d))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type"))
    if kind in (None, "default"):
        return f
    assert kind == "llama3", f"rope_type {kind}"
    factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    wavelen = 2 * math.pi / f
    scaled = np.where(wavelen > old / lo, f / factor, f)
    smooth = (old / wavelen - lo) / (hi - lo)
    medium = ~(wavelen < old / hi) & ~(wavelen > old / lo)
    return np.where(medium, (1 - smooth) * scaled / factor + smooth * scaled, scaled)


class Model:
    def __init__(self, mdir):
        self.cfg = json.load(open(f"{mdir}/config.json"))
        self.w = load_safetensors(f"{mdir}/model.safetensors")
        c = self.cfg
        self.L, self.H, self.Hkv = c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"]
        self.d = c.get("head_dim") or c["hidden_size"] // self.H
        self.eps = c["rms_norm_eps"]
        self.inv_freq = inv_freq(c, self.d)

    def norm(self, x, w):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps) * w

    def rope(self, x, pos):  # x (heads, n, d)
        ang = pos[:, None] * self.inv_freq[None, :]
        cos, sin = np.cos(np.concatenate([ang, ang], -1)), np.sin(np.concatenate([ang, ang], -1))
        half = self.d // 2
        rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
        return x * cos + rot * sin

    def attention_probs(self, ids):
        """Per layer the causal softmax (H, N, N) of the prompt."""
        w, n = self.w, len(ids)
        x = w["model.embed_tokens.weight"][ids]
        pos = np.arange(n, dtype=np.float64)
        mask = np.triu(np.full((n, n), -np.inf), 1)
        probs = []
        for l in range(self.L):
            p = f"model.layers.{l}."
            h = self.norm(x, w[p + "input_layernorm.weight"])
            q = (h @ w[p + "self_attn.q_proj.weight"].T).reshape(n, self.H, self.d).transpose(1, 0, 2)
            k = (h @ w[p + "self_attn.k_proj.weight"].T).reshape(n, self.Hkv, self.d).transpose(1, 0, 2)
            v = (h @ w[p + "self_attn.v_proj.weight"].T).reshape(n, self.Hkv, self.d).transpose(1, 0, 2)
            if p + "self_attn.q_norm.weight" in w:
                q, k = self.norm(q, w[p + "self_attn.q_norm.weight"]), self.norm(k, w[p + "self_attn.k_norm.weight"])
            q, k = self.rope(q, pos), self.rope(k, pos)
            r = self.H // self.Hkv
            k, v = np.repeat(k, r, axis=0), np.repeat(v, r, axis=0)
            logits = q @ k.transpose(0, 2, 1) / math.sqrt(self.d) + mask
            logits -= logits.max(-1, keepdims=True)
            e = np.exp(logits)
            att = e / e.sum(-1, keepdims=True)
            probs.append(att)
            o = (att @ v).transpose(1, 0, 2).reshape(n, self.H * self.d)
            x = x + o @ w[p + "self_attn.o_proj.weight"].T
            h = self.norm(x, w[p + "post_attention_layernorm.weight"])
            g, u = h @ w[p + "mlp.gate_proj.weight"].T, h @ w[p + "mlp.up_proj.weight"].T
            x = x + (g / (1 + np.exp(-g)) * u) @ w[p + "mlp.down_proj.weight"].T
        return probs


def tokenize_with_dysco(dysco, mdir):
    def encode(prompt):
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as f:
            f.write(prompt)
            f.flush()
            r = subprocess.run([dysco, "tokenize", "--model", mdir, "--offsets", "--file", f.name],
                               capture_output=True, text=True, check=True)
        enc = json.loads(r.stdout)
        return enc["input_ids"], enc["offset_mapping"]
    return encode


class Scorer:
    def __init__(self, dysco, mdir):
        self.model = Model(mdir)
        self.prompter = Prompter(self.model.cfg["model_type"], tokenize_with_dysco(dysco, mdir))

    def row_mean(self, ids, first):
        return np.stack([p[:, first:, :].mean(1) for p in self.model.attention_probs(ids)])  # (L, H, N)

    def calibrated(self, query, docs):
        c, _, dspans = self.prompter.calibrated(self.row_mean, query, docs)
        return c, dspans


def filtered_sum(x):  # over the last axis, torch's unbiased std
    thr = x.mean(-1) - 2 * x.std(-1, ddof=1)
    return (x * (x > thr[..., None])).sum(-1)


def detect(sc, examples):
    per_doc = []
    for ex in examples:
        docs = [dict(d, paragraph_text=d["paragraph_text"].strip()) for d in ex["paragraphs"]]
        c, dspans = sc.calibrated(ex["question"], docs)
        per_doc.append({str(d["idx"]): filtered_sum(c[:, :, a:b + 1]).reshape(-1) for d, (a, b) in zip(docs, dspans)})
    return per_doc


def main():
    dysco, mdir, data_path, qrels_path, retrieve_path = sys.argv[1:6]
    sc = Scorer(dysco, mdir)
    L, H = sc.model.L, sc.model.H
    data = json.load(open(data_path))
    per_doc = detect(sc, data)
    lme = []
    for h in range(L * H):
        vals = [float(np.sum([per_doc[i][str(g)][h] for g in ex["gt_docs"]])) if ex["gt_docs"] else 0
                for i, ex in enumerate(data)]
        lme.append((f"{h // H}-{h % H}", float(np.mean(vals))))
    lme.sort(key=lambda t: t[1], reverse=True)

    random.seed(42)
    for ex in data:
        random.shuffle(ex["paragraphs"])
    per_doc_beir = detect(sc, data)
    qrels = {}
    for line in open(qrels_path):
        q, _, d, r = line.split()
        qrels.setdefault(q, {})[d] = int(r)
    beir = []
    for h in range(L * H):
        runs = {ex["idx"]: {d: s[h] for d, s in per_doc_beir[i].items()} for i, ex in enumerate(data)}
        vals = [v for v in (ndcg10(qrels, q, run) for q, run in runs.items()) if v is not None]
        beir.append((f"{h // H}-{h % H}", round(sum(vals) / len(vals), 5)))
    beir.sort(key=lambda t: t[1], reverse=True)

    ret = json.load(open(retrieve_path))
    c, dspans = sc.calibrated(ret["query"], ret["docs"])
    sel = [tuple(int(x) for x in h.split("-")) for h in ret["heads"].split(",")]
    summed = sum(c[l, h] for l, h in sel)
    retrieve = {str(d["idx"]): float(filtered_sum(summed[a:b + 1])) for d, (a, b) in zip(ret["docs"], dspans)}
    print(json.dumps({"lme": lme, "beir": beir, "retrieve": retrieve}))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""QRHead reference scores of tiny dysco checkpoints, made with PyTorch + Hugging Face transformers.

usage: tests/hf_qrhead_reference.py BUILD_DIR TOKENIZERS_DIR OUT_DIR [--work DIR]

Runs on the GPU host (python3 with torch and transformers; BUILD_DIR/dysco built there, only
`make-model` is used). Everything runs on the CPU in fp32 (seconds). TOKENIZERS_DIR holds the
qwen3/ and llama3_1/ tokenizer folders (launch/fetch-tokenizers.sh). For each of tiny-qwen3 and
tiny-llama (peaked random attention as tests/hf_reference_dumps.py makes it) it writes
OUT_DIR/qrhead_{qwen3,llama}.json (committed as tests/fixtures/reference/), which
tests/test_qrhead_reference.c compares `dysco detect-heads` and `dysco retrieve` with:

  {"preset", "make_model_args" (after the output folder; the test adds --tokenizer), "tokenizer",
   "versions", "checkpoint_sha256" (config.json, model.safetensors),
   "data": the calibration examples (the detect-heads --data file), "qrels": TREC lines,
   "spans": per example {"query": [first, last], "docs": [[first, last], ...]} (HF's offsets),
   "per_doc": per example, per paragraph (file order), the L*H per-head scores (layer-major),
   "lme": [["layer-head", score], ...] as detect_qrhead_lme.py writes it,
   "beir": the same for detect_qrhead_beir.py's criterion (paragraphs shuffled by random.seed(42),
           nDCG@10 restated from trec_eval's ndcg_cut below; also by pytrec_eval when installed:
           "beir_pytrec_eval_agrees"),
   "retrieve": {"heads": "l-h,...", "query", "docs", "scores": {idx: score}}}

The mass is restated from the reference's code (QRHead src/qrretriever/attn_retriever.py): the
mean over the query-span rows of the causal softmax (transformers' eager attention probabilities,
output_attentions=True, here in fp32 and widened to float64), minus the same for the prompt whose
question is "N/A"; each paragraph's tokens above (mean - 2 std) summed, per head (detection) or
after summing the chosen heads (retrieval). The prompt strings and the span search through the
offset mapping are the reference's (get_prompt, compose_scoring_prompt, get_content_span).
"""
import argparse
import hashlib
import json
import random
import sys
import tempfile
from pathlib import Path

from hf_reference_dumps import dysco  # tests/ is the script's folder, first on sys.path
from qrhead_reference_common import ndcg10, Prompter

MODELS = [  # fixture name, preset, tokenizer folder, seed, extra make-model arguments
    ("qwen3", "tiny-qwen3", "qwen3", 201, ["--qk-std", "0.35", "--norm-jitter", "3.0"]),
    ("llama", "tiny-llama", "llama3_1", 202, ["--qk-std", "0.2"]),
]
WORDS = ("river town market winter bridge harbor castle garden museum library station village forest "
         "mountain island valley lantern copper silver engine ledger orchard meadow canyon glacier "
         "Zürich café naïve 東京 München Łódź").split()


def make_data(seed):
    """Six examples of 4-6 paragraphs; titles on some, integer ids on one, one without gold."""
    rng = random.Random(seed)
    data = []
    for e in range(6):
        docs = []
        for k in range(rng.randint(4, 6)):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 30))) + "."
            doc = {"idx": k if e == 3 else f"e{e}p{k}", "paragraph_text": ("  " if k == 0 else "") + text}
            if rng.random() < 0.5:
                doc["title"] = rng.choice(WORDS).capitalize()
            docs.append(doc)
        gold = [] if e == 5 else rng.sample([d["idx"] for d in docs], rng.randint(1, 2))
        question = "Which " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9))) + "?"
        data.append({"idx": f"q{e}", "question": question, "paragraphs": docs, "gt_docs": gold})
    return data


def qrels_of(data, seed):
    rng = random.Random(seed + 1)
    lines = []
    for ex in data:
        for d in ex["paragraphs"]:
            rel = rng.choice([0, 0, 1, 2])
            if rel or rng.random() < 0.3:
                lines.append(f"{ex['idx']} 0 {d['idx']} {rel}")
    return lines


class Scorer:
    def __init__(self, torch, model, tokenizer, family):
        self.torch, self.model = torch, model

        def encode(prompt):
            enc = tokenizer(prompt, return_offsets_mapping=True)
            return enc["input_ids"], enc["offset_mapping"]
        self.prompter = Prompter(family, encode)

    def row_mean(self, ids, first):
        torch = self.torch
        with torch.no_grad():
            out = self.model(torch.tensor([ids]), output_attentions=True)
        att = torch.stack([a[0] for a in out.attentions]).double()  # (L, H, N, N)
        return att[:, :, first:, :].mean(2)  # (L, H, N)

    def calibrated(self, query, docs):
        return self.prompter.calibrated(self.row_mean, query, docs)

    @staticmethod
    def filtered_sum(x):  # the last axis is the span's tokens
        thr = x.mean(-1) - 2 * x.std(-1)
        return (x * (x > thr.unsqueeze(-1))).sum(-1)


def one_model(args, torch, versions, work, name, preset, tok_name, seed, extra):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    mdir = work / name
    mm_args = ["--preset", preset, "--dtype", "fp32", "--seed", str(seed), *extra, "--force"]
    dysco(args.build_dir, "make-model", str(mdir), *mm_args, "--tokenizer", str(Path(args.tokenizers) / tok_name))
    model = AutoModelForCausalLM.from_pretrained(str(mdir), dtype=torch.float32, attn_implementation="eager").eval()
    tok = AutoTokenizer.from_pretrained(str(mdir))
    sc = Scorer(torch, model, tok, name)
    L, H = model.config.num_hidden_layers, model.config.num_attention_heads
    data = make_data(seed)
    qrels_lines = qrels_of(data, seed)

    def detect(examples):
        per_doc, spans = [], []
        for ex in examples:
            docs = [dict(d, paragraph_text=d["paragraph_text"].strip()) for d in ex["paragraphs"]]
            c, qspan, dspans = sc.calibrated(ex["question"], docs)
            scores = [Scorer.filtered_sum(c[:, :, a:b + 1]).reshape(-1).tolist() for a, b in dspans]
            per_doc.append({d["idx"]: s for d, s in zip(docs, scores)})
            spans.append({"query": list(qspan), "docs": [list(s) for s in dspans]})
        return per_doc, spans

    per_doc, spans = detect(data)
    import numpy as np
    lme = []
    for h in range(L * H):
        vals = [float(np.sum([per_doc[i][g][h] for g in ex["gt_docs"]])) if ex["gt_docs"] else 0
                for i, ex in enumerate(data)]
        lme.append((f"{h // H}-{h % H}", float(np.mean(vals))))
    lme.sort(key=lambda t: t[1], reverse=True)

    shuffled = json.loads(json.dumps(data))
    random.seed(42)
    for ex in shuffled:
        random.shuffle(ex["paragraphs"])
    per_doc_beir, _ = detect(shuffled)
    qrels = {}
    for line in qrels_lines:
        q, _, d, r = line.split()
        qrels.setdefault(q, {})[d] = int(r)
    beir, pytrec_agrees = [], None
    for h in range(L * H):
        runs = {ex["idx"]: {str(d): s[h] for d, s in per_doc_beir[i].items()} for i, ex in enumerate(shuffled)}
        vals = [v for v in (ndcg10(qrels, q, run) for q, run in runs.items()) if v is not None]
        beir.append((f"{h // H}-{h % H}", round(sum(vals) / len(vals), 5)))
        try:
            import pytrec_eval
            ev = pytrec_eval.RelevanceEvaluator({q: {d: r for d, r in v.items() if r > 0} for q, v in qrels.items()},
                                                {"ndcg_cut.10"})
            res = ev.evaluate(runs)
            want = round(sum(v["ndcg_cut_10"] for v in res.values()) / len(res), 5)
            pytrec_agrees = (pytrec_agrees is not False) and abs(want - beir[-1][1]) < 1e-9
        except ImportError:
            pass
    beir.sort(key=lambda t: t[1], reverse=True)

    heads = [f"{(3 * i + 1) % L}-{(5 * i + 2) % H}" for i in range(5)]
    ex = data[1]
    c, _, dspans = sc.calibrated(ex["question"], ex["paragraphs"])
    sel = torch.tensor([[int(x) for x in h.split("-")] for h in heads])
    summed = c[sel[:, 0], sel[:, 1]].sum(0)
    retrieve = {"heads": ",".join(heads), "query": ex["question"], "docs": ex["paragraphs"],
                "scores": {str(d["idx"]): Scorer.filtered_sum(summed[a:b + 1]).item()
                           for d, (a, b) in zip(ex["paragraphs"], dspans)}}
    sha = {f: hashlib.sha256((mdir / f).read_bytes()).hexdigest() for f in ("config.json", "model.safetensors")}
    fixture = {"preset": preset, "make_model_args": mm_args, "tokenizer": tok_name, "versions": versions,
               "checkpoint_sha256": sha, "data": data, "qrels": qrels_lines, "spans": spans,
               "per_doc": [[per_doc[i][d["idx"]] for d in ex["paragraphs"]] for i, ex in enumerate(data)],
               "lme": lme, "beir": beir, "beir_pytrec_eval_agrees": pytrec_agrees, "retrieve": retrieve}
    path = Path(args.out_dir) / f"qrhead_{name}.json"
    path.write_text(json.dumps(fixture, separators=(",", ":"), ensure_ascii=False) + "\n")
    print(f"{path}: {path.stat().st_size} bytes; LME top {lme[:3]}; BEIR top {beir[:3]}; pytrec_eval {pytrec_agrees}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("build_dir")
    ap.add_argument("tokenizers")
    ap.add_argument("out_dir")
    ap.add_argument("--work")
    args = ap.parse_args()
    import torch
    import transformers
    torch.manual_seed(0)
    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__}
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="qrhead-ref-"))
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    for m in MODELS:
        one_model(args, torch, versions, work, *m)


if __name__ == "__main__":
    main()

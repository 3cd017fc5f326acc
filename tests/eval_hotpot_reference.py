#!/usr/bin/env python3
"""The reference's HotpotQA loaders (eval_datasets/helmet/helmet_data.py: load_hotpot for
hotpot_nocot_*, load_hotpot_cot for hotpot_cot_*) restated without Hugging Face datasets, which
these machines lack: json lines in the place of load_dataset("json"), and Dataset.shuffle(seed)
as what it is, a select of np.random.default_rng(seed).permutation(len). Prints the examples as
one JSON list, for tests/test_eval_hotpot.c to compare with dysco's loader.

usage: tests/eval_hotpot_reference.py DATA_DIR DATASET   (needs numpy)
"""

import hashlib
import json
import os
import random
import sys

import numpy as np

K = {"8k": 50, "16k": 105, "32k": 220, "64k": 440, "128k": 1000}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load(name, path, seed=42):
    name = name.replace("_nonchat_", "_")  # load_helmet_data does this first
    data = read_jsonl(os.path.join(path, f"kilt/hotpotqa-dev-multikilt_1000_k{K[name.split('_')[-1]]}_dep3.jsonl"))
    nocot = name.startswith("hotpot_nocot_")
    demo_data = read_jsonl(os.path.join(path, "kilt/hotpotqa-train-multikilt_1000_k3_dep3.jsonl")) if nocot else None
    if nocot:
        user_template = ("Use the given documents to write a concise and short answer to the question. Write your answer "
                         "in the following format:\nAnswer: [answer]\n\n{demos}{context}\n\nQuestion: {question}")
    else:
        user_template = ("You will be given a list of documents and a question, please answer the question based on the "
                         "documents.\n\nDOCUMENTS:\n{context}\n\n\nNow answer the following question based on the "
                         "documents above.\nQuestion: {question}")
    key = "id" if any("id" in d for d in data) else "question"
    random.seed(seed)
    keys = set(d[key] for d in data)
    keys = random.sample(sorted(keys), min(100, len(keys)))
    data = [d for d in data if d[key] in keys]
    demo_template = "{documents}\n\nQuestion: {question}\nAnswer: {answer}"
    passage_template = "Document (Title: {title}): {text}"
    out = []
    for sample in data:
        d = dict(sample)
        if nocot:
            h = int(hashlib.sha256(sample[key].encode("utf-8")).hexdigest(), 16) % 2**31
            shuffled = [demo_data[i] for i in np.random.default_rng(h).permutation(len(demo_data))]
            seen, demos = set(), []
            for x in shuffled:  # drop_duplicates(demos, key).select(range(2))
                if x[key] not in seen:
                    seen.add(x[key])
                    demos.append(x)
            demos = demos[:2]
            d["demos"] = "\n\n".join([demo_template.format(**x, documents="\n\n".join(
                [passage_template.format(**c) for c in x["ctxs"]]), answer=x["answers"][0]) for x in demos]) + "\n\n"
        d["context"] = "\n\n".join([passage_template.format(**c) for c in sample["ctxs"]]) if sample["ctxs"] else ""
        d["answer"] = sample["answers"]
        input_prompt = user_template.format(**d)
        del d["context"]
        out.append({"input_prompt": input_prompt, "reference_output": " ".join(d["answer"]), "item": d})
    return out


if __name__ == "__main__":
    json.dump(load(sys.argv[2], os.path.join(sys.argv[1], "helmet")), sys.stdout)

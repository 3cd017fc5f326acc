#!/usr/bin/env python3
"""The reference's InfiniteBench loader (eval_datasets/helmet/helmet_data.py: load_infbench and
truncate_llama2) restated without Hugging Face datasets and transformers, which these machines
lack: the rows as tests/eval_synthetic_data.py makes them (the Arrow reader that reads them back
is tested on its own), Dataset.shuffle(seed) as np.random.default_rng(seed).permutation, and the
Llama-2 tokenizer's ids and offset_mapping from `dysco tokenize --offsets` (the tokenizer is held
to Hugging Face's by test_tokenizer_parity). Prints the examples as one JSON list, for
tests/test_eval_infbench.c to compare with dysco's loader.

usage: tests/eval_infbench_reference.py DYSCO TOKENIZER_DIR DATASET EXAMPLES TOKENS SEED  (needs numpy)
"""

import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import eval_synthetic_data as synthetic  # noqa: E402

POSTFIX = " ... [the rest of the text is omitted]"
TRUNCATE = {"8k": 7892, "16k": 16084, "32k": 32468, "64k": 65236, "128k": 130862}


def tokenize(dysco, tokenizer_dir, text):
    out = subprocess.run([dysco, "tokenize", "--model", tokenizer_dir, "--offsets", "--text", text],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def load(dataset_name, rows, dysco, tokenizer_dir, seed=42):
    shots = 2
    truncate_length = TRUNCATE[dataset_name.split("_")[-1]]
    if "qa_eng" in dataset_name:
        user_template = ("You are given a story and a question. Answer the question as concisely as you can, using a "
                         "single phrase if possible.\n\n{demo}{context}\n\nQuestion: {question}")
    else:
        user_template = ("You are given a story and a question with multiple choices. Choose the best answer from the "
                         "options provided. Only one of the following options is correct, output the answer using one "
                         "single letter (A, B, C, or D). Don't say anything else.\n\n{demo}{context}\n\nQuestion: "
                         "{question}\nOptions:\n{options}")
    prompt_template = user_template + "\n\n" + "Answer:"
    data = []
    for example in rows:  # process_example
        d = dict(example)
        d.update({"question": example["input"], "demo": ""})
        if "choice" in dataset_name:
            d["options"] = "A. {}\nB. {}\nC. {}\nD. {}".format(*example["options"])
            answer = chr(ord("A") + example["options"].index(example["answer"][0]))
            d["answer"] = [answer, f"{answer}. {example['answer'][0]}"]
        data.append(d)
    with_demos = []
    for example in data:  # add_demos
        others = [x for x in data if x["id"] != example["id"]]
        demos = [others[i] for i in np.random.default_rng(seed).permutation(len(others))[:shots]]
        if "qa_eng" in dataset_name:
            temp = "[story text]\nQuestion: {question}\nAnswer: {answer[0]}"
        else:
            temp = "[story text]\nQuestion: {question}\nOptions:\n{options}\nAnswer: {answer[0]}"
        demo = "\n\n".join([temp.format(**x) for x in demos])
        with_demos.append({**example, "demo": f"For example:\n\n{demo}\n\nNow, read the following story:\n\n"})
    data = [with_demos[i] for i in np.random.default_rng(seed).permutation(len(with_demos))[:200]]
    separator_length = len(tokenize(dysco, tokenizer_dir, POSTFIX)["input_ids"])
    out = []
    for d in data:  # truncate_llama2, then the examples
        tokens = tokenize(dysco, tokenizer_dir, d["context"])
        if len(tokens["input_ids"]) > truncate_length:
            d["context"] = d["context"][:tokens["offset_mapping"][truncate_length - separator_length][1]] + POSTFIX
        input_prompt = prompt_template.format(**d)
        reference_output = str(d["answer"])
        del d["context"]
        out.append({"input_prompt": input_prompt, "reference_output": reference_output, "item": d})
    return out


if __name__ == "__main__":
    dysco, tokenizer_dir, name, n, tokens, seed = sys.argv[1:7]
    split = "longbook_choice_eng" if "choice_eng" in name else "longbook_qa_eng"
    rng = synthetic.file_rng(int(seed), split)
    rows = [synthetic.infbench_row(rng, i, int(tokens), split.endswith("choice_eng")) for i in range(int(n))]
    json.dump(load(name, rows, dysco, tokenizer_dir), sys.stdout)

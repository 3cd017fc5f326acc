#!/usr/bin/env python3
"""Synthetic QRHead calibration data for speed runs: dysco detect-heads --data's format.

usage: tests/qrhead_synthetic_data.py OUT.json [--examples 70] [--paragraphs 20] [--words 780] [--seed 0]

Each example: a question of 12 words, PARAGRAPHS paragraphs of WORDS random English words
(about one Qwen3 / Llama-3 token per word: 20 x 780 words make a prompt of about 16k tokens),
one or two gold paragraphs holding the question's words. Deterministic for a seed.
"""
import argparse
import json
import random

WORDS = ("time year people way day man thing woman life child world school state family student group "
         "country problem hand part place case week company system program question work government number "
         "night point home water room mother area money story fact month lot right study book eye job word "
         "business issue side kind head house service friend father power hour game line end member law car "
         "city community name president team minute idea kid body information back parent face others level "
         "office door health person art war history party result change morning reason research girl guy "
         "moment air teacher force education").split()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--examples", type=int, default=70)
    ap.add_argument("--paragraphs", type=int, default=20)
    ap.add_argument("--words", type=int, default=780)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    data = []
    for e in range(a.examples):
        question = [rng.choice(WORDS) for _ in range(12)]
        gold = rng.sample(range(a.paragraphs), rng.randint(1, 2))
        paragraphs = []
        for k in range(a.paragraphs):
            words = [rng.choice(WORDS) for _ in range(a.words)]
            if k in gold:
                words[100:100 + len(question)] = question
            paragraphs.append({"idx": f"e{e}p{k}", "title": f"Title {k}", "paragraph_text": " ".join(words) + "."})
        data.append({"idx": f"q{e}", "question": " ".join(question) + "?", "paragraphs": paragraphs,
                     "gt_docs": [f"e{e}p{k}" for k in gold]})
    with open(a.out, "w") as f:
        json.dump(data, f)


if __name__ == "__main__":
    main()

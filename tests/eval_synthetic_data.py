#!/usr/bin/env python3
"""Writes synthetic evaluation data in the reference's layout and schema, so that `dysco eval`
runs end to end with no downloads (the quick check of the README, and the tests).

usage: tests/eval_synthetic_data.py --out DIR [--datasets NAME,...] [--examples N] [--tokens N]
                                    [--seed S]

  DIR/longproc/path_walking/path_walking_{4k,8k,16k,32k}.json and prompts.yaml
      LongProc's path traversal schema (what the reference's loader reads: context_nl,
      question_repr, answer_nl; also context_repr, question_nl and answer_repr as LongProc's
      files carry them). Every city has one outgoing connection, so the route from the source
      to the destination is unique; answer_nl is that route, one "From A, take a MODE to B."
      line per hop. prompts.yaml's USER_PROMPT is a template of our own in the place of the
      one the reference's data zip ships (its fields: city_context, src_city, dst_city).
  DIR/mrcr/{2,4,8}needle_{8k,16k,32k,64k,128k,256k}.json
      OpenAI MRCR-style records: input_prompt, a multi-turn conversation of requests ("write a
      poem about tapirs") and answers in which one request is asked N times (the needles), and
      a last request to repeat the k-th of those answers with a random string prepended;
      reference_output is that string followed by the answer, random_string_to_prepend the
      string; n_needles, desired_msg_index, total_messages and n_chars as OpenAI's records.

  DIR/helmet/kilt/hotpotqa-dev-multikilt_1000_k{K}_dep3.jsonl (K 50/105/220/440/1000 for
  8k..128k, read by hotpot_nocot_* and hotpot_cot_*) and
  DIR/helmet/kilt/hotpotqa-train-multikilt_1000_k3_dep3.jsonl (hotpot_nocot's demos)
      HELMET's KILT HotpotQA schema, one JSON object a line: id, question, answers (a list),
      ctxs (passages {id, title, text}, one of them stating the answer). Every 10th record
      repeats an earlier record's id, as the loader must keep every record of a chosen id.

  DIR/helmet/longqa/infbench (for infbench_qa_eng_* and infbench_choice_eng_*)
      a Hugging Face datasets folder as DatasetDict.save_to_disk writes it: dataset_dict.json,
      and per split (longbook_qa_eng, longbook_choice_eng) state.json and one Arrow IPC stream
      file (tests/arrow_stream_writer.py) of InfiniteBench's columns: id, context (a story in
      which a made-up town's river is named), input (the question), answer (a list), options
      (four for choice, none for qa). Both splits are written for either name.

--datasets picks files by their dataset names (default: all of the above); --examples is the
number of examples per file (default 20); --tokens sizes every prompt to about N tokens
(default: the length in the dataset's name, e.g. 16k = 16384; about 3.5 characters a token).
The same arguments write the same bytes: one random.Random(seed) per file, seeded from --seed
and the file's name. Python 3 standard library only.
"""

import argparse
import json
import os
import random
import sys
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arrow_stream_writer  # noqa: E402  (beside this script)

PATH_LENGTHS = ["4k", "8k", "16k", "32k"]
MRCR_LENGTHS = ["8k", "16k", "32k", "64k", "128k", "256k"]
CHARS_PER_TOKEN = 3.5
MODES = ["bus", "train", "plane", "ferry"]
HELMET_LENGTHS = ["8k", "16k", "32k", "64k", "128k"]
HOTPOT_K = {"8k": 50, "16k": 105, "32k": 220, "64k": 440, "128k": 1000}
HOTPOT_DEMOS = 40  # records of the demo file

USER_PROMPT = """[TASK]
You are given a list of cities. Each city has exactly one outgoing connection: from it you can
travel to one other city by bus, train, plane or ferry. Find the route from the source city to
the destination city by following the connections.

[OUTPUT FORMAT]
Write the route between <Route> and </Route>, one hop per line, each line in the form
"From CITY, take a MODE to CITY." and nothing else inside the tags.

[EXAMPLE]
Cities: Aldor is a lively city. You can travel from Aldor to Belm by train.
Belm is a lively city. You can travel from Belm to Cosk by ferry.
Cosk is a lively city. You can travel from Cosk to Aldor by bus.
The route from Aldor to Cosk:
<Route>
From Aldor, take a train to Belm.
From Belm, take a ferry to Cosk.
</Route>

[PROBLEM]
{city_context}

Now find the route from {src_city} to {dst_city}. Write it between <Route> and </Route>, one
hop per line.
"""


def tokens_of(length):
    return int(length[:-1]) * 1024


def file_rng(seed, name):
    return random.Random(seed * 1000003 + zlib.crc32(name.encode()))


def city_names(rng, n):
    onsets = ["b", "br", "c", "d", "dr", "f", "g", "gr", "h", "k", "l", "m", "n", "p", "r", "s", "st", "t", "v", "z"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou"]
    codas = ["", "n", "r", "l", "s", "th", "m", "x"]
    names = set()
    while len(names) < n:
        parts = rng.randint(2, 3)
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(parts)) + rng.choice(codas)
        names.add(word.capitalize())
    names = sorted(names)
    rng.shuffle(names)
    return names


def path_walking_example(rng, tokens):
    # A city line is about 60 characters; the template adds about 1,000.
    n_cities = max(6, int((tokens * CHARS_PER_TOKEN - 1000) / 60))
    cities = city_names(rng, n_cities)
    hops = rng.randint(3, min(8, n_cities - 1))
    route = cities[: hops + 1]
    edges = {}
    for a, b in zip(route, route[1:]):
        edges[a] = (b, rng.choice(MODES))
    for c in cities[hops:]:  # the destination and the cities off the route go anywhere else
        edges[c] = (rng.choice([x for x in cities if x != c]), rng.choice(MODES))
    order = cities[:]
    rng.shuffle(order)
    context_repr = [[c, edges[c][0], edges[c][1]] for c in order]
    context_nl = "\n".join(f"{a} is a lively city. You can travel from {a} to {b} by {m}." for a, b, m in context_repr)
    answer_repr = [[a, edges[a][1], edges[a][0]] for a in route[:-1]]
    return {
        "context_repr": context_repr,
        "context_nl": context_nl,
        "question_repr": [route[0], route[-1]],
        "question_nl": f"Find the route from {route[0]} to {route[-1]}.",
        "answer_repr": answer_repr,
        "answer_nl": "\n".join(f"From {a}, take a {m} to {b}." for a, m, b in answer_repr),
    }


WORDS = ("river stone quiet lantern meadow silver harbor window ember orchard thunder willow candle "
         "compass feather glacier hollow island juniper kettle marble needle oyster pepper quill "
         "saddle timber velvet walnut yonder zephyr amber basket copper dune echo fable garnet").split()
FORMS = ["poem", "short story", "riddle", "song", "letter", "essay", "limerick", "speech"]
TOPICS = ["tapirs", "lighthouses", "the moon", "bicycles", "glaciers", "owls", "harbors", "tea", "clocks",
          "volcanoes", "libraries", "foxes", "trains", "deserts", "bees", "snow"]


def answer_text(rng, chars):
    words = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append(rng.choice(WORDS))
    lines = [" ".join(words[i:i + 8]) for i in range(0, len(words), 8)]
    return "\n".join(lines).capitalize() + "."


def ordinal(k):
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(k, f"{k}th")


def mrcr_example(rng, needles, tokens):
    total_chars = tokens * CHARS_PER_TOKEN
    answer_chars = max(60, min(1200, int(total_chars / 24)))
    n_turns = max(needles + 1, int(total_chars / (answer_chars + 60)))
    form, topic = rng.choice(FORMS), rng.choice(TOPICS)
    needle_turns = sorted(rng.sample(range(n_turns), needles))
    messages, needle_answers = [], []
    for t in range(n_turns):
        if t in needle_turns:
            ask_form, ask_topic = form, topic
        else:
            while True:
                ask_form, ask_topic = rng.choice(FORMS), rng.choice(TOPICS)
                if (ask_form, ask_topic) != (form, topic):
                    break
        answer = answer_text(rng, answer_chars)
        if t in needle_turns:
            needle_answers.append(answer)
        messages.append({"role": "user", "content": f"write a {ask_form} about {ask_topic}"})
        messages.append({"role": "assistant", "content": answer})
    k = rng.randint(1, needles)
    prefix = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(10))
    messages.append({"role": "user", "content": f"Prepend {prefix} to the {ordinal(k)} (1 indexed) {form} about "
                                                f"{topic}. Do not include any other text in your response."})
    return {
        "input_prompt": messages,
        "reference_output": prefix + needle_answers[k - 1],
        "random_string_to_prepend": prefix,
        "n_needles": needles,
        "desired_msg_index": 2 * needle_turns[k - 1] + 1,
        "total_messages": len(messages),
        "n_chars": sum(len(m["content"]) for m in messages),
    }


def town_name(rng):
    return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(3)).capitalize()


def hotpot_record(rng, i, passages, chars, ids):
    """One KILT HotpotQA record: a question about a made-up town, answered by one of its passages."""
    town = town_name(rng)
    thing, value = rng.choice([("river", "the Olm"), ("founder", "Ada Kern"), ("bridge", "Stone Arch"),
                               ("festival", "the Lantern Fair"), ("mayor", "Jo\u00eb Brandt")])
    gold = rng.randrange(passages)
    ctxs = []
    for k in range(passages):
        text = answer_text(rng, chars).replace("\n", " ")
        if k == gold:
            text = f"The {thing} of {town} is {value}. " + text
        ctxs.append({"id": f"{i}_{k}", "title": f"{town} {k}" if k % 3 else f"T\u00edtulo {k}", "text": text})
    # Every 10th record takes an earlier record's id.
    rid = ids[rng.randrange(len(ids))] if ids and i % 10 == 9 else f"5a{rng.getrandbits(40):010x}"
    ids.append(rid)
    answers = [value] + ([value.split()[-1]] if " " in value else [])
    return {"id": rid, "question": f"What is the {thing} of {town}?", "answers": answers, "ctxs": ctxs}


def hotpot_records(rng, n, passages, tokens):
    chars = max(40, int(tokens * CHARS_PER_TOKEN / passages))
    ids = []
    return [hotpot_record(rng, i, passages, chars, ids) for i in range(n)]


INFBENCH_SCHEMA = [{"name": "id", "type": "int64"}, {"name": "context", "type": "large_utf8"},
                   {"name": "input", "type": "utf8"}, {"name": "answer", "type": {"list": "utf8"}},
                   {"name": "options", "type": {"list": "utf8"}}]


def infbench_row(rng, i, tokens, choice):
    town, river = town_name(rng), rng.choice(["Olm", "Vessa", "Tarn", "Quill", "Brenn", "Ysel"])
    story = answer_text(rng, int(tokens * CHARS_PER_TOKEN)).split("\n")
    story.insert(rng.randrange(len(story) + 1), f"The river of {town} is the {river}.")
    row = {"id": i, "context": "\n".join(story), "input": f"What is the river of {town} called?"}
    if choice:
        options = rng.sample(["Olm", "Vessa", "Tarn", "Quill", "Brenn", "Ysel", "Arno"], 4)
        if river not in options:
            options[rng.randrange(4)] = river
        row.update(answer=[river], options=options)
    else:
        row.update(answer=[river, f"the {river}"], options=[])
    return row


def write_infbench(root, seed, n, tokens):
    folder = os.path.join(root, "helmet", "longqa", "infbench")
    splits = ["longbook_qa_eng", "longbook_choice_eng"]
    write_json(os.path.join(folder, "dataset_dict.json"), {"splits": splits})
    for split in splits:
        rng = file_rng(seed, split)
        rows = [infbench_row(rng, i, tokens, split.endswith("choice_eng")) for i in range(n)]
        data = os.path.join(folder, split, "data-00000-of-00001.arrow")
        os.makedirs(os.path.dirname(data), exist_ok=True)
        with open(data, "wb") as f:  # two record batches, as a writer flushing mid-way makes
            f.write(arrow_stream_writer.stream({"schema": INFBENCH_SCHEMA, "batches": [rows[:n // 2], rows[n // 2:]]}))
        write_json(os.path.join(folder, split, "state.json"),
                   {"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "0", "_split": None})


def write_jsonl(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f)
        f.write("\n")


def main():
    names = [f"path_walking_{n}" for n in PATH_LENGTHS] + [
        f"mrcr_{k}needle_{n}" for k in (2, 4, 8) for n in MRCR_LENGTHS] + [
        f"hotpot_{v}_{n}" for v in ("nocot", "cot") for n in HELMET_LENGTHS] + [
        f"infbench_{v}_eng_{n}" for v in ("qa", "choice") for n in HELMET_LENGTHS]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--datasets", default=",".join(names))
    ap.add_argument("--examples", type=int, default=20)
    ap.add_argument("--tokens", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.examples < 1:
        sys.exit("eval_synthetic_data.py: --examples: expected a number >= 1")
    wanted = [d for d in args.datasets.split(",") if d]
    for d in wanted:
        if d not in names:
            sys.exit(f"eval_synthetic_data.py: --datasets: unknown dataset '{d}' (known: {', '.join(names)})")
    for d in wanted:
        rng = file_rng(args.seed, d)
        length = d.rsplit("_", 1)[1]
        tokens = args.tokens or tokens_of(length)
        if d.startswith("path_walking"):
            folder = os.path.join(args.out, "longproc", "path_walking")
            write_json(os.path.join(folder, d + ".json"), [path_walking_example(rng, tokens) for _ in range(args.examples)])
            with open(os.path.join(folder, "prompts.yaml"), "w", encoding="utf-8") as f:
                f.write("USER_PROMPT: |\n" + "".join("  " + line + "\n" if line else "\n"
                                                     for line in USER_PROMPT.split("\n")[:-1]))
        elif d.startswith("infbench"):
            write_infbench(args.out, args.seed, args.examples, tokens)
        elif d.startswith("hotpot"):
            # The file's own name seeds it, so hotpot_nocot_L and hotpot_cot_L write the same bytes.
            kilt = os.path.join(args.out, "helmet", "kilt")
            name = f"hotpotqa-dev-multikilt_1000_k{HOTPOT_K[length]}_dep3.jsonl"
            passages = max(3, min(HOTPOT_K[length], tokens // 160))
            write_jsonl(os.path.join(kilt, name), hotpot_records(file_rng(args.seed, name), args.examples, passages, tokens))
            if "_nocot_" in d:
                name = "hotpotqa-train-multikilt_1000_k3_dep3.jsonl"
                write_jsonl(os.path.join(kilt, name), hotpot_records(file_rng(args.seed, name), HOTPOT_DEMOS, 3, 300))
        else:
            needles = int(d.split("_")[1][:-len("needle")])
            path = os.path.join(args.out, "mrcr", d.split("_", 1)[1] + ".json")
            write_json(path, [mrcr_example(rng, needles, tokens) for _ in range(args.examples)])
        print(f"eval_synthetic_data.py: {d}: {args.examples} examples of about {tokens} tokens", file=sys.stderr)


if __name__ == "__main__":
    main()

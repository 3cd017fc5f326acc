#!/usr/bin/env bash
# The main job on the embedded default model (tiny-qwen3: random weights, the real Qwen3
# tokenizer; made by launch/setup.sh): validate it, tokenize the demo prompt through the chat
# template, and decode it with each method. Random weights make the text meaningless; what it
# shows is the whole path working, and the DySCO trace and logging.
#
# usage: launch/demo.sh [MODEL_DIR]    (DYSCO_DEVICE=cuda decodes on GPU 0; DYSCO_BIN: the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-${DYSCO_HOME:-$HOME/.cache/dysco}/models/tiny-qwen3}
device=${DYSCO_DEVICE:-cpu}
dysco=${DYSCO_BIN:-build/dysco}
prompt="Alice took the ferry from Oslo to Kiel, then a train to Munich. Which city is the route's last stop?"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { echo "+ $*" >&2; "$@"; }

run "$dysco" inspect "$model" --ctx 4096
run "$dysco" tokenize --model "$model" --chat --text "$prompt"
run "$dysco" generate --model "$model" --prompt "$prompt" --method vanilla --max-new-tokens 16 --device "$device"
run "$dysco" generate --model "$model" --prompt "$prompt" --method attnsharp --attn-temperature 0.8 --max-new-tokens 16 --device "$device"
run "$dysco" generate --model "$model" --prompt "$prompt" --method dysco --dysco-config configs/dysco/tiny_qwen3.yaml \
  --max-new-tokens 16 --device "$device" --output "$out/dysco.json" --trace "$out/trace.jsonl"
echo "DySCO generation_logging: $(tr -d '\n\t ' <"$out/dysco.json" | grep -o '"generation_logging":{[^}]*}')"
echo "DySCO trace, first intervention step: $(grep -m1 '"intervention"' "$out/trace.jsonl")"

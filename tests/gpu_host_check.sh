#!/usr/bin/env bash
# Build and check dysco on a GPU host in one go: private-prefix dependencies (launch/deps-prefix.sh,
# with DEPS_DIR/debs carried there), CUDA build for Hopper, the whole ctest suite including the
# GPU label, the transformers cross-check (tests/hf_check_models.py), the bf16 reference logits
# of transformers on this GPU and the CUDA backend against them, a real-shape round trip (qwen3-8b
# make-model + inspect), prefill/decode speed next to transformers (tests/hf_prefill_compare.py),
# DySCO on the GPU against the CPU and its bf16-storage twin (tests/dysco_device_compare.py), the
# GPU tests under compute-sanitizer and the tokenizer speed comparison with HF tokenizers.
# Logs go to $LOG_DIR (default build-gpu/logs). DEPS_DIR/tokenizers holds qwen3/, llama3_1/ and
# lenml_llama2/ as launch/fetch-tokenizers.sh writes them (the GPU hosts have no network), and
# llama2/ with Llama-2-7b's own files for the Llama-2 fixture.
# ONLY="step names" runs just those steps (deps, configure and build always run), e.g. the GPU
# acceptance in one call (about 6 minutes): ONLY="ctest_gpu make_tiny demo_cuda make_8b
# generate_8b_vanilla generate_8b_dysco hf_prefill_compare hf_dysco_compare sanitizer".
#
# usage: [ONLY="..."] tests/gpu_host_check.sh DEPS_DIR
set -uo pipefail
cd "$(dirname "$0")/.."
deps=${1:?usage: tests/gpu_host_check.sh DEPS_DIR}
logs=${LOG_DIR:-build-gpu/logs}
mkdir -p "$logs"
status=0
step() {  # step NAME CMD...: runs CMD, logs it, records failure
  local name=$1; shift
  case "$name" in deps|configure|build) ;; *) [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $name "* ]] || return 0 ;; esac
  echo "== $name: $*"
  local t0=$SECONDS
  if "$@" >"$logs/$name.log" 2>&1; then echo "   ok ($((SECONDS - t0)) s)"; else echo "   FAILED ($((SECONDS - t0)) s)"; status=1; fi
  tail -n 30 "$logs/$name.log"
}
step deps launch/deps-prefix.sh install "$deps"
source "$deps/env.sh"
step configure cmake -S . -B build-gpu -G Ninja -DCMAKE_CUDA_ARCHITECTURES=90a -DDYSCO_TOKENIZERS="$(cd "$deps" && pwd)/tokenizers"
step build cmake --build build-gpu --parallel "$(nproc)"
step ctest ctest --test-dir build-gpu --output-on-failure -j8
[ -z "${ONLY:-}" ] || step ctest_gpu ctest --test-dir build-gpu -V -L gpu  # in ctest otherwise; -V logs every check
step hf_check python3 tests/hf_check_models.py build-gpu /tmp/dysco-hf
# bf16_logits_{qwen3,llama,qwen3_moe}.json: transformers in bf16 on this GPU. They are written under
# $logs so they come back with the logs, and are then committed to tests/fixtures/reference/. Until
# then test_cuda_reference fails in the ctest step above (a missing fixture fails, by design); the
# step after the dumps runs it on the fresh files.
step hf_bf16_dumps python3 tests/hf_reference_dumps.py build-gpu "$logs/bf16_reference" --bf16 --work /tmp/dysco-bf16
step cuda_reference build-gpu/tests/test_cuda_reference build-gpu/dysco "$logs/bf16_reference"
# tokenizer_lenml_llama2.json: the tokenizers library on the Llama-2-format files that
# launch/fetch-tokenizers.sh fetches, written under $logs to come back and be committed to
# tests/fixtures/ (test_tokenizer_parity_llama2 holds dysco's SentencePiece-style path to it).
step tokenizer_fixture_llama2 python3 tests/hf_tokenizer_fixtures.py --llama2 "$deps/tokenizers/lenml_llama2" --out "$logs"
big=/tmp/dysco-qwen3-8b
step make_8b bash -c "time build-gpu/dysco make-model $big --preset qwen3-8b --force"
step inspect_8b build-gpu/dysco inspect $big --ctx 131072
step inspect_llama_8b bash -c "build-gpu/dysco make-model /tmp/dysco-llama3-8b --preset llama3-8b --config-only --force && build-gpu/dysco inspect --preset llama3-8b"
# Generation on the GPU: every method on a tiny model with the real
# tokenizer, then vanilla and DySCO on the Qwen3-8B-shape random checkpoint (1024-token prompt).
tiny=/tmp/dysco-tiny-qwen3
step make_tiny build-gpu/dysco make-model $tiny --preset tiny-qwen3 --tokenizer "$deps/tokenizers/qwen3" --force
step demo_cuda env DYSCO_DEVICE=cuda DYSCO_BIN=build-gpu/dysco launch/demo.sh $tiny
# DySCO on the GPU against the CPU and its bf16-storage twin (--device cpu-bf16) on the tiny
# presets: selection Jaccard, argmax and greedy agreement, near-ties at the first difference.
step dysco_device_compare python3 tests/dysco_device_compare.py --dysco build-gpu/dysco --work /tmp/dysco-devcmp
python3 -c "import json,random; r=random.Random(0); json.dump([r.randrange(151000) for _ in range(1024)], open('/tmp/ids1024.json','w'))"
for m in vanilla dysco; do
  step "generate_8b_$m" bash -c "build-gpu/dysco generate --model $big --input-ids /tmp/ids1024.json --method $m \
    --dysco-config configs/dysco/qwen3_8b.yaml --max-new-tokens 32 --device cuda --output /tmp/g_$m.json >/dev/null &&
    python3 -c \"import json; t=json.load(open('/tmp/g_$m.json'))['timing']; print({k: round(v, 4) for k, v in t.items()})\""
done
# Prefill and decode against transformers (SDPA, bf16) on the Qwen3-8B shape with YaRN as Qwen
# documents it for 128k. dysco prints each context when done, so a timeout still leaves 32k.
step hf_prefill_compare python3 tests/hf_prefill_compare.py --dysco build-gpu/dysco --preset qwen3-8b --ctx 8192,32768,131072 \
  --work /tmp/dysco-cmp --repeats 2 --decode-steps 48 --dysco-timeout 300 \
  --make-model-args="--rope-scaling '{\"rope_type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":32768}' --max-pos 131072"
# The DySCO step against the reference pattern (transformers eager attention with attention
# output) on the same shape, and bench --method dysco beside vanilla (issue 12's figures).
step hf_dysco_compare python3 tests/hf_dysco_compare.py --dysco build-gpu/dysco --preset qwen3-8b \
  --dysco-config configs/dysco/qwen3_8b.yaml --ctx 8192,32768,131072 --work /tmp/dysco-dcmp --steps 32 --dysco-timeout 400 \
  --make-model-args="--rope-scaling '{\"rope_type\":\"yarn\",\"factor\":4.0,\"original_max_position_embeddings\":32768}' --max-pos 131072"
# The GPU suite (ctest -L gpu, and the dysco processes its tests start) once under memcheck.
step sanitizer compute-sanitizer --tool memcheck --error-exitcode 1 --target-processes all \
  ctest --test-dir build-gpu --output-on-failure -L gpu
for t in qwen3 llama3_1; do
  step "tokenizer_bench_$t" python3 tests/hf_tokenizer_bench.py --tokenizer "$deps/tokenizers/$t" --dysco build-gpu/dysco
done
exit $status

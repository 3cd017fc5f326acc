#!/usr/bin/env bash
# Faults of a tensor-parallel job under mpirun (tests/launch/faults.sh): a rank killed with
# SIGKILL or failing alone ends `mpirun --oversubscribe -np 2 dysco generate --device cpu` within
# 30 s with a non-zero exit and the failing rank's message.
# usage: test_faults_mpirun.sh DYSCO MPIRUN TOKENIZERS
set -uo pipefail
here=$(dirname "$0")
source "$here/lib.sh"
source "$here/faults.sh"
DYSCO=${1:?usage: test_faults_mpirun.sh DYSCO MPIRUN TOKENIZERS}
mpirun=${2:?}
tokenizers=${3:?}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dysco-faults-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MODEL=$WORK/tiny-qwen3
make_tiny_model "$DYSCO" "$MODEL" "$tokenizers"
LAUNCH=("$mpirun" --oversubscribe -np 2)
fault_scenarios "mpirun -np 2" "process rank 1 .* exited on signal 9"

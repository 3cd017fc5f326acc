#!/usr/bin/env bash
# Tensor parallelism under a real SLURM (tests/launch/slurm_cluster.sh: one node, daemons started
# here as root): `sbatch --wait` of the generate job launch/slurm/render.sh writes for 2 tasks
# (`srun --mpi=pmix dysco generate --device cpu`) gives the one-process run's tokens, log and
# result where README "Clusters" says, and the faults of tests/launch/faults.sh end the job
# under `srun --kill-on-bad-exit` as they do under mpirun. Skipped, with the reason, where the
# daemons cannot run (not root, SLURM not installed, a daemon that does not start).
# usage: test_slurm.sh DYSCO TOKENIZERS
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
source "$here/slurm_cluster.sh"
source "$here/faults.sh"
DYSCO=$(realpath "${1:?usage: test_slurm.sh DYSCO TOKENIZERS}")
tokenizers=${2:?usage: test_slurm.sh DYSCO TOKENIZERS}
problem=$(slurm_cluster_unavailable)
[[ -z $problem ]] || skip "slurm: $problem"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dysco-slurm-XXXXXX")
chmod 755 "$WORK"
trap 'slurm_cluster_stop; rm -rf "$WORK"' EXIT
MODEL=$WORK/tiny-qwen3
make_tiny_model "$DYSCO" "$MODEL" "$tokenizers"
t0=$EPOCHREALTIME
slurm_cluster_start "$WORK/slurm" || skip "slurm: $slurm_cluster_problem"
pass "one-node SLURM up in $(seconds_since "$t0") s ($(sinfo -h -o '%P %D node(s), %c CPUs, %T'))"
# Open MPI keeps its session files under TMPDIR (keyed by job id): a folder of this cluster's
# own keeps them apart from another cluster's job of the same id.
export TMPDIR=$WORK/slurm/jobs

# The same generation as one process and as the 2-task batch job launch/slurm/render.sh writes.
args=(--model "$MODEL" --prompt "$FAULT_PROMPT" --method dysco --dysco-config "$here/../../configs/dysco/tiny_qwen3.yaml"
      --max-new-tokens 16)
"$DYSCO" generate "${args[@]}" --output "$WORK/one.json" >/dev/null 2>"$WORK/one.err" || fail "one process: $(cat "$WORK/one.err")"
home=$WORK/home
"$here/../../launch/slurm/render.sh" generate --nodes 1 --tasks-per-node 2 --dysco-home "$home" --dysco-bin "$DYSCO" \
  --job-name dysco-tp2 -- "${args[@]}" --tp-check-selection >"$WORK/job.sbatch" || fail "render.sh generate"
t0=$EPOCHREALTIME
job=$(timeout 120 sbatch --parsable --wait "$WORK/job.sbatch") ||
  fail "sbatch --wait: the job failed or ran past 120 s: $(squeue -h -o '%i %T %r'; cat "$home"/logs/*)"
log=$home/logs/dysco-tp2-$job.out
result=$home/results/dysco-tp2-$job/generate.json
[[ -f $log && -f $result ]] || fail "sbatch job $job: no log $log or result $result"
one=$(json_array "$WORK/one.json" output_ids)
tp2=$(json_array "$result" output_ids)
[[ -n $one && $one == "$tp2" ]] || fail "sbatch job: tokens differ from one process:\n  one process $one\n  tp 2        $tp2"
grep -q '"tp":[[:space:]]*2' "$result" || fail "sbatch job: $result does not say tp 2"
pass "sbatch --wait of the rendered generate job, 2 tasks under srun --mpi=pmix: the one-process tokens ($(seconds_since "$t0") s): $tp2"

LAUNCH=(srun --mpi=pmix --kill-on-bad-exit=1 --ntasks=2)
fault_scenarios "srun -n 2" "task 1: Killed"

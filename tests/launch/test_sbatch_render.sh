#!/usr/bin/env bash
# launch/slurm/render.sh and launch/gpu-bind.sh without a cluster: the README's job for 2 nodes
# x 8 GPUs renders to a script that passes bash -n and holds every line README "Clusters" says
# it sets, and run with stand-ins for srun and module it starts the ranks as that table says;
# bench and eval render too (eval with its results under the job's folder);
# wrong options are one-line errors; gpu-bind.sh gives each local rank its own GPU and refuses
# a rank past the node's GPUs.
# usage: test_sbatch_render.sh DYSCO
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
DYSCO=$(realpath "${1:?usage: test_sbatch_render.sh DYSCO}")
render=$repo/launch/slurm/render.sh
bind=$repo/launch/gpu-bind.sh
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dysco-render-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
home=$WORK/shared/dysco  # stands for the README's /shared/dysco
site=(--nodes 2 --gpus-per-node 8 --partition gpu --account proj42 --module cuda/12.4 --module openmpi/4.1
      --dysco-home "$home" --dysco-bin "$DYSCO")
job_args=(--model /shared/dysco/models/qwen3-8b --prompt-file prompt.txt --method dysco
          --dysco-config configs/dysco/qwen3_8b.yaml)

"$render" generate "${site[@]}" -- "${job_args[@]}" >"$WORK/generate.sbatch" 2>"$WORK/err" ||
  fail "render.sh generate: $(cat "$WORK/err")"
bash -n "$WORK/generate.sbatch" || fail "generate.sbatch: bash -n"
[[ -d $home/logs ]] || fail "render.sh did not create $home/logs for the job's log"
# The README's table: the literal in its second column, with /shared/dysco as this test's home.
mapfile -t expected < <(awk '/^#### What a rendered script sets/ { on = 1; next }
  on && /^\|/ { table = 1; if (++row > 2) print; next } table { exit }' "$repo/README.md" |
  sed -n 's/^|[^|]*| `\(.*\)` |$/\1/p')
((${#expected[@]} >= 19)) || fail "README: read ${#expected[@]} rows from the table 'What a rendered script sets', expected 19"
for line in "${expected[@]}"; do
  grep -qF -- "${line//\/shared\/dysco/$home}" "$WORK/generate.sbatch" ||
    fail "generate.sbatch lacks the README's line [$line]:"$'\n'"$(cat "$WORK/generate.sbatch")"
done
pass "generate for 2 nodes x 8 GPUs: bash -n, and the ${#expected[@]} lines of README's table"

# Run it with stand-ins: srun records its arguments and the environment the ranks would get.
mkdir -p "$WORK/bin"
printf '#!/bin/sh\nprintf "%%s\\n" "$@" >"%s/srun.args"; env >"%s/srun.env"\n' "$WORK" "$WORK" >"$WORK/bin/srun"
printf '#!/bin/sh\necho "$@" >>"%s/module.calls"\n' "$WORK" >"$WORK/bin/module"
chmod +x "$WORK/bin/srun" "$WORK/bin/module"
(cd "$WORK" && PATH=$WORK/bin:$PATH SLURM_JOB_NAME=dysco-generate SLURM_JOB_ID=4242 SLURM_CPUS_PER_TASK=4 SLURM_NTASKS=16 \
  SLURM_JOB_NODELIST='gpu[01-02]' bash generate.sbatch >"$WORK/job.out" 2>&1) || fail "generate.sbatch with stand-ins: $(cat "$WORK/job.out")"
want=(--mpi=pmix --kill-on-bad-exit=1 --cpu-bind=cores "$bind" "$DYSCO" generate --device cuda "${job_args[@]}"
      --output "$home/results/dysco-generate-4242/generate.json")
[[ $(cat "$WORK/srun.args") == "$(printf '%s\n' "${want[@]}")" ]] ||
  fail "generate.sbatch ran srun with"$'\n'"$(cat "$WORK/srun.args")"$'\n'"expected"$'\n'"$(printf '%s\n' "${want[@]}")"
for v in DYSCO_HOME="$home" NCCL_NVLS_ENABLE=0 OMP_NUM_THREADS=4; do
  grep -qx -- "$v" "$WORK/srun.env" || fail "the ranks' environment lacks $v"
done
[[ $(cat "$WORK/module.calls") == $'load cuda/12.4\nload openmpi/4.1' ]] || fail "module calls: $(cat "$WORK/module.calls")"
[[ -d $home/results/dysco-generate-4242 ]] || fail "no results folder $home/results/dysco-generate-4242"
pass "generate.sbatch run with stand-ins: srun ${want[*]:0:4} ... as the table says"

"$render" bench "${site[@]}" --env NCCL_NVLS_ENABLE=1 --env NCCL_DEBUG=WARN -- --model /m --ctx 8192,32768 >"$WORK/bench.sbatch" ||
  fail "render.sh bench"
bash -n "$WORK/bench.sbatch" || fail "bench.sbatch: bash -n"
for line in 'srun_dysco bench --device cuda --model /m --ctx 8192,32768 >"$RESULTS/bench.jsonl"' \
  'export NCCL_NVLS_ENABLE=1' 'export NCCL_DEBUG=WARN'; do
  grep -qxF -- "$line" "$WORK/bench.sbatch" || fail "bench.sbatch lacks [$line]"
done
grep -qx 'export NCCL_NVLS_ENABLE=0' "$WORK/bench.sbatch" && fail "bench.sbatch keeps NCCL_NVLS_ENABLE=0 beside --env NCCL_NVLS_ENABLE=1"
pass "bench: bash -n, its JSON lines to \$RESULTS/bench.jsonl, --env lines (NCCL_NVLS_ENABLE=1 replaces the default)"

expect_error() {  # expect_error WANT RENDER_ARGS...: exit 2 and the one line WANT
  local want=$1 status
  shift
  "$render" "$@" >/dev/null 2>"$WORK/err"
  status=$?
  [[ $status == 2 && $(cat "$WORK/err") == "$want" ]] ||
    fail "render.sh $*: expected exit 2 and [$want], got exit $status and [$(cat "$WORK/err")]"
}
"$render" eval "${site[@]}" -- --model /m --dataset path_walking_16k >"$WORK/eval.sbatch" || fail "render.sh eval"
bash -n "$WORK/eval.sbatch" &&
  grep -qxF 'srun_dysco eval --device cuda --model /m --dataset path_walking_16k --results-dir "$RESULTS"' "$WORK/eval.sbatch" ||
  fail "eval.sbatch: $(cat "$WORK/eval.sbatch")"
expect_error "render: --results-dir: the script sets it (\$RESULTS)" eval "${site[@]}" -- --model /m --results-dir r
pass "eval: renders (bash -n), its results under \$RESULTS; --results-dir is the script's"

expect_error "render: --tasks-per-node 4 differs from --gpus-per-node 8: a GPU job runs one rank per GPU" \
  generate "${site[@]}" --tasks-per-node 4 -- --model /m
expect_error "render: --nodes: expected an integer of at least 1, got '0'" generate --nodes 0 --dysco-bin "$DYSCO" -- --model /m
expect_error "render: --device: the script sets it (--gpus-per-node chooses the device, the ranks are the degree)" \
  generate "${site[@]}" -- --model /m --device cpu
expect_error "render: --output: the script sets it (\$RESULTS/generate.json)" generate "${site[@]}" -- --model /m --output o.json
expect_error "render: --dysco-home: expected an absolute path (every node resolves it alike), got 'shared'" \
  generate --dysco-home shared --dysco-bin "$DYSCO" -- --model /m
expect_error "render: --partition: expected letters, digits and ._:/+@%=-, got 'gpu\\n#SBATCH --exclusive'" generate "${site[@]}" --partition $'gpu\n#SBATCH --exclusive' -- --model /m
expect_error "render: expected the verb generate, bench or eval first, got 'score' (--help lists the options)" score
pass "render.sh errors: one line each, exit 2"

bound() { env -u CUDA_VISIBLE_DEVICES -u OMPI_COMM_WORLD_LOCAL_RANK -u SLURM_LOCALID "$@" "$bind" sh -c 'echo "$CUDA_VISIBLE_DEVICES"' 2>&1; }
[[ $(bound SLURM_LOCALID=1 SLURM_STEP_NUM_TASKS=2 CUDA_VISIBLE_DEVICES=4,5) == 5 ]] || fail "gpu-bind: SLURM_LOCALID 1 of GPUs 4,5"
[[ $(bound OMPI_COMM_WORLD_LOCAL_RANK=0 SLURM_LOCALID=1 SLURM_STEP_NUM_TASKS=2 CUDA_VISIBLE_DEVICES=4,5) == 4 ]] ||
  fail "gpu-bind: mpirun's local rank comes first"
printf '#!/bin/sh\necho "GPU 0: NVIDIA H100 (UUID: GPU-a)"\necho "GPU 1: NVIDIA H100 (UUID: GPU-b)"\n' >"$WORK/bin/nvidia-smi"
chmod +x "$WORK/bin/nvidia-smi"
[[ $(bound PATH="$WORK/bin:$PATH" OMPI_COMM_WORLD_LOCAL_RANK=1) == 1 ]] || fail "gpu-bind: GPU 1 of nvidia-smi's two"
got=$(bound SLURM_LOCALID=8 SLURM_STEP_NUM_TASKS=16 CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7)
[[ $got == "gpu-bind.sh: $(hostname -s): local rank 8 (SLURM_LOCALID) has no GPU of its own: this node shows 8 (CUDA_VISIBLE_DEVICES=0,1,2,3,4,5,6,7); run at most one rank per GPU (sbatch --ntasks-per-node = --gpus-per-node, mpirun -npernode)" ]] ||
  fail "gpu-bind: 9 ranks on 8 GPUs gave [$got]"
got=$(bound)
[[ $got == *"no local rank"* ]] || fail "gpu-bind without a launcher gave [$got]"
pass "gpu-bind.sh: local rank -> its GPU (CUDA_VISIBLE_DEVICES or nvidia-smi), mpirun first; more ranks than GPUs is an error"

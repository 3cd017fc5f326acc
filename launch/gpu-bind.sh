#!/usr/bin/env bash
# Runs a command on this rank's own GPU: the rank's place on its node (OMPI_COMM_WORLD_LOCAL_RANK
# under mpirun, else SLURM_LOCALID in an srun step, the order parallel/launch_env.c reads them
# in) picks one of the GPUs the node shows it (CUDA_VISIBLE_DEVICES as SLURM or the user set it,
# else every GPU nvidia-smi lists), and CUDA_VISIBLE_DEVICES then holds that one alone, so GPU 0
# of `dysco --device cuda` is the rank's own. A node with more ranks than GPUs is an error, not
# two ranks sharing one.
#
# usage: launch/gpu-bind.sh COMMAND [ARGS...]    (as srun's or mpirun's command)
set -euo pipefail
die() { echo "gpu-bind.sh: $(hostname -s): $*" >&2; exit 1; }
(($#)) || die "usage: launch/gpu-bind.sh COMMAND [ARGS...]"

if [[ -n ${OMPI_COMM_WORLD_LOCAL_RANK:-} ]]; then
  var=OMPI_COMM_WORLD_LOCAL_RANK
elif [[ -n ${SLURM_LOCALID:-} && -n ${SLURM_STEP_NUM_TASKS:-} ]]; then
  var=SLURM_LOCALID
else
  die "no local rank (neither OMPI_COMM_WORLD_LOCAL_RANK nor an srun step's SLURM_LOCALID): start it with srun or mpirun"
fi
local_rank=${!var}
[[ $local_rank =~ ^[0-9]+$ ]] || die "$var: expected a non-negative integer, got '$local_rank'"

if [[ -v CUDA_VISIBLE_DEVICES ]]; then
  from="CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES"
  IFS=, read -r -a gpus <<<"$CUDA_VISIBLE_DEVICES"
elif command -v nvidia-smi >/dev/null; then
  from="nvidia-smi -L"
  mapfile -t gpus < <(nvidia-smi -L | sed -n 's/^GPU \([0-9][0-9]*\):.*/\1/p')
else
  die "no GPUs to bind to: CUDA_VISIBLE_DEVICES is not set and nvidia-smi is not installed"
fi
((${#gpus[@]} > 0)) || die "no GPUs visible ($from)"
((local_rank < ${#gpus[@]})) ||
  die "local rank $local_rank ($var) has no GPU of its own: this node shows ${#gpus[@]} ($from); run at most one rank per GPU (sbatch --ntasks-per-node = --gpus-per-node, mpirun -npernode)"
export CUDA_VISIBLE_DEVICES=${gpus[local_rank]}
exec "$@"

#!/usr/bin/env bash
# Prints an sbatch script for a dysco verb: launch/slurm/job.sbatch.in (resources, the cluster's
# modules and environment, DYSCO_HOME, the srun line) followed by launch/slurm/VERB.sbatch.in,
# with the values below filled in. One rank per GPU (tasks per node = --gpus-per-node), each on
# its own GPU through launch/gpu-bind.sh, and dysco --device cuda; without --gpus-per-node, a CPU
# job of --tasks-per-node ranks per node and --device cpu. README "Clusters" lists what the script
# sets. It also creates DYSCO_HOME/logs, where SLURM writes the job's log (SLURM does not).
#
# usage: launch/slurm/render.sh generate|bench|eval [options] -- DYSCO_ARGS... > job.sbatch
set -euo pipefail
# The words as shell input: plain where they hold no shell character, else in single quotes.
quote() {
  local w out=()
  for w in "$@"; do
    if [[ $w =~ ^[A-Za-z0-9._:/+@%=,-]+$ ]]; then out+=("$w"); else out+=("'${w//\'/\'\\\'\'}'"); fi
  done
  echo "${out[*]}"
}
render_command=$(quote "$0" "$@")
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
die() { echo "render: $*" >&2; exit 2; }
shown() { local v=${1-}; echo "'${v//$'\n'/\\n}'"; }  # a value in an error line, newlines as \n: one line

usage() {
  cat <<USAGE
usage: launch/slurm/render.sh generate|bench|eval [options] -- DYSCO_ARGS... > job.sbatch

  --nodes N            nodes (default 1)
  --gpus-per-node G    GPUs per node, one rank each (default 0: a CPU job)
  --tasks-per-node T   ranks per node of a CPU job (default 1; with GPUs it is G)
  --cpus-per-task C    cores per rank, also its OpenMP threads (default 4 with GPUs, else 1)
  --time T             the time limit, as sbatch --time takes it (default 01:00:00)
  --partition P        sbatch --partition (default: the cluster's)
  --account A          sbatch --account (default: none)
  --job-name NAME      (default dysco-VERB); results go to DYSCO_HOME/results/NAME-JOBID
  --module M           a 'module load M' line (repeatable)
  --env NAME=VALUE     an 'export NAME=VALUE' line (repeatable; NCCL_NVLS_ENABLE=0 unless given)
  --dysco-home DIR     models, logs and results, on storage every node sees (default \$DYSCO_HOME
                       or ~/.cache/dysco)
  --dysco-bin PATH     the dysco binary every node runs (default $repo/build/dysco)
The DYSCO_ARGS are the verb's own (dysco VERB --help); --device, --tp, generate's --output and
eval's --results-dir are the script's.
USAGE
}

count() {  # count OPTION VALUE [MIN]: VALUE as an integer >= MIN (default 1)
  [[ ${2-} =~ ^[0-9]+$ ]] && (($2 >= ${3:-1})) || die "$1: expected an integer of at least ${3:-1}, got $(shown "${2-}")"
  echo "$2"
}
word() {  # word OPTION VALUE: a value an #SBATCH or module line can hold
  [[ -n ${2-} && ${2-} =~ ^[A-Za-z0-9._:/+@%=-]+$ ]] || die "$1: expected letters, digits and ._:/+@%=-, got $(shown "${2-}")"
  echo "$2"
}
path() {  # path OPTION VALUE: an absolute path without spaces or shell characters
  [[ ${2-} == /* ]] || die "$1: expected an absolute path (every node resolves it alike), got $(shown "${2-}")"
  word "$1" "$2"
}

verb=${1:-}
case $verb in
  generate | bench | eval) shift ;;
  -h | --help) usage; exit 0 ;;
  *) die "expected the verb generate, bench or eval first, got $(shown "$verb") (--help lists the options)" ;;
esac
nodes=1 gpus=0 tasks= cpus= time=01:00:00 partition= account= job_name=dysco-$verb
dysco_home=${DYSCO_HOME:-$HOME/.cache/dysco} dysco_bin=$repo/build/dysco
modules=() envs=()
while (($#)); do
  [[ $1 == -- ]] && { shift; break; }
  [[ $1 == -h || $1 == --help ]] && { usage; exit 0; }
  (($# >= 2)) || die "$1: missing value"
  case $1 in
    --nodes) nodes=$(count "$1" "$2") ;;
    --gpus-per-node) gpus=$(count "$1" "$2" 0) ;;
    --tasks-per-node) tasks=$(count "$1" "$2") ;;
    --cpus-per-task) cpus=$(count "$1" "$2") ;;
    --time) [[ $2 =~ ^[0-9][0-9:-]*$ ]] || die "--time: expected [days-]hours:minutes:seconds or minutes, got $(shown "$2")"; time=$2 ;;
    --partition) partition=$(word "$1" "$2") ;;
    --account) account=$(word "$1" "$2") ;;
    --job-name) job_name=$(word "$1" "$2") ;;
    --module) modules+=("$(word "$1" "$2")") ;;
    --env) [[ $2 =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "--env: expected NAME=VALUE, got $(shown "$2")"; envs+=("$2") ;;
    --dysco-home) dysco_home=$(path "$1" "$2") ;;
    --dysco-bin) dysco_bin=$(path "$1" "$2") ;;
    *) die "unknown option '$1' (--help lists them; the verb's own go after --)" ;;
  esac
  shift 2
done
args=("$@")
dysco_home=$(path --dysco-home "$dysco_home")
dysco_bin=$(path --dysco-bin "$dysco_bin")
[[ -x $dysco_bin ]] || die "--dysco-bin: $dysco_bin is not an executable"
"$dysco_bin" "$verb" --help >/dev/null 2>&1 ||
  die "$dysco_bin has no verb '$verb' ($dysco_bin --help lists its verbs): there is nothing for the $verb script to run yet"
for a in "${args[@]}"; do
  case $a in
    --device | --device=* | --tp | --tp=*) die "$a: the script sets it (--gpus-per-node chooses the device, the ranks are the degree)" ;;
    --output | --output=*) [[ $verb != generate ]] || die "$a: the script sets it (\$RESULTS/generate.json)" ;;
    --results-dir | --results-dir=*) [[ $verb != eval ]] || die "$a: the script sets it (\$RESULTS)" ;;
  esac
done

if ((gpus > 0)); then
  [[ -z $tasks || $tasks == "$gpus" ]] || die "--tasks-per-node $tasks differs from --gpus-per-node $gpus: a GPU job runs one rank per GPU"
  tasks=$gpus cpus=${cpus:-4} device=cuda
  per_rank=", one GPU each"
  sbatch_gpus="#SBATCH --gpus-per-node=$gpus"
  bind="$repo/launch/gpu-bind.sh "
else
  tasks=${tasks:-1} cpus=${cpus:-1} device=cpu
  per_rank=" on CPUs"
  sbatch_gpus= bind=
fi
sbatch_site=
[[ -z $partition ]] || sbatch_site+="#SBATCH --partition=$partition"$'\n'
[[ -z $account ]] || sbatch_site+="#SBATCH --account=$account"$'\n'
module_lines= env_lines=
for m in "${modules[@]}"; do module_lines+="module load $m"$'\n'; done
[[ " ${envs[*]%%=*} " == *" NCCL_NVLS_ENABLE "* ]] || envs=(NCCL_NVLS_ENABLE=0 "${envs[@]}")
for e in "${envs[@]}"; do env_lines+="export ${e%%=*}=$(quote "${e#*=}")"$'\n'; done
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ $commit == unknown ]] || git -C "$repo" diff --quiet HEAD 2>/dev/null || commit+=" (with uncommitted changes)"
declare -A value=(
  [VERB]=$verb [NODES]=$nodes [TASKS_PER_NODE]=$tasks [PER_RANK]=$per_rank [CPUS_PER_TASK]=$cpus [TIME]=$time
  [JOB_NAME]=$job_name [COMMIT]=$commit [DYSCO_HOME]=$dysco_home [DYSCO_BIN]=$dysco_bin [BIND]=$bind
  [SBATCH_GPUS]=$sbatch_gpus [SBATCH_SITE]=${sbatch_site%$'\n'} [MODULES]=${module_lines%$'\n'}
  [ENV]=${env_lines%$'\n'} [ARGS]=$(quote --device "$device" "${args[@]}")
  [RENDER_COMMAND]=$render_command
)

# A template line that is only @NAME@ becomes that block, or goes when it is empty; on other
# lines each @NAME@ is replaced from left to right, never inside a value already put in.
render() {
  local line out name
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^@([A-Z_]+)@$ && -v value[${BASH_REMATCH[1]}] ]]; then
      [[ -z ${value[${BASH_REMATCH[1]}]} ]] || printf '%s\n' "${value[${BASH_REMATCH[1]}]}"
      continue
    fi
    out=
    while [[ $line =~ @([A-Z_]+)@ ]]; do
      name=${BASH_REMATCH[1]}
      [[ -v value[$name] ]] || die "$1: unknown placeholder @$name@"
      out+=${line%%"@$name@"*}${value[$name]}
      line=${line#*"@$name@"}
    done
    printf '%s\n' "$out$line"
  done <"$1"
}
mkdir -p "$dysco_home/logs"
render "$here/job.sbatch.in"
render "$here/$verb.sbatch.in"

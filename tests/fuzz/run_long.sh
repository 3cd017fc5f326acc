#!/usr/bin/env bash
# Long fuzzing on a big machine: builds the fuzz targets if needed (tests/fuzz/build.sh; no
# network), then runs every target at once for SECONDS, JOBS fuzz processes in all (default: one
# per core) shared out over the targets, each input held to 1 s (-timeout=1) at up to 1 MiB
# (-max_len=1048576). With fewer JOBS than targets they take turns, JOBS at a time, each for
# SECONDS. A process that stops on a finding starts again until the time is up. The
# processes of a target share one corpus folder (libFuzzer reloads it), seeded as under ctest.
# Prints one JSON line per target: executions (all its processes), coverage (cov: and ft:, from
# libFuzzer's status lines), distinct crashes (sanitizer reports and leaks included), timeouts,
# out-of-memory inputs, the peak RSS of one process, and the folder with the logs and findings.
#
# usage: tests/fuzz/run_long.sh SECONDS [JOBS]
#   DYSCO_FUZZ_BUILD  the build folder (default build-fuzz)
#   DYSCO_FUZZ_OUT    where logs, corpora and findings go (default BUILD/tests/fuzz/long-DATE)
#   DYSCO_FUZZ_TARGETS  the targets to run, in order (default all, slowest first, as listed in
#                       BUILD/tests/fuzz/targets.txt): with JOBS above their number the first
#                       ones get the extra processes
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:?usage: tests/fuzz/run_long.sh SECONDS [JOBS]}
jobs=${2:-$(nproc)}
build=${DYSCO_FUZZ_BUILD:-build-fuzz}
tests/fuzz/build.sh "$build" >&2
bin=$build/tests/fuzz
out=${DYSCO_FUZZ_OUT:-$bin/long-$(date +%Y%m%d-%H%M%S)}
read -r -a targets <<< "${DYSCO_FUZZ_TARGETS:-$(tr '\n' ' ' < "$bin/targets.txt")}"
mkdir -p "$out"
echo "run_long: ${#targets[@]} targets, $jobs processes, ${seconds}s; logs and findings in $out" >&2

# fuzz TARGET PROCESS: one process slot, restarted after a finding until the deadline.
fuzz() {
  local t=$1 p=$2 deadline=$(($(date +%s) + seconds)) run=0 left
  mapfile -t args < "$bin/targets/$t"
  while left=$((deadline - $(date +%s))) && ((left > 0)); do
    "$bin/$t" -max_total_time="$left" -timeout=1 -max_len=1048576 -print_final_stats=1 \
      -artifact_prefix="$out/$t/findings/" "$out/$t/corpus" "${args[@]}" > "$out/$t/log.$p.$run" 2>&1 || true
    run=$((run + 1))
  done
}

# One turn from targets[first]: every process at once when JOBS >= the targets (shared out
# round-robin), else one process for each of the next JOBS targets.
run_turn() {
  local first=$1 n=$((${#targets[@]} - $1)) procs pids=() i t
  ((n > jobs)) && n=$jobs
  procs=$((${#targets[@]} <= jobs ? jobs : n))
  for ((i = 0; i < procs; i++)); do
    t=${targets[first + i % n]}
    mkdir -p "$out/$t/corpus" "$out/$t/findings"
    fuzz "$t" "$i" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
}
for ((first = 0; first < ${#targets[@]}; first += jobs)); do run_turn "$first"; done

count() { find "$out/$1/findings" -name "$2-*" | wc -l; }
for t in "${targets[@]}"; do
  [[ -d $out/$t ]] || continue
  logs=("$out/$t"/log.*)
  processes=$(printf '%s\n' "${logs[@]}" | sed 's/.*log\.\([0-9]*\)\..*/\1/' | sort -u | wc -l)
  read -r execs rss < <(awk '/^stat::number_of_executed_units:/ {e += $2} /^stat::peak_rss_mb:/ {if ($2 > r) r = $2}
                             END {print e + 0, r + 0}' "${logs[@]}")
  read -r cov ft < <(awk '{for (i = 1; i < NF; i++) {if ($i == "cov:" && $(i + 1) > c) c = $(i + 1);
                                                     if ($i == "ft:" && $(i + 1) > f) f = $(i + 1)}}
                          END {print c + 0, f + 0}' "${logs[@]}")
  crashes=$(($(count "$t" crash) + $(count "$t" leak)))
  printf '{"target": "%s", "seconds": %d, "processes": %d, "executions": %d, "exec_per_s": %.0f, "cov": %d, "ft": %d, "crashes": %d, "timeouts": %d, "ooms": %d, "peak_rss_mb": %d, "out": "%s"}\n' \
    "$t" "$seconds" "$processes" "$execs" "$(awk -v e="$execs" -v s="$seconds" 'BEGIN {print e / s}')" "$cov" "$ft" \
    "$crashes" "$(count "$t" timeout)" "$(count "$t" oom)" "$rss" "$out/$t"
done

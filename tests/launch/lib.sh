# Shared by the shell tests of tests/launch (sourced): their report lines, a wait with a deadline,
# and the tiny model they run. ctest shows exit 77 as skipped (the reason is printed first).
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 77; }

# Seconds since the $EPOCHREALTIME value T0, with two decimals.
seconds_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
# Whether more than LIMIT seconds have passed since T0.
past_deadline() { awk -v a="$1" -v b="$EPOCHREALTIME" -v l="$2" 'BEGIN { exit !(b - a > l) }'; }

# Whether process PID runs; a zombie has ended (a container's init may never reap what a
# launcher or a daemon left it).
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [[ -n $state && $state != Z ]]
}

# wait_exit PID LIMIT_S: waits for the background job PID for at most LIMIT_S seconds. Sets
# exit_status (the job's status, or "running" when the deadline passed) and elapsed_s.
wait_exit() {
  local pid=$1 limit=$2 t0=$EPOCHREALTIME
  exit_status=running
  while kill -0 "$pid" 2>/dev/null; do
    past_deadline "$t0" "$limit" && { elapsed_s=$limit; return 0; }
    sleep 0.05
  done
  elapsed_s=$(seconds_since "$t0")
  exit_status=0
  wait "$pid" || exit_status=$?
}

# make_tiny_model DYSCO DIR TOKENIZERS: the default tiny-qwen3 checkpoint with the real tokenizer.
make_tiny_model() {
  "$1" make-model "$2" --preset tiny-qwen3 --tokenizer "$3/qwen3" --force >/dev/null ||
    fail "make-model $2 --preset tiny-qwen3"
}

# The JSON array under KEY in FILE (dysco's --output), without whitespace: "KEY":[1,2,3].
json_array() { tr -d ' \n\t' <"$1" | grep -o "\"$2\":\[[^]]*\]"; }

# The fault scenarios of a tensor-parallel job (issue 14), for any launcher, sourced after lib.sh:
# a rank killed with SIGKILL during decoding, an error on one rank during decoding, and an error
# on one rank before the ranks work together. Each runs `generate` of the tiny model on the CPU
# as 2 ranks and requires the whole job to end within FAULT_LIMIT_S with a non-zero exit and the
# failing rank's message, and no rank left behind. The caller sets DYSCO, MODEL, WORK and LAUNCH,
# the launcher's command as an array, e.g. LAUNCH=(mpirun --oversubscribe -np 2).
FAULT_LIMIT_S=30
FAULT_PROMPT="Alice took the ferry from Oslo to Kiel, then a train to Munich. Which city is the route's last stop?"

# The ranks (pid.RANK files in WORK) still running.
fault_live_ranks() {
  local f live=()
  for f in "$WORK"/pid.*; do
    [[ -f $f ]] && alive "$(cat "$f")" && live+=("${f##*/}")
  done
  echo "${live[*]}"
}

# Ends what a failed scenario left running: the launcher and the ranks that recorded their pids.
fault_cleanup() {
  local f
  kill -9 "$fault_job" 2>/dev/null
  for f in "$WORK"/pid.*; do [[ -f $f ]] && kill -9 "$(cat "$f")" 2>/dev/null; done
  wait "$fault_job" 2>/dev/null
}

# fault_start NAME ARGS...: starts the job `generate ARGS...` in the background (fault_job: the
# launcher's pid); stdout and stderr go to WORK/NAME.out and .err. Each rank writes its pid to
# WORK/pid.RANK and execs dysco under it, so one rank can be killed and none is left behind.
fault_start() {
  local out=$1
  shift
  rm -f "$WORK"/pid.*
  "${LAUNCH[@]}" sh -c 'echo $$ >"$0/pid.${OMPI_COMM_WORLD_RANK:-$SLURM_PROCID}" && exec "$@"' "$WORK" \
    "$DYSCO" generate --model "$MODEL" --prompt "$FAULT_PROMPT" --method vanilla --max-new-tokens 20000 "$@" \
    >"$WORK/$out.out" 2>"$WORK/$out.err" &
  fault_job=$!
}

# fault_kill_rank NAME RANK PATTERN: kill -9 of rank RANK once rank 0 has traced three decoded
# tokens; the launcher's stderr must match the extended regex PATTERN (its line naming the rank).
fault_kill_rank() {
  local name=$1 victim=$2 pattern=$3 trace=$WORK/kill_trace.jsonl t_start=$EPOCHREALTIME t_kill live
  rm -f "$trace"
  # The trace is written line by line: three lines mean decoding is under way.
  fault_start kill --trace "$trace"
  until [[ -s $WORK/pid.$victim && -f $trace && $(wc -l <"$trace") -ge 3 ]]; do
    kill -0 "$fault_job" 2>/dev/null || fail "$name: the job ended before decoding: $(cat "$WORK/kill.err")"
    past_deadline "$t_start" 60 && { fault_cleanup; fail "$name: no decoding within 60 s"; }
    sleep 0.05
  done
  t_kill=$EPOCHREALTIME
  kill -9 "$(cat "$WORK/pid.$victim")"
  wait_exit "$fault_job" "$FAULT_LIMIT_S"
  [[ $exit_status != running ]] ||
    { fault_cleanup; fail "$name: the launcher still ran $FAULT_LIMIT_S s after kill -9 of rank $victim"; }
  [[ $exit_status != 0 ]] || fail "$name: the launcher exited 0 after kill -9 of rank $victim"
  grep -Eq "$pattern" "$WORK/kill.err" || fail "$name: no line matching [$pattern] in stderr: $(cat "$WORK/kill.err")"
  # The launcher may exit while it still ends the other rank, which has the rest of the limit.
  while live=$(fault_live_ranks) && [[ -n $live ]]; do
    past_deadline "$t_kill" "$FAULT_LIMIT_S" &&
      { fault_cleanup; fail "$name: $live still running $FAULT_LIMIT_S s after kill -9 of rank $victim"; }
    sleep 0.05
  done
  pass "$name: kill -9 of rank $victim during decoding: exit $exit_status after $elapsed_s s (limit $FAULT_LIMIT_S s): $(grep -Em1 "$pattern" "$WORK/kill.err")"
}

# fault_rank_error NAME WANT ARGS...: generate with ARGS, which fail on one rank alone; stderr must
# hold exactly one dysco line, WANT.
fault_rank_error() {
  local name=$1 want=$2 got
  shift 2
  fault_start error "$@"
  wait_exit "$fault_job" "$FAULT_LIMIT_S"
  [[ $exit_status != running ]] ||
    { fault_cleanup; fail "$name: the job still ran after $FAULT_LIMIT_S s (a rank waiting in a collective?)"; }
  [[ $exit_status != 0 ]] || fail "$name: the job exited 0"
  got=$(grep '^dysco' "$WORK/error.err")
  [[ $got == "$want" ]] || fail "$name: expected the one line [$want], got [$got]; stderr: $(cat "$WORK/error.err")"
  pass "$name: exit $exit_status after $elapsed_s s (limit $FAULT_LIMIT_S s): $got"
}

# All three under the caller's launcher; LABEL names it in the report lines.
fault_scenarios() {
  local label=$1 kill_pattern=$2
  fault_kill_rank "$label" 1 "$kill_pattern"
  # Rank 0 alone writes the trace: /dev/full fails its first decoded line while rank 1 goes on
  # to the next step's collective, so only the abort ends rank 1.
  fault_rank_error "$label, a write error on rank 0 while decoding" \
    "dysco: rank 0 of 2: /dev/full: write failed: No space left on device" --trace /dev/full
  fault_rank_error "$label, an error on rank 0 before the ranks work together" \
    "dysco: rank 0 of 2: $WORK/no-such-dir/trace.jsonl: cannot create" --trace "$WORK/no-such-dir/trace.jsonl"
}

#!/usr/bin/env bash
# The scaling sweep on the CPU path: launch/sweep.py over TP 1 and 2 (mpirun) x two tiny contexts
# x vanilla and DySCO on the tiny model writes one JSON line per point with bench's fields and
# tp, hosts, gpu "cpu" and the commit; launch/sweep_report.py turns them into report.md, whose
# table has a row per point with the speed-up and efficiency those lines give, and two PNG plots
# (signature and the figure's dimensions read back). A malformed line is a one-line error.
# usage: test_sweep.sh DYSCO MPIRUN TOKENIZERS
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
DYSCO=$(realpath "${1:?usage: test_sweep.sh DYSCO MPIRUN TOKENIZERS}")
mpirun=${2:?}
tokenizers=${3:?}
[[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import matplotlib' 2>/dev/null ||
  fail "the report needs Debian's python3-matplotlib (launch/setup.sh installs it)"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dysco-sweep-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
make_tiny_model "$DYSCO" "$WORK/tiny-qwen3" "$tokenizers"

t0=$EPOCHREALTIME
"$repo/launch/sweep.py" --model "$WORK/tiny-qwen3" --tp 1,2 --ctx 32,48 --methods vanilla,dysco --dysco "$DYSCO" \
  --launcher "$mpirun --oversubscribe -np {tp}" --out "$WORK/sweep.jsonl" -- --decode-steps 4 \
  --dysco-config "$repo/configs/dysco/tiny_qwen3.yaml" 2>"$WORK/sweep.err" || fail "sweep.py: $(cat "$WORK/sweep.err")"
[[ $(wc -l <"$WORK/sweep.jsonl") == 8 ]] || fail "sweep.jsonl: $(wc -l <"$WORK/sweep.jsonl") lines, expected 2 TP x 2 contexts x 2 methods"
n=0
while IFS= read -r line; do
  tp=$(grep -o '"tp": [0-9]*' <<<"$line" | head -n 1 | cut -d' ' -f2)
  [[ $line == *'"kind": "context"'* && $line == *'"decode_ms_per_token_median": '* && $line == *'"gpu": "cpu"'* &&
     $line == *'"commit": "'[0-9a-f]* && $line == *"\"machine\": {"*"\"tp\": $tp"* ]] || fail "sweep.jsonl: point [$line]"
  hosts=$(grep -o '"hosts": \[[^]]*\]' <<<"$line" | grep -o '"[^"]*"' | tail -n +2 | wc -l)
  [[ $hosts == "$tp" ]] || fail "sweep.jsonl: tp $tp with $hosts hosts listed: [$line]"
  n=$((n + 1))
done <"$WORK/sweep.jsonl"
pass "sweep.py: $n points (TP 1, 2 x contexts 32, 48 x vanilla, dysco) in $(seconds_since "$t0") s, each with tp, hosts, gpu, commit"

"$repo/launch/sweep_report.py" "$WORK/sweep.jsonl" "$WORK/report" 2>"$WORK/report.err" || fail "sweep_report.py: $(cat "$WORK/report.err")"
# Table rows: | method | ctx | TP | hosts | GPU | ms/token | tokens/s | speed-up | efficiency | memory | prefill |
awk -F' *\\| *' '
  /^\| (vanilla|dysco) / {
    rows++; key = $2 " " $3; ms[key, $4] = $7
    # tokens/s is printed to one decimal: it may differ from 1000 / ms/token by half a unit of that decimal.
    if ($7 <= 0 || $8 - 1000 / $7 > 0.0501 || 1000 / $7 - $8 > 0.0501) bad = bad "tokens/s is not 1000 / ms/token: " $0 "\n"
    if ($4 == 1 && ($9 != "1.00" || $10 != "1.00")) bad = bad "a TP 1 row without speed-up and efficiency 1: " $0 "\n"
    speed[key, $4] = $9; eff[key, $4] = $10
    if ($11 !~ /^[0-9.]+ \(plan\)$/) bad = bad "no memory per rank: " $0 "\n"
  }
  END {
    for (k in speed) {
      split(k, part, SUBSEP)
      want = ms[part[1], 1] / ms[part[1], part[2]]
      # Both columns are printed to two decimals from the unrounded speed-up: efficiency may differ from the
      # printed speed-up / TP by half a unit plus half a unit / TP.
      tol = 0.0051 + 0.0051 / part[2]
      if (speed[k] - want > 0.006 || want - speed[k] > 0.006 || eff[k] - speed[k] / part[2] > tol ||
          speed[k] / part[2] - eff[k] > tol) bad = bad "speed-up " speed[k] ", efficiency " eff[k] " for " part[1] " at TP " part[2] "\n"
    }
    if (rows != 8) bad = bad "rows: " rows ", expected 8\n"
    printf "%s", bad
    exit bad != ""
  }' "$WORK/report/report.md" >"$WORK/table.err" || fail "report.md: $(cat "$WORK/table.err")"$'\n'"$(cat "$WORK/report/report.md")"
pass "report.md: 8 rows; tokens/s, speed-up over TP 1 and efficiency agree with the ms/token column"

png_size() {  # png_size FILE: "WIDTH HEIGHT" from the IHDR chunk, or nothing if it is no PNG
  [[ $(head -c 16 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a0000000d49484452 ]] || return 0
  od -An -tu1 -j16 -N8 "$1" | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
}
for plot in "ms_per_token_vs_context.png 1100 400" "speedup_vs_tp.png 600 450"; do
  read -r file w h <<<"$plot"
  size=$(png_size "$WORK/report/$file")
  [[ $size == "$w $h" ]] || fail "$file: expected a PNG of $w x $h, got [${size:-not a PNG}]"
  grep -qF "]($file)" "$WORK/report/report.md" || fail "report.md does not show $file"
done
pass "plots: ms_per_token_vs_context.png 1100x400 (a panel per method), speedup_vs_tp.png 600x450, both in report.md"

printf '%s\n' "$(head -n 1 "$WORK/sweep.jsonl")" '{"tp": 2, "ctx": 32' >"$WORK/bad.jsonl"
"$repo/launch/sweep_report.py" "$WORK/bad.jsonl" "$WORK/bad" 2>"$WORK/bad.err" && fail "a truncated line was accepted"
[[ $(cat "$WORK/bad.err") == "sweep_report: $WORK/bad.jsonl: line 2: not JSON (Expecting ',' delimiter at column 20)" ]] ||
  fail "truncated line: [$(cat "$WORK/bad.err")]"
pass "a truncated line: one line naming the file and the line"

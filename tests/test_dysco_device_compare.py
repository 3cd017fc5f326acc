#!/usr/bin/env python3
"""tests/dysco_device_compare.py without a GPU (--skip-cuda): cpu-bf16 against cpu on tiny-qwen3
and tiny-qwen3-moe, as the README's figures were made (seed 1, where both presets' greedy tokens
differ somewhere, so the first-difference report runs). Per preset it checks the JSON line the
script prints against the files the script's own dysco runs left in its work folder:
- the MoE preset's reference router margin is the least of cpu's `generate --router-margins` over
  the positions fed before the differing token (the prompt and the tokens before it), at the
  position named, with the count below --router-tie-margin and the near-tie call that threshold
  gives; the largest margin change is the largest difference of the two runs' margins there;
- cpu's margins are one per fed position (prompt + generated - 1), finite and > 0;
- the dense preset reports no router margins (its runs were not asked for them).
One PASS/FAIL line per check, the last "N passed, M failed"; exit status 1 when any failed.

usage: tests/test_dysco_device_compare.py DYSCO
"""
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROUTER_KEYS = ("reference_router_margin", "reference_router_margin_position", "positions_below_router_tie_margin",
               "router_near_tie", "router_margin_change_max")
passed = failed = 0


def check(ok, what):
    global passed, failed
    print(f"{'PASS' if ok else 'FAIL'} {what}", flush=True)
    passed += ok
    failed += not ok


def check_moe(line, work):
    pair = line["pairs"][0]
    diff = pair["first_difference"]
    check(diff is not None, "tiny-qwen3-moe: greedy tokens differ somewhere (seed 1), so the router report ran")
    if diff is None:
        return
    cpu, bf16 = (json.loads((work / f"gen_{d}.json").read_text()) for d in ("cpu", "cpu-bf16"))
    fed = len(cpu["input_ids"]) + len(cpu["output_ids"]) - 1
    margins = cpu["router_margins"]
    check(len(margins) == fed and all(math.isfinite(m) and m > 0 for m in margins),
          f"tiny-qwen3-moe: cpu's router_margins hold {len(margins)} finite values > 0, one per fed position ({fed})")
    before = margins[:len(cpu["input_ids"]) + diff["position"]]
    least = min(before)
    threshold = line["router_tie_margin"]
    check(all(k in diff for k in ROUTER_KEYS), f"tiny-qwen3-moe: the first difference has {', '.join(ROUTER_KEYS)}")
    check(diff.get("reference_router_margin") == least and before[diff.get("reference_router_margin_position", -1)] == least,
          f"tiny-qwen3-moe: smallest margin {diff.get('reference_router_margin')} at "
          f"{diff.get('reference_router_margin_position')}: the least of cpu's {len(before)} before the difference, {least}")
    below = sum(m < threshold for m in before)
    check(diff.get("positions_below_router_tie_margin") == below and diff.get("router_near_tie") == (least < threshold),
          f"tiny-qwen3-moe: {below} positions below {threshold}, router near-tie {least < threshold}")
    change = max(abs(a - b) for a, b in zip(bf16["router_margins"], before))
    check(diff.get("router_margin_change_max") == change and change > 0,
          f"tiny-qwen3-moe: margins moved by up to {change:.3g} between cpu-bf16 and cpu")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: test_dysco_device_compare.py DYSCO")
    script = Path(__file__).resolve().parent / "dysco_device_compare.py"
    with tempfile.TemporaryDirectory(prefix="dysco-devcmp-") as tmp:
        for preset in ("tiny-qwen3", "tiny-qwen3-moe"):
            work = Path(tmp) / preset
            r = subprocess.run([sys.executable, str(script), "--dysco", sys.argv[1], "--skip-cuda", "--presets", preset,
                                "--work", str(work), "--seed", "1"], capture_output=True, text=True)
            check(r.returncode == 0, f"{preset}: dysco_device_compare.py --skip-cuda exits 0 ({r.stderr.strip()[-300:]})")
            if r.returncode:
                continue
            line = json.loads(r.stdout.splitlines()[0])
            check([(p["device"], p["reference"]) for p in line["pairs"]] == [("cpu-bf16", "cpu")],
                  f"{preset}: one pair, cpu-bf16 against cpu")
            if preset == "tiny-qwen3-moe":
                check_moe(line, work)
            else:
                diff = line["pairs"][0]["first_difference"] or {}
                check(line["router_tie_margin"] is None and not any(k in diff for k in ROUTER_KEYS)
                      and "router_margins" not in json.loads((work / "gen_cpu.json").read_text()),
                      f"{preset}: no router margins on a dense preset")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

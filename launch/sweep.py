#!/usr/bin/env python3
"""Scaling sweep: `dysco bench` over tensor-parallel degree x context length x method, one JSON
line per point appended to --out as each bench run ends (a sweep cut short keeps what it
measured). A point is bench's context line with the run's machine line under "machine", and
tp, hosts (of the ranks, in rank order), gpu (the model nvidia-smi names for rank 0's GPU, or
"cpu"), commit and time. launch/sweep_report.py turns the file into a table and plots.

Each (tp, method) is one bench run of every context, started by --launcher with {tp} replaced:
by default `srun --mpi=pmix --kill-on-bad-exit=1 -n {tp}` inside a SLURM allocation, else
`mpirun -np {tp}`; with --device cuda every rank runs under launch/gpu-bind.sh. Arguments
after -- go to bench (--dysco-config, --random-weights, --decode-steps, ...).

usage: launch/sweep.py --model DIR --tp 1,2,4,8 --ctx 8192,32768 [--methods vanilla,dysco]
                       [--device cpu|cuda] [--launcher CMD] [--out F.jsonl] [-- BENCH_ARGS...]
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METHODS = ("vanilla", "dysco", "attnsharp")


def die(msg):
    print(f"sweep: {msg}", file=sys.stderr)
    sys.exit(1)


def int_list(option, text, least):
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) < least:
        die(f"{option}: expected comma-separated integers of at least {least}, got '{text}'")
    return values


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, as every dysco tool's errors are
        die(f"{message} (launch/sweep.py --help)")


def parse_args(argv):
    bench_args = []
    if "--" in argv:
        at = argv.index("--")
        argv, bench_args = argv[:at], argv[at + 1:]
    home = os.environ.get("DYSCO_HOME", os.path.expanduser("~/.cache/dysco"))
    p = Parser(prog="launch/sweep.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="the checkpoint (or config.json alone with -- --random-weights)")
    p.add_argument("--tp", default="1,2", help="tensor-parallel degrees (default 1,2)")
    p.add_argument("--ctx", default="8192", help="context lengths (default 8192)")
    p.add_argument("--methods", default="vanilla", help="methods among vanilla,dysco,attnsharp (default vanilla)")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--launcher", help="the command starting {tp} ranks (default: srun in an allocation, else mpirun)")
    p.add_argument("--dysco", default=os.path.join(REPO, "build", "dysco"), help="the dysco binary")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    p.add_argument("--out", default=os.path.join(home, "results", f"sweep-{stamp}.jsonl"),
                   help="the JSONL file points are appended to (default DYSCO_HOME/results/sweep-DATE.jsonl)")
    a = p.parse_args(argv)
    a.bench_args = bench_args
    a.tp = int_list("--tp", a.tp, 1)
    int_list("--ctx", a.ctx, 16)  # bench checks the bounds too; this fails before any launch
    a.methods = a.methods.split(",")
    for m in a.methods:
        if m not in METHODS:
            die(f"--methods: expected some of {','.join(METHODS)}, got '{m}'")
    for opt in ("--ctx", "--method", "--model", "--device", "--tp"):
        if any(b == opt or b.startswith(opt + "=") for b in bench_args):
            die(f"{opt}: the sweep sets it; give it before --")
    if a.launcher is None:
        a.launcher = "srun --mpi=pmix --kill-on-bad-exit=1 -n {tp}" if "SLURM_JOB_ID" in os.environ else "mpirun -np {tp}"
    if "{tp}" not in a.launcher:
        die(f"--launcher: expected {{tp}} where the number of ranks goes, got '{a.launcher}'")
    return a


def launch_prefix(a, tp):
    words = shlex.split(a.launcher.replace("{tp}", str(tp)))
    return words + ([os.path.join(REPO, "launch", "gpu-bind.sh")] if a.device == "cuda" else [])


def run(cmd, what):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        last = r.stderr.strip().splitlines()[-1:] or ["(no message)"]
        die(f"{what}: exit {r.returncode}: {last[0]}")
    return r.stdout


def ranks_info(a, tp):
    """Each rank's host, in rank order, and rank 0's GPU model ("cpu" on the CPU backend)."""
    probe = ("echo \"${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-0}} $(hostname -s) "
             "$(nvidia-smi --query-gpu=name --format=csv,noheader -i \"${CUDA_VISIBLE_DEVICES%%,*}\" 2>/dev/null | head -n 1)\"")
    lines = run(launch_prefix(a, tp) + ["sh", "-c", probe], f"tp {tp}: the launcher's host probe").splitlines()
    ranks = sorted((int(l.split(" ", 2)[0]), l.split(" ", 2)[1:]) for l in lines if l.strip())
    hosts = [r[1][0] for r in ranks]
    gpu = "cpu" if a.device == "cpu" else ((ranks[0][1][1:] or ["unknown"])[0].strip() or "unknown")
    return hosts, gpu


def commit():
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        clean = subprocess.run(["git", "-C", REPO, "diff", "--quiet", "HEAD"]).returncode == 0
        return head if clean else head + "-dirty"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv):
    a = parse_args(argv)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    rev = commit()
    points = 0
    with open(a.out, "a") as out:
        for tp in a.tp:
            hosts, gpu = ranks_info(a, tp)
            for method in a.methods:
                what = f"tp {tp}, {method}"
                cmd = launch_prefix(a, tp) + [a.dysco, "bench", "--model", a.model, "--ctx", a.ctx, "--method",
                                              method, "--device", a.device] + a.bench_args
                lines = [json.loads(l) for l in run(cmd, what).splitlines() if l.startswith("{")]
                machine = next((l for l in lines if l.get("kind") == "machine"), None)
                contexts = [l for l in lines if l.get("kind") == "context"]
                if machine is None or not contexts:
                    die(f"{what}: bench printed no machine or context line")
                if machine.get("tp") != tp:
                    die(f"{what}: bench ran with tp {machine.get('tp')} (the launcher started another number of ranks)")
                for c in contexts:
                    point = dict(c, tp=tp, hosts=hosts, gpu=gpu, commit=rev,
                                 time=datetime.datetime.now().isoformat(timespec="seconds"), machine=machine)
                    out.write(json.dumps(point) + "\n")
                    points += 1
                out.flush()
                print(f"sweep: {what}: {len(contexts)} point(s) on {len(set(hosts))} host(s)", file=sys.stderr)
    print(f"sweep: {points} points appended to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

#!/usr/bin/python3
"""The report of a scaling sweep (launch/sweep.py's JSONL): OUT_DIR/report.md, a markdown table
with one row per (method, context, TP degree) - decode ms/token, tokens/s, speed-up over TP 1
of the same method and context, parallel efficiency (speed-up / TP), memory per rank, prefill
seconds - and two plots: OUT_DIR/ms_per_token_vs_context.png (one line per TP degree, a panel
per method) and OUT_DIR/speedup_vs_tp.png (one line per method and context, with the ideal).
Memory per rank is the GPU's memory in use where bench measured it, else the memory plan of one
rank (weights + KV cache + workspace, all allocated up front). A point measured twice counts
with its last line.

The interpreter is Debian's (/usr/bin/python3), which python3-matplotlib installs into.
usage: launch/sweep_report.py SWEEP.jsonl OUT_DIR
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

GIB = 1024.0**3
REQUIRED = ("tp", "ctx", "method", "decode_ms_per_token_median", "prefill_seconds", "hosts", "gpu", "commit", "machine")


def die(msg):
    print(f"sweep_report: {msg}", file=sys.stderr)
    sys.exit(1)


def read_points(path):
    points = {}
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        die(f"{path}: {e.strerror}")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
        except json.JSONDecodeError as e:
            die(f"{path}: line {n}: not JSON ({e.msg} at column {e.colno})")
        missing = [k for k in REQUIRED if k not in p] if isinstance(p, dict) else ["an object"]
        if missing:
            die(f"{path}: line {n}: no {', '.join(missing)} (not a launch/sweep.py point)")
        if not (isinstance(p["tp"], int) and p["tp"] > 0 and p["decode_ms_per_token_median"] > 0):
            die(f"{path}: line {n}: tp {p['tp']!r} and decode ms/token {p['decode_ms_per_token_median']!r} must be positive")
        points[(p["method"], p["ctx"], p["tp"])] = p
    if not points:
        die(f"{path}: no points")
    return points


def memory_per_rank(p):
    used = p.get("gpu_memory_in_use_bytes")
    if used is not None:
        return used / GIB, "GPU in use"
    return p["machine"].get("memory_plan_bytes_per_rank", float("nan")) / GIB, "plan"


def table(points):
    rows = ["| method | context | TP | hosts | GPU | ms/token | tokens/s | speed-up over TP 1 | parallel efficiency "
            "| memory per rank (GiB) | prefill (s) |",
            "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (method, ctx, tp), p in sorted(points.items()):
        ms = p["decode_ms_per_token_median"]
        base = points.get((method, ctx, 1))
        speedup = base["decode_ms_per_token_median"] / ms if base else None
        mem, source = memory_per_rank(p)
        rows.append(f"| {method} | {ctx} | {tp} | {len(set(p['hosts']))} | {p['gpu']} | {ms:.3f} | {1e3 / ms:.1f} | "
                    + (f"{speedup:.2f} | {speedup / tp:.2f}" if speedup else "no TP 1 point | no TP 1 point")
                    + f" | {mem:.3f} ({source}) | {p['prefill_seconds']:.4f} |")
    return "\n".join(rows)


def plot_ms_per_token(points, path):
    methods = sorted({m for m, _, _ in points})
    fig, axes = plt.subplots(1, len(methods), figsize=(5.5 * len(methods), 4), squeeze=False)
    for ax, method in zip(axes[0], methods):
        for tp in sorted({t for m, _, t in points if m == method}):
            ctxs = sorted(c for m, c, t in points if m == method and t == tp)
            ax.plot(ctxs, [points[(method, c, tp)]["decode_ms_per_token_median"] for c in ctxs], marker="o",
                    label=f"TP {tp}")
        ax.set(title=f"{method}: decode ms/token", xlabel="context (tokens)", ylabel="ms/token")
        ax.set_xscale("log", base=2)
        ctxs = sorted({c for m, c, _ in points if m == method})
        ax.set_xticks(ctxs, [str(c) for c in ctxs])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_speedup(points, path):
    fig, ax = plt.subplots(figsize=(6, 4.5))
    tps_all = sorted({t for _, _, t in points})
    for method, ctx in sorted({(m, c) for m, c, _ in points}):
        if (method, ctx, 1) not in points:
            continue
        base = points[(method, ctx, 1)]["decode_ms_per_token_median"]
        tps = sorted(t for m, c, t in points if (m, c) == (method, ctx))
        ax.plot(tps, [base / points[(method, ctx, t)]["decode_ms_per_token_median"] for t in tps], marker="o",
                label=f"{method}, {ctx} tokens")
    ax.plot(tps_all, tps_all, linestyle="--", color="grey", label="ideal")
    ax.set(title="decode speed-up over TP 1", xlabel="TP degree", ylabel="speed-up")
    ax.set_xticks(tps_all)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv):
    if len(argv) != 2:
        die("usage: launch/sweep_report.py SWEEP.jsonl OUT_DIR")
    src, out_dir = argv
    points = read_points(src)
    os.makedirs(out_dir, exist_ok=True)
    any_point = next(iter(points.values()))
    commits = sorted({p["commit"] for p in points.values()})
    device = any_point["machine"].get("device", "?")
    text = (f"# Scaling sweep: {os.path.basename(src)}\n\n"
            f"{len(points)} points, model {any_point['machine'].get('model', '?')}, device {device}, "
            f"commit {', '.join(commits)}.\n\n{table(points)}\n\n"
            "![decode ms/token vs context](ms_per_token_vs_context.png)\n\n"
            "![speed-up vs TP degree](speedup_vs_tp.png)\n")
    with open(os.path.join(out_dir, "report.md"), "w") as f:
        f.write(text)
    plot_ms_per_token(points, os.path.join(out_dir, "ms_per_token_vs_context.png"))
    plot_speedup(points, os.path.join(out_dir, "speedup_vs_tp.png"))
    print(f"sweep_report: {len(points)} points -> {out_dir}/report.md, ms_per_token_vs_context.png, speedup_vs_tp.png",
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])

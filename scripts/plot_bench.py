#!/usr/bin/env python3
"""Plots of seqrec's benchmark JSON lines. Needs matplotlib (pip install matplotlib).

    python3 scripts/plot_bench.py FILE.jsonl [FILE2.jsonl ...] [--out DIR]      (default DIR: bench-plots/)

Reads every line that is a JSON object; other lines and unknown "bench" values are skipped, so raw stdout of
the benchmarks can be passed as is, and files from several machines (a CPU run, a GPU run) combined.
Writes, for what the input holds:
  portability_seconds_<scalar>.png  {"bench":"portability"} lines (seqrec-bench-portability): median seconds
                                    per kernel+shape, one bar per backend/threads, log scale, min..max error bars
  roofline_<scalar>.png             the same lines at intensity = flop / bytes against achieved GFLOP/s, log-log,
                                    with each backend's roof min(peak_gemm GFLOP/s, intensity x peak_triad GB/s)
  peer_ratios.png                   {"bench":"peer"} summaries (scripts/bench_all_peers.sh): peer seconds /
                                    seqrec seconds per comparison, with a line at 1 (above: seqrec is faster)
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

ROOF_KERNELS = ("peak_gemm", "peak_triad")
MARKERS = "osD^v<>phX*P8"


def read_records(paths):
    """Every JSON object line of the files, by bench: {"portability": [...], "peer": [...]}."""
    out = {"portability": [], "peer": []}
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    d = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(d, dict) and d.get("bench") in out:
                    out[d["bench"]].append(d)
    return out


def series_label(backend, threads):
    # A GPU backend's "threads" is not a thread count worth naming.
    return backend if backend == "Cuda" else f"{backend} x{threads}"


def portability_by_scalar(records):
    """scalar -> {(series, kernel, shape): record}; a repeated key keeps the last record (later files win)."""
    out = {}
    for r in records:
        try:
            key = (series_label(r["backend"], r.get("threads", 0)), r["kernel"], r.get("shape", ""))
            out.setdefault(r["scalar"], {})[key] = r
        except KeyError:
            continue  # not a timing line
    return out


def series_order(keys):
    # Serial first, then OpenMP by thread count, then Cuda.
    rank = {"Serial": 0, "OpenMP": 1, "Threads": 2, "Cuda": 3}

    def k(s):
        name, _, t = s.partition(" x")
        return (rank.get(name, 9), int(t) if t.isdigit() else 0, s)

    return sorted(set(keys), key=k)


def plot_seconds(scalar, recs, out_dir):
    series = series_order(s for s, _, _ in recs)
    groups = sorted({(k, sh) for _, k, sh in recs}, key=lambda g: (g[0] in ROOF_KERNELS, g))
    n = len(series)
    width = 0.8 / max(n, 1)
    fig, ax = plt.subplots(figsize=(max(8, 0.35 * len(groups) * max(n, 2) + 2), 6))
    for i, s in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for g, (kernel, shape) in enumerate(groups):
            r = recs.get((s, kernel, shape))
            if r is None or not r.get("seconds", 0) > 0:
                continue
            sec = r["seconds"]
            xs.append(g - 0.4 + width * (i + 0.5))
            ys.append(sec)
            lo.append(max(sec - r.get("min_seconds", sec), 0))
            hi.append(max(r.get("max_seconds", sec) - sec, 0))
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=s, error_kw={"elinewidth": 0.8})
    ax.set_yscale("log")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{k}\n{sh}" if sh else k for k, sh in groups], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("seconds (median; bars min..max)")
    ax.set_title(f"seqrec-bench-portability, {scalar}: kernel time by backend")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out_dir, f"portability_seconds_{scalar}.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_roofline(scalar, recs, out_dir):
    series = series_order(s for s, _, _ in recs)
    roofs = {}  # series -> (peak GFLOP/s, peak GB/s)
    for (s, kernel, _), r in recs.items():
        g, b = roofs.get(s, (None, None))
        if kernel == "peak_gemm" and r.get("gflops", 0) > 0:
            g = max(g or 0, r["gflops"])
        elif kernel == "peak_triad" and r.get("gbps", 0) > 0:
            b = max(b or 0, r["gbps"])
        roofs[s] = (g, b)
    points = [(s, k, sh, r["flop"] / r["bytes"], r["gflops"]) for (s, k, sh), r in recs.items()
              if k not in ROOF_KERNELS and r.get("flop", 0) > 0 and r.get("bytes", 0) > 0 and r.get("gflops", 0) > 0]
    if not points and not any(g and b for g, b in roofs.values()):
        return None
    # One marker per kernel+shape; past the list of markers, the same ones hollow.
    kernels = sorted({(k, sh) for _, k, sh, _, _ in points})
    marker = {ks: (MARKERS[i % len(MARKERS)], i // len(MARKERS) % 2 == 1) for i, ks in enumerate(kernels)}
    colors = {s: f"C{i % 10}" for i, s in enumerate(series)}
    xs = [p[3] for p in points] or [1.0]
    lo, hi = min(xs) / 4, max(xs) * 4
    for g, b in roofs.values():  # show each ridge point
        if g and b:
            lo, hi = min(lo, g / b / 4), max(hi, g / b * 4)
    fig, ax = plt.subplots(figsize=(11, 6.5))
    grid = [lo * (hi / lo) ** (i / 200) for i in range(201)]
    for s in series:
        g, b = roofs.get(s, (None, None))
        if g and b:
            ax.plot(grid, [min(g, x * b) for x in grid], color=colors[s], lw=1.5)
            ax.annotate(f"{g:.0f} GFLOP/s, {b:.0f} GB/s", (hi, g), color=colors[s], fontsize=7, ha="right",
                        va="bottom")
        elif g:
            ax.axhline(g, color=colors[s], lw=1.5)
        elif b:
            ax.plot(grid, [x * b for x in grid], color=colors[s], lw=1.5)
    for s, k, sh, x, y in points:
        m, hollow = marker[(k, sh)]
        ax.scatter(x, y, marker=m, s=36, zorder=3, **({"facecolors": "none", "edgecolors": colors[s], "linewidths": 1.2}
                                                       if hollow else {"color": colors[s], "edgecolors": "black",
                                                                       "linewidths": 0.4}))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("arithmetic intensity (flop / byte)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.set_title(f"seqrec-bench-portability, {scalar}: roofline")
    ax.grid(which="both", alpha=0.3)
    handles = [Line2D([], [], color=colors[s], lw=2, label=s) for s in series]
    handles += [Line2D([], [], color="gray", marker=marker[ks][0], ls="", fillstyle="none" if marker[ks][1] else "full",
                       label=f"{ks[0]} {ks[1]}".strip()) for ks in kernels]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: no roof hidden
    fig.tight_layout()
    path = os.path.join(out_dir, f"roofline_{scalar}.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_peers(records, out_dir):
    rows = [r for r in records if isinstance(r.get("ratio"), (int, float)) and r["ratio"] > 0]
    if not rows:
        return None
    vary_threads = len({r.get("threads") for r in rows}) > 1
    labels = []
    for r in rows:
        name = r.get("model", "?") + (f" k{r['factors']}" if "factors" in r else "")
        name += f"\nvs {r.get('peer', '?')}"
        if vary_threads:
            name += f", {r.get('threads')} thr"
        labels.append(name)
    ratios = [r["ratio"] for r in rows]
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows) + 2), 5))
    colors = ["C2" if x >= 1 else "C3" for x in ratios]
    bars = ax.bar(range(len(rows)), ratios, color=colors)
    ax.axhline(1.0, color="black", lw=1, ls="--")
    if max(ratios) / min(ratios) > 20:
        ax.set_yscale("log")
    for b, x in zip(bars, ratios):
        ax.annotate(f"{x:.2f}x", (b.get_x() + b.get_width() / 2, x), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylabel("peer seconds / seqrec seconds (above 1: seqrec faster)")
    threads = sorted({r.get("threads") for r in rows if r.get("threads") is not None})
    ax.set_title("seqrec vs peers on " + ", ".join(sorted({r.get("data", "?") for r in rows})) +
                 (f", {'/'.join(map(str, threads))} threads" if threads else ""))
    ax.set_ylim(top=max(ratios) * (3 if ax.get_yscale() == "log" else 1.15))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = os.path.join(out_dir, "peer_ratios.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main():
    ap = argparse.ArgumentParser(description="Plot seqrec benchmark JSON lines as PNGs.")
    ap.add_argument("files", nargs="+", help="JSON-lines files (other lines are ignored)")
    ap.add_argument("--out", default="bench-plots", help="output directory (default bench-plots/)")
    a = ap.parse_args()
    recs = read_records(a.files)
    os.makedirs(a.out, exist_ok=True)
    written = []
    for scalar, by_key in sorted(portability_by_scalar(recs["portability"]).items()):
        written.append(plot_seconds(scalar, by_key, a.out))
        written.append(plot_roofline(scalar, by_key, a.out))
    written.append(plot_peers(recs["peer"], a.out))
    written = [w for w in written if w]
    if not written:
        print("plot_bench: no portability or peer lines in the input", file=sys.stderr)
        return 1
    for w in written:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())

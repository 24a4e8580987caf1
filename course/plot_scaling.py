#!/usr/bin/env python3
"""Experiment 7's picture: forward time against sequence length T, log-log, from the CSV that
`kiln bench scaling --csv` writes (or in one go: `kiln bench scaling --plot scaling.png`).

One line per method (RNN, LSTM, naive and fused attention). Dotted guides of slope 1 and 2 show
what O(T) and O(T^2) look like on these axes: a curve parallel to a guide grows at that rate.
Points a method skipped (over the time budget, or failed) are simply absent.

    kiln bench scaling --csv scaling.csv
    python3 course/plot_scaling.py scaling.csv --png scaling.png

Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")  # files only: works without a display
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {
    "rnn": "RNN (tanh)",
    "lstm": "LSTM",
    "attention_naive": "self-attention, naive (T x T in memory)",
    "attention_fused": "self-attention, fused (flash-style)",
}
STYLES = {
    "rnn": ("tab:blue", "o"),
    "lstm": ("tab:orange", "s"),
    "attention_naive": ("tab:red", "^"),
    "attention_fused": ("tab:green", "D"),
}


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    required = {"device", "width", "batch", "method", "implementation", "T", "median_ms"}
    if not rows or not required <= set(rows[0]):
        sys.exit(f"{path}: expected the CSV of `kiln bench scaling` (columns {sorted(required)})")
    return rows


def guide(ax, ts, through, slope, label):
    """A dotted line of the given log-log slope through the point `through` = (T, ms)."""
    t0, ms0 = through
    ax.plot(ts, [ms0 * (t / t0) ** slope for t in ts], linestyle=":", color="0.45",
            linewidth=1.2, label=label, dashes=(1, 2) if slope == 1 else (4, 2))


def plot(rows, png):
    series = {}
    for row in rows:
        if row["median_ms"]:
            series.setdefault(row["method"], []).append((int(row["T"]), float(row["median_ms"])))
    if not series:
        sys.exit("no measured points in the CSV")
    implementations = {row["method"]: row["implementation"] for row in rows}
    fig, ax = plt.subplots(figsize=(7.5, 5), constrained_layout=True)
    for method in [m for m in LABELS if m in series] + [m for m in series if m not in LABELS]:
        points = sorted(series[method])
        color, marker = STYLES.get(method, (None, "x"))
        label = LABELS.get(method, method)
        if implementations.get(method) == "cudnn":
            label += " (cuDNN)"
        ax.plot([t for t, _ in points], [ms for _, ms in points], marker=marker, color=color,
                label=label, markersize=4)
    all_t = sorted({t for points in series.values() for t, _ in points})
    slowest = max(ms for points in series.values() for _, ms in points)
    fastest = min(ms for points in series.values() for _, ms in points)
    # Guides through the first recurrent point (O(T)) and the last attention point (O(T^2)):
    # a curve that runs parallel to one grows at its rate.
    recurrent = [m for m in ("rnn", "lstm") if m in series]
    attention = [m for m in ("attention_naive", "attention_fused") if m in series]
    if recurrent:
        guide(ax, all_t, sorted(series[recurrent[0]])[0], 1, "slope 1: O(T)")
    if attention:
        guide(ax, all_t, sorted(series[attention[0]])[-1], 2, "slope 2: O(T²)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_ylim(fastest / 2, slowest * 2)
    ax.set_xlabel("sequence length T (tokens)")
    ax.set_ylabel("time per forward pass (ms)")
    first = rows[0]
    ax.set_title(f"RNN vs self-attention cost on {first['device']} "
                 f"(width {first['width']}, batch {first['batch']})", fontsize=10)
    ax.grid(True, which="major", linewidth=0.4, alpha=0.6)
    ax.legend(fontsize=8, loc="upper left")
    fig.savefig(png, dpi=100)
    print(f"wrote {png}")


def main():
    parser = argparse.ArgumentParser(
        description="Plot the CSV of `kiln bench scaling` (log-log time vs T).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("csv", type=pathlib.Path, help="CSV written by `kiln bench scaling --csv`")
    parser.add_argument("--png", type=pathlib.Path, default=pathlib.Path("scaling.png"))
    args = parser.parse_args()
    plot(read(args.csv), args.png)


if __name__ == "__main__":
    main()

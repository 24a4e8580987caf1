#!/usr/bin/env python3
"""Attention heat maps: one panel per layer and head, from the CSVs that `kiln attention` writes.

Each panel is a T x T matrix: row i is the query at position i, column j how much it attends to
position j (rows sum to 1; the causal mask leaves the upper triangle at 0). Tokens label the
axes, with spaces shown as '·' and newlines as '\\n'.

Two ways to run it (Debian: python3-matplotlib):

    # from CSVs already exported
    kiln attention --model DIR --prompt "The cat sat on the mat" --out attn
    python3 course/plot_attention.py attn --png attention.png

    # in one command: runs `kiln attention` into a temporary directory, then plots
    python3 course/plot_attention.py --model DIR --prompt "The cat sat on the mat" \\
        --png attention.png

Options: --layers 0,3 and --heads 1,2 pick panels (all by default); --kiln PATH names the
binary (default: build/*/bin/kiln, newest first).
"""
import argparse
import csv
import pathlib
import re
import subprocess
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")  # files only: works without a display
import matplotlib.pyplot as plt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
PANEL_NAME = re.compile(r"layer(\d+)_head(\d+)\.csv")


def find_kiln():
    builds = sorted(ROOT.glob("build/*/bin/kiln"), key=lambda p: p.stat().st_mtime, reverse=True)
    if not builds:
        sys.exit("no kiln binary under build/*/bin: build it, or pass --kiln PATH")
    return builds[0]


def export(kiln, model, prompt, out_dir):
    result = subprocess.run([str(kiln), "attention", "--model", model, "--prompt", prompt,
                             "--out", str(out_dir)], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(result.stderr.strip() or f"kiln attention failed ({result.returncode})")


def shown(token):
    return token.replace(" ", "·").replace("\n", "\\n").replace("\t", "\\t")


def read_tokens(out_dir):
    # A single token can end inside a multi-byte character: show such bytes as \xNN.
    with open(out_dir / "tokens.csv", encoding="utf-8", errors="backslashreplace",
              newline="") as f:
        return [shown(row["token"]) for row in csv.DictReader(f)]


def read_matrix(path):
    with open(path, newline="") as f:
        return [[float(v) for v in row] for row in csv.reader(f)]


def parse_list(text):
    return None if text is None else {int(v) for v in text.split(",") if v.strip()}


def plot(out_dir, png, layers=None, heads=None, title=None):
    panels = {}
    for path in out_dir.glob("layer*_head*.csv"):
        match = PANEL_NAME.fullmatch(path.name)
        if match:
            layer, head = int(match[1]), int(match[2])
            if (layers is None or layer in layers) and (heads is None or head in heads):
                panels[layer, head] = path
    if not panels:
        sys.exit(f"no layer<L>_head<H>.csv files in {out_dir} (for the layers and heads asked)")
    tokens = read_tokens(out_dir)
    rows = sorted({layer for layer, _ in panels})
    cols = sorted({head for _, head in panels})
    size = max(1.6, min(0.25 * len(tokens) + 1.2, 4.0))
    fig, axes = plt.subplots(len(rows), len(cols), figsize=(size * len(cols), size * len(rows)),
                             squeeze=False, constrained_layout=True)
    labels = len(tokens) <= 40  # beyond that the labels overlap
    image = None
    for r, layer in enumerate(rows):
        for c, head in enumerate(cols):
            ax = axes[r][c]
            if (layer, head) not in panels:
                ax.axis("off")
                continue
            image = ax.imshow(read_matrix(panels[layer, head]), cmap="viridis", vmin=0.0,
                              vmax=1.0)
            ax.set_title(f"layer {layer}, head {head}", fontsize=8)
            ax.set_xticks(range(len(tokens)) if labels else [])
            ax.set_yticks(range(len(tokens)) if labels else [])
            if labels:
                ax.set_xticklabels(tokens, rotation=90, fontsize=6)
                ax.set_yticklabels(tokens, fontsize=6)
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle(title or f"attention weights ({len(tokens)} tokens; row = query, "
                          "column = key)", fontsize=10)
    fig.savefig(png, dpi=120)
    print(f"wrote {png}: {len(rows)} layers x {len(cols)} heads, {len(tokens)} tokens")


def main():
    parser = argparse.ArgumentParser(
        description="Draw attention heat maps from `kiln attention` CSVs.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("csv_dir", nargs="?", type=pathlib.Path,
                        help="directory written by `kiln attention --out`")
    parser.add_argument("--model", help="export first: model directory for `kiln attention`")
    parser.add_argument("--prompt", help="export first: the prompt")
    parser.add_argument("--kiln", type=pathlib.Path, help="the kiln binary")
    parser.add_argument("--png", type=pathlib.Path, default=pathlib.Path("attention.png"))
    parser.add_argument("--layers", help="comma-separated layers to draw (default: all)")
    parser.add_argument("--heads", help="comma-separated heads to draw (default: all)")
    args = parser.parse_args()
    if (args.csv_dir is None) == (args.model is None):
        parser.error("give either a CSV directory or --model and --prompt")
    if args.csv_dir is not None:
        plot(args.csv_dir, args.png, parse_list(args.layers), parse_list(args.heads))
        return
    if args.prompt is None:
        parser.error("--model needs --prompt")
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = pathlib.Path(tmp) / "attention"
        export(args.kiln or find_kiln(), args.model, args.prompt, out_dir)
        plot(out_dir, args.png, parse_list(args.layers), parse_list(args.heads),
             title=f"{args.prompt!r}: attention weights (row = query, column = key)")


if __name__ == "__main__":
    main()

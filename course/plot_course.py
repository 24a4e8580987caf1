#!/usr/bin/env python3
"""The pictures of `kiln course NAME`: one function per demonstration or experiment, each
reading the CSV files the command wrote into its output folder.

    python3 course/plot_course.py KIND --dir out/course/NAME --png out/course/NAME/NAME.png

`kiln course` runs it itself (Debian: python3-matplotlib); run it by hand to redraw a picture
after editing it.
"""
import argparse
import csv
import math
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")  # files only: works without a display
import matplotlib.pyplot as plt  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent


def rows(folder, name):
    with open(folder / name, encoding="utf-8", errors="backslashreplace", newline="") as f:
        return list(csv.DictReader(f))


def column(table, key, kind=float):
    return [kind(r[key]) for r in table]


def boundary(ax, folder, grid_name, points_name, title):
    grid = rows(folder, grid_name)
    xs = sorted({float(r["x"]) for r in grid})
    ys = sorted({float(r["y"]) for r in grid})
    p = [[0.0] * len(xs) for _ in ys]
    for i, r in enumerate(grid):
        p[i // len(xs)][i % len(xs)] = float(r["p1"])
    ax.contourf(xs, ys, p, levels=20, cmap="RdBu_r", alpha=0.6)
    ax.contour(xs, ys, p, levels=[0.5], colors="k", linewidths=1)
    pts = rows(folder, points_name)
    ax.scatter(column(pts, "x"), column(pts, "y"), c=column(pts, "label", int), cmap="bwr",
               s=6, edgecolors="none")
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_mlp(folder, args):
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    h = rows(folder, "history.csv")
    epochs = column(h, "epoch", int)
    a.plot(epochs, column(h, "train_loss"), label="train")
    a.plot(epochs, column(h, "val_loss"), label="validation")
    a.set_xlabel("epoch")
    a.set_ylabel("cross-entropy")
    a.legend()
    a.set_title("learning curve")
    boundary(b, folder, "grid.csv", "points.csv", "decision boundary (validation points)")
    return fig


def plot_learning_curves(folder, args):
    t = rows(folder, "learning_curves.csv")
    n = column(t, "train_size", int)
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    a.plot(n, column(t, "train_loss"), "o-", label="train")
    a.plot(n, column(t, "val_loss"), "o-", label="validation")
    a.set_xscale("log")
    a.set_xlabel("training points")
    a.set_ylabel("loss")
    a.legend()
    b.plot(n, column(t, "train_acc"), "o-", label="train")
    b.plot(n, column(t, "val_acc"), "o-", label="validation")
    b.set_xscale("log")
    b.set_xlabel("training points")
    b.set_ylabel("accuracy")
    b.legend()
    fig.suptitle("Experiment 1: learning curves")
    return fig


def plot_regularisation(folder, args):
    curves = rows(folder, "curves.csv")
    settings = list(dict.fromkeys(r["setting"] for r in curves))
    fig, axes = plt.subplots(2, len(settings), figsize=(4 * len(settings), 7))
    for i, s in enumerate(settings):
        c = [r for r in curves if r["setting"] == s]
        ax = axes[0][i]
        ax.plot(column(c, "epoch", int), column(c, "train_loss"), label="train")
        ax.plot(column(c, "epoch", int), column(c, "val_loss"), label="validation")
        ax.set_title(s)
        ax.set_xlabel("epoch")
        ax.legend()
        boundary(axes[1][i], folder, f"grid_{s}.csv", "points.csv", f"{s}: boundary")
    fig.suptitle("Experiment 2: regularisation")
    return fig


def plot_vanishing_gradient(folder, args):
    t = rows(folder, "vanishing_gradient.csv")
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4))
    for m in dict.fromkeys(r["model"] for r in t):
        c = [r for r in t if r["model"] == m]
        a.plot(column(c, "T", int), column(c, "grad_norm_first_step"), "o-", label=m)
        b.plot(column(c, "T", int), column(c, "accuracy"), "o-", label=m)
    a.set_yscale("log")
    a.set_xlabel("T")
    a.set_ylabel("||dL/dx_1||")
    a.legend()
    b.set_xlabel("T")
    b.set_ylabel("accuracy (first bit)")
    b.axhline(0.5, color="grey", linestyle=":")
    b.legend()
    fig.suptitle("Experiment 3: vanishing gradient")
    return fig


def plot_lstm(folder, args):
    t = rows(folder, "loss_curves.csv")
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in dict.fromkeys(r["model"] for r in t):
        c = [r for r in t if r["model"] == m]
        loss = column(c, "loss")
        smooth, s = [], loss[0]
        for v in loss:
            s = 0.9 * s + 0.1 * v
            smooth.append(s)
        ax.plot(column(c, "step", int), smooth, label=m)
    ax.set_xlabel("step")
    ax.set_ylabel("next-character loss (smoothed)")
    ax.legend()
    return fig


def plot_ngram(folder, args):
    t = rows(folder, "next_word.csv")[: args.top]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(range(len(t)), column(t, "probability"))
    ax.set_xticks(range(len(t)))
    ax.set_xticklabels([r["word"] for r in t], rotation=45, ha="right")
    ax.set_ylabel("P(next word | context)")
    fig.tight_layout()
    return fig


def plot_bpe(folder, args):
    m = rows(folder, "merges.csv")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(column(m, "step", int), [len(r["new_token"]) for r in m], "o-", markersize=3)
    ax.set_xlabel("merge step")
    ax.set_ylabel("length of the new token (symbols)")
    ax.set_title("BPE: later merges build longer tokens")
    return fig


def plot_attention_by_hand(folder, args):
    t = rows(folder, "weights.csv")
    labels = [r[""] for r in t]
    cols = [k for k in t[0] if k]
    a = [[float(r[k]) for k in cols] for r in t]
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(a, cmap="viridis", vmin=0, vmax=1)
    for i, row in enumerate(a):
        for j, v in enumerate(row):
            ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="w" if v < 0.45 else "k")
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(cols)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    ax.set_title("A = softmax(QKᵀ/√d)")
    return fig


def plot_token_lengths(folder, args):
    t = rows(folder, "sentences.csv")
    w, k = column(t, "words"), column(t, "tokens")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].hist(w, bins=20)
    axes[0].set_xlabel("words per sentence")
    axes[1].hist(k, bins=20, color="tab:orange")
    axes[1].set_xlabel("tokens per sentence")
    axes[2].scatter(w, k, s=8)
    axes[2].set_xlabel("words")
    axes[2].set_ylabel("tokens")
    fig.suptitle("Experiment 5: sentence lengths")
    fig.tight_layout()
    return fig


def plot_attention_cost(folder, args):
    sys.path.insert(0, str(HERE))
    import plot_scaling  # noqa: E402

    plot_scaling.plot(plot_scaling.read(folder / "scaling.csv"), pathlib.Path(args.png))
    return None


def plot_attention_heads(folder, args):
    sys.path.insert(0, str(HERE))
    import plot_attention  # noqa: E402

    layers = [int(x) for x in args.layers.split(",")] if args.layers else None
    heads = [int(x) for x in args.heads.split(",")] if args.heads else None
    plot_attention.plot(pathlib.Path(args.maps), pathlib.Path(args.png), layers, heads, args.title)
    return None


def plot_temperature_entropy(folder, args):
    t = rows(folder, "entropy.csv")
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(column(t, "temperature"), column(t, "entropy_nats"), "o-")
    ax.set_xlabel("temperature T")
    ax.set_ylabel("entropy of p(next token) (nats)")
    ax.set_title("Experiment 9: temperature vs entropy")
    return fig


def plot_bars(folder, name, x, y, ylabel, title):
    t = rows(folder, name)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar([r[x] for r in t], column(t, y))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return fig


def plot_ngram_vs_gpt(folder, args):
    return plot_bars(folder, "summary.csv", "model", "perplexity_per_char",
                     "perplexity per character", "Experiment 4: n-gram vs GPT")


def plot_zero_shot(folder, args):
    return plot_bars(folder, "summary.csv", "method", "accuracy", "test accuracy",
                     "Experiment 8: zero-shot vs supervised")


def plot_prompt_benchmark(folder, args):
    return plot_bars(folder, "summary.csv", "prompt", "mean_score", "mean score (0-2)",
                     "Experiment 10: prompt styles")


def plot_embeddings(folder, args):
    t = rows(folder, "similarity.csv")
    words = [r["word"] for r in t]
    m = [[float(r[w]) for w in words] for r in t]
    fig, ax = plt.subplots(figsize=(6, 5))
    im = ax.imshow(m, cmap="coolwarm", vmin=-1, vmax=1)
    ax.set_xticks(range(len(words)))
    ax.set_xticklabels(words, rotation=60, ha="right")
    ax.set_yticks(range(len(words)))
    ax.set_yticklabels(words)
    fig.colorbar(im)
    ax.set_title("cosine similarity of token embeddings")
    fig.tight_layout()
    return fig


def plot_decoding(folder, args):
    t = rows(folder, "decoding.csv")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar([r["strategy"] for r in t], column(t, "distinct_tokens_ratio"))
    ax.set_ylabel("distinct tokens / tokens")
    ax.set_title("TP2: diversity of each decoding strategy")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
    fig.tight_layout()
    return fig


PLOTS = {name[len("plot_"):]: f for name, f in globals().items() if name.startswith("plot_")}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=sorted(PLOTS))
    parser.add_argument("--dir", type=pathlib.Path, required=True)
    parser.add_argument("--png", required=True)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--maps", help="attention_heads: the folder of one sentence's maps")
    parser.add_argument("--layers")
    parser.add_argument("--heads")
    parser.add_argument("--title")
    args = parser.parse_args()
    fig = PLOTS[args.kind](args.dir, args)
    if fig is not None:
        fig.tight_layout()
        fig.savefig(args.png, dpi=72)


if __name__ == "__main__":
    main()

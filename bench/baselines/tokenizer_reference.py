#!/usr/bin/env python3
"""Python reference timings for bench/text/tokenizer_bench.cpp: GPT-2 encode throughput on the
same tinyshakespeare file, by whichever implementations this Python has:

  reference        scripts/make_tokenizer_fixtures.py's Encoder (OpenAI's encoder.py: the
                   `regex` module and a Python merge loop), cold (new instance) and warm (its
                   word cache filled by a previous pass)
  tiktoken         OpenAI's Rust tokenizer, built from the same local files (no download)
  hf-fast, hf-slow transformers' GPT2TokenizerFast (Rust `tokenizers`) and GPT2Tokenizer (Python)

Missing packages are reported and skipped. Every implementation's ids are checked against the
reference's. Usage:

    python3 bench/baselines/tokenizer_reference.py [--file TEXT] [--gpt2 DIR] [--repeat N]
"""
import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import make_tokenizer_fixtures as reference  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"


def best_time(make, text, repeat, warm):
    """Shortest CPU time (all threads of this process) of `repeat` encodes of text, and the ids.
    Cold: each pass with a new instance (built outside the timing); warm: one instance that has
    encoded text before. CPU time, like the C++ benchmark, because a busy machine inflates wall
    time."""
    best = float("inf")
    ids = None
    encode = make()
    if warm:
        encode(text)
    for _ in range(repeat):
        if not warm:
            encode = make()
        start = time.process_time()
        ids = encode(text)
        best = min(best, time.process_time() - start)
    return best, ids


def candidates(gpt2_dir):
    """(name, make_encode) for every implementation available; make_encode builds a fresh
    instance and returns its encode function, so each cold timing starts without a cache."""
    vocab_path, merges_path = gpt2_dir / "encoder.json", gpt2_dir / "vocab.bpe"
    reference.GPT2_DIR = gpt2_dir
    vocab, merges = reference.read_gpt2()

    def make_reference():
        return reference.Encoder(vocab, merges, [reference.EOT]).encode

    yield "reference", make_reference

    try:
        import tiktoken

        def make_tiktoken():
            ranks = {bytes(reference.BYTE_DECODER[c] for c in token): i
                     for token, i in vocab.items() if token != reference.EOT}
            encoding = tiktoken.Encoding("gpt2-local", pat_str=reference.PATTERN.pattern,
                                         mergeable_ranks=ranks,
                                         special_tokens={reference.EOT: vocab[reference.EOT]})
            return lambda text: encoding.encode(text, allowed_special="all")

        yield "tiktoken", make_tiktoken
    except ImportError:
        print("tiktoken: not installed, skipped", file=sys.stderr)

    try:
        import transformers

        def make_hf(cls):
            def make():
                tokenizer = cls(vocab_file=str(vocab_path), merges_file=str(merges_path),
                                model_max_length=sys.maxsize)
                return lambda text: tokenizer(text)["input_ids"]
            return make

        yield "hf-fast", make_hf(transformers.GPT2TokenizerFast)
        yield "hf-slow", make_hf(transformers.GPT2Tokenizer)
    except ImportError:
        print("transformers: not installed, skipped", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=pathlib.Path, default=SHARED / "tinyshakespeare/input.txt")
    parser.add_argument("--gpt2", type=pathlib.Path, default=SHARED / "gpt2-tokenizer")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes (the best counts)")
    args = parser.parse_args()
    for path in (args.file, args.gpt2 / "encoder.json"):
        if not path.exists():
            sys.exit(f"{path} not found")
    text = args.file.read_text(encoding="utf-8")
    # MiB, as Google Benchmark's bytes_per_second counts them.
    megabytes = len(text.encode("utf-8")) / 2**20
    print(f"{args.file}: {megabytes:.3f} MiB; Python {sys.version.split()[0]}")
    print(f"{'implementation':<18} {'CPU s':>8} {'MiB/s':>8} {'tokens':>8}")
    expected = None
    for name, make in candidates(args.gpt2):
        cold, ids = best_time(make, text, args.repeat, warm=False)
        warm, _ = best_time(make, text, args.repeat, warm=True)
        if expected is None:
            expected = ids
        status = "" if ids == expected else "  (ids differ from the reference!)"
        for mode, seconds in (("cold", cold), ("warm", warm)):
            print(f"{name + ' ' + mode:<18} {seconds:8.3f} {megabytes / seconds:8.2f} "
                  f"{len(ids):8d}{status}")


if __name__ == "__main__":
    main()

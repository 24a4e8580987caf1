#!/usr/bin/env python3
"""Writes tests/models/fixtures/tiny_gpt2: a small GPT-2 in Hugging Face layout, made and run
by transformers itself, with the logits and loss transformers computes for a fixed sequence.

kiln's tests load the directory and must reproduce those numbers; this keeps the reference
independent of kiln. Needs torch and transformers (e.g. Debian's python3-torch and
`pip install transformers`):

    python3 scripts/make_gpt2_fixture.py [OUT_DIR]
"""
import json
import pathlib
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/models/fixtures/tiny_gpt2"


def main():
    torch.manual_seed(1234)
    config = GPT2Config(vocab_size=67, n_positions=24, n_embd=16, n_layer=2, n_head=4,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config).eval()
    # transformers initialises biases and LayerNorms to 0/1; random values test that kiln
    # reads every tensor from the right place.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)

    ids = torch.tensor([[5, 17, 3, 66, 0, 42, 42, 8, 13, 21, 34, 55, 1, 2]])
    with torch.no_grad():
        out = model(ids, labels=ids)
    expected = {
        "ids": ids[0].tolist(),
        "logits": [[round(v, 7) for v in row] for row in out.logits[0].tolist()],
        "loss": out.loss.item(),
        "transformers": __import__("transformers").__version__,
        "torch": torch.__version__,
    }
    (OUT / "expected.json").write_text(json.dumps(expected) + "\n")
    print(f"wrote {OUT}: loss {out.loss.item():.6f}")


if __name__ == "__main__":
    main()

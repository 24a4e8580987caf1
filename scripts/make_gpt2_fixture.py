#!/usr/bin/env python3
"""Writes tests/models/fixtures/tiny_gpt2: a small GPT-2 in Hugging Face layout with its
byte-level BPE tokenizer, made, briefly trained and run by transformers itself, and what
transformers computes with them (expected.json).

kiln's tests load the directory and must reproduce those numbers; this keeps the reference
independent of kiln. The tokenizer is the small BPE of tests/text/fixtures/small_bpe (written by
scripts/make_tokenizer_fixtures.py; run that first), so the model's vocab_size is that
tokenizer's size. Needs torch and transformers (e.g. /opt/hfenv/bin/python, or Debian's
python3-torch and `pip install transformers`):

    python3 scripts/make_gpt2_fixture.py [OUT_DIR]

expected.json holds:
  ids, logits, loss   a fixed id sequence, its logits [T, vocab] and mean loss (labels=ids)
  texts               texts that fit the context: their ids under GPT2TokenizerFast and loss
  long_text           a text longer than the context, scored with kiln's sliding window
                      (infer/perplexity.h: windows of block_size every block_size / 2 tokens,
                      each token scored once), computed here from transformers' logits
  generation          a prompt, its ids, and model.generate(do_sample=False)'s new ids and text
"""
import json
import math
import pathlib
import shutil
import sys

import torch
import transformers
import transformers.generation.utils
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import make_tokenizer_fixtures as reference_bpe  # noqa: E402  (the project's own GPT-2 encoder)

# generate() asks whether the model is FSDP-wrapped by importing torch.distributed.fsdp, which
# fails to import with Debian's torch 1.13 on Python 3.11; a model made here never is.
transformers.generation.utils.is_fsdp_managed_module = lambda module: False

OUT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/models/fixtures/tiny_gpt2"
TOKENIZER = ROOT / "tests/text/fixtures/small_bpe"
BLOCK_SIZE = 24
MAX_BYTES = 200_000  # the fixture is committed: keep it small

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "À l'école, les élèves étudient.",
    "我们学习 😀 🚀 tokens",
    "it's 2024:  two  spaces\n\nok",
]
LONG_TEXT = ("A language model predicts the next token from the tokens before it. "
             "Le modèle de langue prédit le prochain jeton. "
             "The tokenizer decides what a token is: a character, a byte, or a word.")
PROMPT = "Les élèves"
MAX_NEW_TOKENS = 12
TRAIN_STEPS = 1000
TRAIN_LR = 1e-2


def windowed_loss(model, ids, block, stride):
    """Mean next-token NLL of ids: windows of `block` inputs starting every `stride` tokens,
    each token scored once, by the first window that predicts it."""
    total = 0.0
    scored_until = 1  # tokens [1, scored_until) are scored
    begin = 0
    while scored_until < len(ids):
        window = ids[begin:begin + block + 1]
        with torch.no_grad():
            logits = model(torch.tensor([window[:-1]])).logits[0].double()
        logp = torch.log_softmax(logits, dim=-1)
        for i in range(len(window) - 1):
            target = begin + i + 1
            if target >= scored_until:
                total -= logp[i, window[i + 1]].item()
        scored_until = begin + len(window)
        begin += stride
    return total / (len(ids) - 1)


def train_briefly(model, encoder):
    """TRAIN_STEPS AdamW steps on the tokenizer's training corpus, so that greedy decoding
    produces varied text instead of one repeated token (an untrained model's habit), which
    would let a position or cache bug go unnoticed."""
    corpus = (ROOT / "tests/text/fixtures/train_corpus.txt").read_text(encoding="utf-8")
    data = torch.tensor(encoder.encode(corpus))
    generator = torch.Generator().manual_seed(99)
    optimizer = torch.optim.AdamW(model.parameters(), lr=TRAIN_LR)
    model.train()
    for _ in range(TRAIN_STEPS):
        starts = torch.randint(0, len(data) - BLOCK_SIZE - 1, (16,), generator=generator)
        batch = torch.stack([data[s:s + BLOCK_SIZE] for s in starts])
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def smallest_greedy_margin(scores):
    """Smallest gap between the best and second-best logit over the generated steps."""
    margins = []
    for step in scores:
        top = torch.topk(step[0], 2).values
        margins.append((top[0] - top[1]).item())
    return min(margins)


def main():
    if not (TOKENIZER / "vocab.json").exists():
        sys.exit(f"{TOKENIZER} is missing: run scripts/make_tokenizer_fixtures.py first")
    vocab = json.loads((TOKENIZER / "vocab.json").read_text(encoding="utf-8"))
    merge_lines = (TOKENIZER / "merges.txt").read_text(encoding="utf-8").split("\n")[1:]
    merges = [tuple(line.split()) for line in merge_lines if line]
    eos = vocab[reference_bpe.EOT]

    torch.manual_seed(1234)
    config = GPT2Config(vocab_size=len(vocab), n_positions=BLOCK_SIZE, n_embd=16, n_layer=2,
                        n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        bos_token_id=eos, eos_token_id=eos)
    model = GPT2LMHeadModel(config).eval()
    # transformers initialises biases and LayerNorms to 0/1; random values test that kiln
    # reads every tensor from the right place.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.add_(0.1 * torch.randn_like(p))
    reference = reference_bpe.Encoder(vocab, merges, [reference_bpe.EOT])
    train_briefly(model, reference)
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(TOKENIZER / name, OUT / name)
    tokenizer = GPT2TokenizerFast.from_pretrained(OUT)
    assert len(tokenizer) == config.vocab_size, (len(tokenizer), config.vocab_size)

    def encode(text):
        ids = tokenizer(text)["input_ids"]
        assert ids == reference.encode(text), f"transformers and the reference differ on {text!r}"
        return ids

    ids = torch.tensor([[5, 17, 3, 576, 0, 420, 420, 8, 130, 21, 341, 555, 1, 2]])
    with torch.no_grad():
        out = model(ids, labels=ids)

    texts = []
    for text in TEXTS:
        text_ids = encode(text)
        assert 2 <= len(text_ids) <= BLOCK_SIZE, (text, len(text_ids))
        with torch.no_grad():
            loss = model(torch.tensor([text_ids]), labels=torch.tensor([text_ids])).loss.item()
        texts.append({"text": text, "ids": text_ids, "loss": loss})

    long_ids = encode(LONG_TEXT)
    assert len(long_ids) > 2 * BLOCK_SIZE, len(long_ids)
    stride = BLOCK_SIZE // 2
    long_loss = windowed_loss(model, long_ids, BLOCK_SIZE, stride)
    # The window loop agrees with transformers' own loss where one window covers the text.
    short = texts[0]["ids"]
    assert math.isclose(windowed_loss(model, short, BLOCK_SIZE, stride), texts[0]["loss"],
                        rel_tol=1e-5)

    prompt_ids = encode(PROMPT)
    with torch.no_grad():
        generated = model.generate(torch.tensor([prompt_ids]), do_sample=False,
                                   max_new_tokens=MAX_NEW_TOKENS, pad_token_id=eos,
                                   output_scores=True, return_dict_in_generate=True)
    new_ids = generated.sequences[0, len(prompt_ids):].tolist()
    margin = smallest_greedy_margin(generated.scores)
    # kiln computes in f32 too, but in another order: a near tie could flip the argmax.
    assert margin > 1e-4, f"greedy decode has a near tie ({margin}); pick another prompt"
    assert len(set(new_ids)) > MAX_NEW_TOKENS // 2, f"greedy decode repeats itself: {new_ids}"

    expected = {
        "ids": ids[0].tolist(),
        "logits": [[round(v, 7) for v in row] for row in out.logits[0].tolist()],
        "loss": out.loss.item(),
        "texts": texts,
        "long_text": {"text": LONG_TEXT, "ids": long_ids, "stride": stride, "loss": long_loss},
        "generation": {
            "prompt": PROMPT,
            "prompt_ids": prompt_ids,
            "max_new_tokens": MAX_NEW_TOKENS,
            "ids": new_ids,
            "text": tokenizer.decode(new_ids, clean_up_tokenization_spaces=False),
            "min_logit_margin": margin,
        },
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    (OUT / "expected.json").write_text(json.dumps(expected, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    size = sum(f.stat().st_size for f in OUT.iterdir())
    assert size < MAX_BYTES, f"the fixture is {size} bytes, over {MAX_BYTES}"
    print(f"wrote {OUT} ({size} bytes): vocab {config.vocab_size}, loss {out.loss.item():.6f}, "
          f"greedy {new_ids}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes tests/models/fixtures/llama_*: small Llama-family models in Hugging Face layout, made,
briefly trained and run by transformers itself, with what transformers computes (expected.json).
kiln's tests load each directory and must reproduce those numbers, so the reference is
independent of kiln. Ids are bytes (vocab 256): no tokenizer is involved.

  llama_tiny       Llama, GQA (4 heads, 2 kv heads), untied classifier, F32
  qwen2_tiny       Qwen2: q/k/v biases, tied, rope_theta 1e6 with linear rope_scaling, F32
  llama3_sharded   Llama 3 rope_scaling, head_dim 24 (not hidden / heads), attention and MLP
                   biases, tied, BF16, in two shards with model.safetensors.index.json
  mistral_tiny     Mistral without a sliding window, untied, F16

Needs torch and transformers: Debian's python3-torch (torch 1.13) with
`pip install --user --break-system-packages 'transformers==4.46.3' safetensors`
(4.46 is the last release that runs on torch 1.13 and reads head_dim), then

    /usr/bin/python3 scripts/make_llama_fixture.py [OUT_ROOT]

expected.json holds:
  ids, logits, loss   a fixed id sequence, its logits [T, vocab] and mean loss (labels=ids),
                      computed in f32 from the weights as stored (BF16/F16 rounded)
  generation          prompt ids and model.generate(do_sample=False)'s new ids

Check mode, for a directory kiln wrote (tests/models/hf_llama_test.cpp runs it when an
interpreter with transformers is found):

    /usr/bin/python3 scripts/make_llama_fixture.py --check DIR IDS_JSON LOSS

loads DIR with AutoModelForCausalLM and exits non-zero unless its loss on IDS_JSON (a JSON list
of ids) is LOSS within 1e-5 relative.
"""
import json
import math
import pathlib
import sys

import torch
import transformers
import transformers.generation.utils
from transformers import (AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig,
                          MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)

# generate() asks whether the model is FSDP-wrapped by importing torch.distributed.fsdp, which
# fails to import with Debian's torch 1.13 on Python 3.11; a model made here never is.
transformers.generation.utils.is_fsdp_managed_module = lambda module: False

ROOT = pathlib.Path(__file__).resolve().parent.parent
MAX_BYTES = 300_000  # each fixture is committed: keep it small
CONTEXT = 64
IDS = [72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100, 33, 10, 0, 255]
PROMPT = [84, 104, 101, 32]  # "The "
MAX_NEW_TOKENS = 12
TRAIN_STEPS = 600

COMMON = dict(vocab_size=256, max_position_embeddings=CONTEXT, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, initializer_range=0.05,
              attn_implementation="eager", bos_token_id=None, eos_token_id=None,
              pad_token_id=0)

VARIANTS = {
    "llama_tiny": (LlamaForCausalLM, LlamaConfig(
        hidden_size=32, intermediate_size=64, tie_word_embeddings=False, rms_norm_eps=1e-5,
        **COMMON), torch.float32, 1),
    "qwen2_tiny": (Qwen2ForCausalLM, Qwen2Config(
        hidden_size=32, intermediate_size=64, tie_word_embeddings=True, rope_theta=1e6,
        rope_scaling={"rope_type": "linear", "factor": 2.0}, use_sliding_window=False,
        **COMMON), torch.float32, 1),
    "llama3_sharded": (LlamaForCausalLM, LlamaConfig(
        hidden_size=64, intermediate_size=128, head_dim=24, tie_word_embeddings=True,
        attention_bias=True, mlp_bias=True, rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                      "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
        **COMMON), torch.bfloat16, 2),
    "mistral_tiny": (MistralForCausalLM, MistralConfig(
        hidden_size=32, intermediate_size=64, tie_word_embeddings=False, sliding_window=None,
        **COMMON), torch.float16, 1),
}


def corpus_ids():
    text = (ROOT / "tests/text/fixtures/train_corpus.txt").read_bytes()
    return torch.tensor(list(text))


def train_briefly(model, seed):
    """AdamW on the bytes of a small corpus, so that greedy decoding produces varied ids
    instead of one repeated id (an untrained model's habit), which would hide a position or
    cache bug."""
    data = corpus_ids()
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(TRAIN_STEPS):
        starts = torch.randint(0, len(data) - 33, (16,), generator=generator)
        batch = torch.stack([data[s:s + 32] for s in starts])
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


def perturb(model):
    """transformers initialises biases to 0 and norms to 1; random values check that kiln reads
    every tensor from the right place."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(0.1 * torch.randn_like(p))


def smallest_greedy_margin(scores):
    return min((torch.topk(s[0], 2).values[0] - torch.topk(s[0], 2).values[1]).item()
               for s in scores)


def write_fixture(out, name, seed):
    cls, config, dtype, shards = VARIANTS[name]
    torch.manual_seed(seed)
    model = cls(config).eval()
    perturb(model)
    train_briefly(model, seed)
    # The reference computes in f32 from the weights as they are stored. Only the parameters
    # are rounded: model.to(dtype) would round the rotary inv_freq buffer too, which is not
    # stored and which transformers recomputes in f32 when it loads the file.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
    ids = torch.tensor([IDS])
    with torch.no_grad():
        result = model(ids, labels=ids)
        generated = model.generate(torch.tensor([PROMPT]), do_sample=False,
                                   max_new_tokens=MAX_NEW_TOKENS, output_scores=True,
                                   return_dict_in_generate=True)
    new_ids = generated.sequences[0, len(PROMPT):].tolist()
    margin = smallest_greedy_margin(generated.scores)
    # kiln computes in f32 too, but in another order: a near tie could flip the argmax.
    assert margin > 1e-3, f"{name}: greedy decode has a near tie ({margin}); change the seed"
    assert len(set(new_ids)) > 3, f"{name}: greedy decode repeats itself: {new_ids}"

    directory = out / name
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("model*.safetensors*"):
        old.unlink()
    stored = model.to(dtype)
    total = sum(p.numel() * p.element_size() for p in stored.parameters())
    shard_size = total // shards + 4096 if shards > 1 else "5GB"
    stored.save_pretrained(directory, safe_serialization=True, max_shard_size=shard_size)
    assert len(list(directory.glob("model*.safetensors"))) == shards, name
    (directory / "generation_config.json").unlink(missing_ok=True)
    expected = {
        "ids": IDS,
        "logits": [[round(v, 7) for v in row] for row in result.logits[0].tolist()],
        "loss": result.loss.item(),
        "generation": {"prompt_ids": PROMPT, "ids": new_ids, "min_logit_margin": margin},
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }
    (directory / "expected.json").write_text(json.dumps(expected) + "\n", encoding="utf-8")
    size = sum(f.stat().st_size for f in directory.iterdir())
    assert size < MAX_BYTES, f"{name} is {size} bytes, over {MAX_BYTES}"
    print(f"wrote {directory} ({size} bytes): loss {result.loss.item():.6f}, greedy {new_ids}")


def check(directory, ids_json, loss):
    model = AutoModelForCausalLM.from_pretrained(directory, torch_dtype=torch.float32).eval()
    ids = torch.tensor([json.loads(ids_json)])
    with torch.no_grad():
        got = model(ids, labels=ids).loss.item()
    ok = math.isclose(got, float(loss), rel_tol=1e-5)
    print(f"transformers loss {got:.8f}, kiln {float(loss):.8f}: {'same' if ok else 'DIFFERENT'}")
    sys.exit(0 if ok else 1)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--check":
        check(*sys.argv[2:5])
        return
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/models/fixtures"
    for seed, name in enumerate(VARIANTS, start=11):
        write_fixture(out, name, seed)


if __name__ == "__main__":
    main()

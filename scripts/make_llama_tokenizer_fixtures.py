#!/usr/bin/env python3
"""Writes the Llama-family tokenizer fixtures of tests/text/fixtures/llama with Hugging Face's
`tokenizers` library (pip install tokenizers; no torch needed).

kiln's tokenizer.json pipeline (text/hf_tokenizer.cpp) is checked against what the library
computes. No real model's files are copied: the script trains small tokenizers of each style on
a corpus written here, then edits their tokenizer.json the way the real files are written.

Written under tests/text/fixtures/llama/ (commit them; all small):
  llama3/     byte-level BPE, pre_tokenizer Sequence[Split(Llama 3 regex, Isolated),
              ByteLevel(use_regex false)], ignore_merges, special and added tokens (lstrip,
              rstrip, single_word, normalized), TemplateProcessing adding <|begin_of_text|>
  qwen2/      the same model with Qwen2's pipeline: normalizer NFC, Split(Qwen2's regex, one
              digit a word), ByteLevel; <|im_start|> <|im_end|>, no BOS
  smollm/     the same model with SmolLM's pre_tokenizer Sequence[Digits(individual),
              ByteLevel(use_regex true)], no template
  llama2/     SentencePiece-style BPE: normalizer Sequence[Prepend("▁"), Replace(" ", "▁")],
              byte_fallback with the 256 <0xNN> tokens, <unk> <s> </s>, fuse_unk, decoder
              Replace + ByteFallback + Fuse + Strip, TemplateProcessing adding <s>,
              tokenizer_config.json with add_bos_token
  metaspace/  the Llama 2 model with a Metaspace pre_tokenizer (prepend_scheme first) and a
              Metaspace decoder, as newer conversions write it; merges as "a b" strings
  each with vectors.json: texts, their ids without and with the post-processor's special
  tokens, and the library's decode of the ids.

Run from anywhere: python3 scripts/make_llama_tokenizer_fixtures.py (deterministic output).
"""
import json
import pathlib
import random

import tokenizers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "text" / "fixtures" / "llama"

QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def corpus():
    lines = [
        "The quick brown fox jumps over the lazy dog. The dog doesn't mind; it's asleep.",
        "I'm sure we'll see they've gone, and you'd agree: THEY'RE GONE. DON'T worry!",
        "Café, naïve, résumé, façade, jalapeño, Ångström, Straße, œuvre, déjà vu.",
        "Съешь же ещё этих мягких французских булок, да выпей чаю. Привет, мир!",
        "我们在学习分词。今天天气很好，我们去公园散步吧。中文没有空格。",
        "日本語の文章も少し入れます。カタカナとひらがな。",
        "مرحبا بالعالم. هذه جملة عربية قصيرة للتجربة.",
        "Numbers: 1, 22, 333, 4444, 55555, 2024-05-20, 3.14159, 1,000,000 and ١٢٣.",
        "Emoji: 😀 😂 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ and more 🎉🎉🎉.",
        "def tokenize(text):\n    return [t for t in text.split() if t]\n",
        "\tTabs\tand  double  spaces   and\r\nWindows line ends\n\n\nand blank lines.",
        "Hello world, hello World, HELLO WORLD, hello, world.",
        "She said: \"it's fine\" — and left… (really?) [yes] {no} <maybe> #tag @user $5 100%",
    ]
    text = "\n".join(lines) + "\n"
    return [text] * 3 + lines


def test_texts():
    texts = [
        "",
        "Hello world",
        "Hello, world!",
        " leading space",
        "trailing space ",
        "   three leading spaces",
        "a  b   c    d",
        "tabs\tand\t\ttabs",
        "line\nbreaks\n\nand\r\nCRLF\r\n",
        "\n\n\n",
        "   \n  \t ",
        "12345678",
        "1 22 333 4444 55555 666666",
        "3.14159 and 2,718",
        "DON'T",
        "I'm",
        "I'M HERE, you're there, WE'LL see, they'VE, she'D, it'S",
        "don't can't won't shouldn't've",
        "Café naïve résumé Ångström Straße",
        "Съешь же ещё этих мягких французских булок",
        "我们在学习分词。",
        "日本語とカタカナ",
        "مرحبا بالعالم",
        "😀😂👍🏽",
        "family: 👨‍👩‍👧‍👦 flag: 🇫🇷 heart: ❤️",
        "mixed: Hello Привет 你好 مرحبا 😀 123",
        "unseen characters: ꙮ ᚠᛇᚻ ☃ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "\u00a0non-breaking\u3000ideographic\u2003em space",
        "combining: e\u0301 a\u0308 n\u0303",
        "decomposed: A\u030angstro\u0308m \u1112\u1161\u11ab ohm \u2126 kelvin \u212a \ufb01",
        "spaces: a\u180eb c\u0085d e\u2028f g\u2029h \u205f \u1680",
        "zero width: a\u200bb\u200dc",
        "control: \u0001\u0002\u007f",
        "<maybe> #tag @user $5 100%",
        "supercalifragilisticexpialidocious" * 3,
        "hello kilnish world",
        " kilnish",
        "antidisestablishmentarianism",
        "x" * 300,
        " " * 40,
        "def f(x):\n    return x * 2\n",
    ]
    rng = random.Random(20241204)
    picks = [" ", " ", "\n", "\t", "'", "s", "e", "T", ".", "1", "é", "中", "😀", "\u0301",
             "\u00a0", "\u3000", "\u200d", "ы", "ع", "▁"]
    for _ in range(20):
        chars = []
        for _ in range(rng.randint(1, 40)):
            kind = rng.randrange(4)
            if kind == 0:
                chars.append(rng.choice(picks))
            elif kind == 1:
                chars.append(chr(rng.randint(0x20, 0x7E)))
            elif kind == 2:
                chars.append(chr(rng.randint(0xA0, 0x7FF)))
            else:
                chars.append(chr(rng.randint(0x4E00, 0x4FFF)))
        texts.append("".join(chars))
    return texts


def special_texts(specials):
    """Texts with the special and added tokens inside them."""
    a, b = specials[0], specials[1]
    return [
        f"{a}Hello world{b}",
        f"Hello{a}world",
        f"Hello {a} world",
        f"{b}{b}{a}",
        f"x{a}",
    ]


def write_json(path, value, compact=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (json.dumps(value, ensure_ascii=False, separators=(",", ":")) if compact else
            json.dumps(value, ensure_ascii=False, indent=1))
    path.write_text(text + "\n", encoding="utf-8")


def write_vectors(directory, tokenizer, texts):
    cases = []
    for text in texts:
        plain = tokenizer.encode(text, add_special_tokens=False).ids
        full = tokenizer.encode(text, add_special_tokens=True).ids
        cases.append({"text": text, "ids": plain, "ids_with_special_tokens": full,
                      "decoded": tokenizer.decode(plain, skip_special_tokens=False)})
    write_json(directory / "vectors.json",
               {"tokenizers_version": tokenizers.__version__, "cases": cases}, compact=True)


def save_tokenizer(directory, root):
    """Writes root as tokenizer.json and returns the library's tokenizer read from that file."""
    write_json(directory / "tokenizer.json", root, compact=True)
    return Tokenizer.from_file(str(directory / "tokenizer.json"))


def append_vocab(root, tokens):
    """Adds vocabulary entries no merge produces (ignore_merges emits them whole)."""
    vocab = root["model"]["vocab"]
    for token in tokens:
        vocab[token] = len(vocab)


def byte_level_model():
    tokenizer = Tokenizer(models.BPE(ignore_merges=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True,
                                           use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=700, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus(), trainer=trainer)
    root = json.loads(tokenizer.to_str())
    # "Ġkilnish" is in the vocabulary but no merge makes it: only ignore_merges finds it.
    append_vocab(root, ["Ġkilnish", "antidis"])
    root["model"]["ignore_merges"] = True
    return root


def add_llama3_tokens(tokenizer):
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>",
                "<|end_header_id|>"]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    tokenizer.add_tokens([
        AddedToken("<mask>", special=True, lstrip=True, rstrip=False, normalized=False),
        AddedToken("[sep]", special=False, lstrip=False, rstrip=True, normalized=False),
        AddedToken("kiln", special=False, single_word=True, normalized=True),
    ])
    return specials


def make_llama3(model_root):
    directory = OUT / "llama3"
    tokenizer = save_tokenizer(directory, model_root)
    specials = add_llama3_tokens(tokenizer)
    root = json.loads(tokenizer.to_str())
    bos = specials[0]
    bos_id = tokenizer.token_to_id(bos)
    root["post_processor"] = {
        "type": "Sequence",
        "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
             "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bos, "type_id": 0}},
                      {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": bos, "type_id": 1}},
                      {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}},
        ],
    }
    tokenizer = save_tokenizer(directory, root)
    write_json(directory / "tokenizer_config.json", {
        "bos_token": bos, "eos_token": "<|eot_id|>", "clean_up_tokenization_spaces": True,
        "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"})
    texts = test_texts() + special_texts([bos, "<|eot_id|>"]) + [
        "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
        "fill   <mask> here", "<mask>start", "a[sep]   b", "[sep]",
        "kiln fires", "a kiln.", "kilns", "akiln", "kiln_x", "the kiln",
    ]
    write_vectors(directory, tokenizer, texts)


def make_smollm(model_root):
    directory = OUT / "smollm"
    root = json.loads(json.dumps(model_root))
    root["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": True},
        ],
    }
    root["model"]["ignore_merges"] = False
    tokenizer = save_tokenizer(directory, root)
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False)
                                  for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]])
    tokenizer = save_tokenizer(directory, json.loads(tokenizer.to_str()))
    write_json(directory / "tokenizer_config.json",
               {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
                "tokenizer_class": "GPT2Tokenizer"})
    write_vectors(directory, tokenizer,
                  test_texts() + special_texts(["<|im_start|>", "<|im_end|>"]))


def make_qwen2(model_root):
    directory = OUT / "qwen2"
    root = json.loads(json.dumps(model_root))
    root["normalizer"] = {"type": "NFC"}
    root["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
             "use_regex": False},
        ],
    }
    root["post_processor"] = {"type": "ByteLevel", "add_prefix_space": False,
                              "trim_offsets": False, "use_regex": False}
    root["model"]["ignore_merges"] = False
    tokenizer = save_tokenizer(directory, root)
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False)
                                  for s in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]])
    tokenizer = save_tokenizer(directory, json.loads(tokenizer.to_str()))
    write_json(directory / "tokenizer_config.json",
               {"bos_token": None, "eos_token": "<|endoftext|>",
                "tokenizer_class": "Qwen2Tokenizer"})
    write_vectors(directory, tokenizer, test_texts() + special_texts(
        ["<|im_start|>", "<|im_end|>"]) + ["<|im_start|>user\nCafe\u0301?<|im_end|>\n"])


def sentencepiece_model():
    bytes_tokens = [f"<0x{b:02X}>" for b in range(256)]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                       split=True)
    # Trained without the lines of CJK, Arabic and emoji, so those characters fall back to
    # bytes. (limit_alphabet would do it too, but breaks frequency ties differently per run.)
    lines = [line for text in corpus()[:1] for line in text.splitlines()
             if all(ord(c) < 0x600 for c in line)]
    trainer = trainers.BpeTrainer(vocab_size=259 + 420, min_frequency=2, show_progress=False,
                                  special_tokens=["<unk>", "<s>", "</s>"] + bytes_tokens)
    tokenizer.train_from_iterator(lines * 3, trainer=trainer)
    root = json.loads(tokenizer.to_str())
    # As in Llama 2's file, the byte tokens are model vocabulary, not added tokens.
    root["added_tokens"] = [t for t in root["added_tokens"] if t["content"] not in bytes_tokens]
    for token in root["added_tokens"]:
        token["normalized"] = False
    root["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                   {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}},
                 {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}},
    }
    return root


def llama2_config():
    def token(content):
        return {"__type": "AddedToken", "content": content, "lstrip": False,
                "normalized": False, "rstrip": False, "single_word": False}
    return {"add_bos_token": True, "add_eos_token": False, "bos_token": token("<s>"),
            "eos_token": token("</s>"), "unk_token": token("<unk>"), "legacy": True,
            "tokenizer_class": "LlamaTokenizer"}


def sentencepiece_texts():
    return test_texts() + special_texts(["<s>", "</s>"]) + [
        "<unk>", "literal <0x41> is text", "▁already▁marked", "[INST] hi [/INST]", "kiln",
        "a kiln fires", "kilns", "[INST]kiln"]


def make_llama2(model_root):
    directory = OUT / "llama2"
    root = json.loads(json.dumps(model_root))
    root["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"},
    ]}
    root["pre_tokenizer"] = None
    root["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0},
    ]}
    tokenizer = save_tokenizer(directory, root)
    # "kiln" is matched after normalizing, so as "▁kiln" (what the normalizer makes of it).
    tokenizer.add_tokens([AddedToken("[INST]", special=False, normalized=False),
                          AddedToken("[/INST]", special=False, normalized=False),
                          AddedToken("kiln", special=False, normalized=True)])
    tokenizer = save_tokenizer(directory, json.loads(tokenizer.to_str()))
    write_json(directory / "tokenizer_config.json", llama2_config())
    write_vectors(directory, tokenizer, sentencepiece_texts())


def make_metaspace(model_root):
    directory = OUT / "metaspace"
    root = json.loads(json.dumps(model_root))
    root["normalizer"] = None
    root["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                             "split": False}
    root["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]}
    root["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m
                               for m in root["model"]["merges"]]
    tokenizer = save_tokenizer(directory, root)
    write_json(directory / "tokenizer_config.json",
               {"bos_token": "<s>", "eos_token": "</s>", "tokenizer_class": "LlamaTokenizer"})
    write_vectors(directory, tokenizer, sentencepiece_texts())


def main():
    byte_level = byte_level_model()
    make_llama3(byte_level)
    make_smollm(byte_level)
    make_qwen2(byte_level)
    sentencepiece = sentencepiece_model()
    make_llama2(sentencepiece)
    make_metaspace(sentencepiece)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total / 1024:.0f} KiB) with tokenizers {tokenizers.__version__}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the tokenizer fixtures of tests/text/fixtures from an independent Python implementation.

kiln's C++ byte-level BPE (text/byte_level_bpe.cpp) and BPE trainer (text/bpe_trainer.cpp) are
checked against what this script computes. It shares no code with them: it follows OpenAI's
GPT-2 encoder.py (the `regex` module with GPT-2's pattern, bytes_to_unicode, the min-rank merge
loop) and trains with the plainest possible loop (recount every pair after every merge).

Written files (commit them; all small):
  train_corpus.txt            the built-in multilingual corpus the trainer learns from
  small_bpe/vocab.json        the tokenizer this script trains on it (Hugging Face layout)
  small_bpe/merges.txt
  small_tokenizer/tokenizer.json  the same model as a Hugging Face tokenizer.json, plus an added
                              special token beyond the model vocabulary ("<|pad|>")
  bpe_vectors.json            test strings and their ids under small_bpe and small_tokenizer
  gpt2_vectors.json           the same strings under the real GPT-2 vocabulary, written only when
                              ../shared/data/gpt2-tokenizer exists (the C++ test skips without it)

Run from anywhere: python3 scripts/make_tokenizer_fixtures.py
"""
import json
import pathlib
import random

import regex

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "text" / "fixtures"
GPT2_DIR = ROOT.parent / "shared" / "data" / "gpt2-tokenizer"

# GPT-2's pre-tokenisation pattern, verbatim from OpenAI's encoder.py.
PATTERN = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

EOT = "<|endoftext|>"
PAD = "<|pad|>"

# Trainer settings the C++ test repeats (tests/text/bpe_trainer_test.cpp).
TRAIN_VOCAB_SIZE = 600
TRAIN_MIN_FREQUENCY = 2


def bytes_to_unicode():
    """OpenAI's table: printable Latin-1 bytes map to themselves, the rest to U+0100 onwards."""
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) +
          list(range(ord("®"), ord("ÿ") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs))), bs


BYTE_ENCODER, BYTE_ORDER = bytes_to_unicode()
BYTE_DECODER = {v: k for k, v in BYTE_ENCODER.items()}


def split_specials(text, specials):
    """Pieces of text and the special tokens in it (leftmost, then longest match)."""
    if not specials:
        return [(text, False)]
    alternation = "|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True))
    pieces = []
    for i, piece in enumerate(regex.split("(" + alternation + ")", text)):
        if piece:
            pieces.append((piece, i % 2 == 1))
    return pieces


def words_of(text):
    """Pre-tokenised words of ordinary text, each as a string of byte symbols."""
    return ["".join(BYTE_ENCODER[b] for b in w.encode("utf-8")) for w in PATTERN.findall(text)]


class Encoder:
    """GPT-2's encoder.py, plus special tokens split out before pre-tokenisation."""

    def __init__(self, vocab, merges, specials):
        self.vocab = vocab
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.specials = specials
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
        self.cache[token] = word
        return word

    def encode(self, text):
        ids = []
        for piece, special in split_specials(text, self.specials):
            if special:
                ids.append(self.vocab[piece])
                continue
            for word in words_of(piece):
                ids.extend(self.vocab[t] for t in self.bpe(word))
        return ids

    def decode(self, ids):
        inverse = {i: t for t, i in self.vocab.items()}
        out = bytearray()
        for i in ids:
            t = inverse[i]
            if t in self.specials:
                out += t.encode("utf-8")
            else:
                out += bytes(BYTE_DECODER[c] for c in t)
        return out.decode("utf-8")


def train(corpus, vocab_size, specials, min_frequency):
    """Byte-level BPE training, naively: recount all pairs after each merge.

    Start from the 256 byte symbols (ids in bytes_to_unicode order), merge the most frequent
    adjacent pair, ties going to the lexicographically smallest (left, right) pair of symbol
    strings; stop at vocab_size (counting the special tokens, which come last) or when the best
    pair occurs fewer than min_frequency times. A merge whose result is already a token adds
    no new id.
    """
    counts = {}
    for piece, special in split_specials(corpus, specials):
        if not special:
            for w in words_of(piece):
                counts[w] = counts.get(w, 0) + 1
    words = [[tuple(w), c] for w, c in counts.items()]
    vocab = {BYTE_ENCODER[b]: i for i, b in enumerate(BYTE_ORDER)}
    merges = []
    while len(vocab) < vocab_size - len(specials):
        pair_counts = {}
        for symbols, c in words:
            for p in zip(symbols, symbols[1:]):
                pair_counts[p] = pair_counts.get(p, 0) + c
        if not pair_counts:
            break
        best, best_count = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if best_count < min_frequency:
            break
        merged = best[0] + best[1]
        merges.append(best)
        if merged not in vocab:
            vocab[merged] = len(vocab)
        for entry in words:
            symbols = entry[0]
            out = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(merged)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            entry[0] = tuple(out)
    for s in specials:
        assert s not in vocab, f"special token {s!r} is also a learned token"
        vocab[s] = len(vocab)
    return vocab, merges


def corpus_text():
    documents = [
        "The quick brown fox jumps over the lazy dog. The dog didn't move; it's a very lazy dog, "
        "and they're all asleep. We'll see if you've noticed: I'm sure he'd say the same.\n"
        "In 2024 the train left at 10:45 and arrived 3 hours later, 12 minutes early.\n\n"
        "    Indented lines, tabs\tand  double  spaces   matter   to a tokenizer.\n",
        "Le renard brun et rapide saute par-dessus le chien paresseux. À l'école, les élèves "
        "étudient le français : « Où est la bibliothèque ? » demande Hélène. Ça dépend ! "
        "L'été dernier, nous sommes allés à la mer ; c'était très agréable, même sous la pluie.\n"
        "Les élèves répètent : été, été, été. Déjà vu, déjà fait, déjà dit.\n",
        "Der schnelle braune Fuchs springt über den faulen Hund. Grüße aus München, schöne "
        "Straße! El niño comió piñata en la mañana. Ελληνικά γράμματα. Русский язык, привет.\n",
        "我们今天学习自然语言处理。中文没有空格，所以分词很重要。日本語の文章も少しあります。"
        "東京は大きい都市です。한국어 문장도 있습니다.\n",
        "Emoji: 😀😀 🚀 rockets, 👍🏽 thumbs, 🇫🇷 flags, ❤️ hearts. 😀 again and 🚀 again.\n",
        "def tokenize(text):\n    return [t for t in text.split() if t]\n\n"
        "for i in range(10):\n    print(i * 2, i ** 2)  # squares\n",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
        "abababababababababababababab 1111111111111111 1234567890 0000 ....... !!!!\n",
        "Tokenizers learn merges from frequent pairs: the the the the, and and and, of of of. "
        "Learning, learned, learner, learners, relearn. Token, tokens, tokenizer, tokenizers.\n",
        "A language model predicts the next token from the tokens before it. Training a model "
        "means showing it text, measuring how surprised it is, and nudging its weights so that "
        "it is less surprised next time. The tokenizer decides what a token is: a character, a "
        "byte, a word, or something in between. Byte pair encoding starts from bytes and merges "
        "the most frequent neighbours until the vocabulary is large enough. Frequent words end "
        "up as single tokens; rare words are spelled out in pieces.\n",
        "Un modèle de langue prédit le prochain jeton à partir des jetons précédents. "
        "L'entraînement consiste à lui montrer du texte, à mesurer sa surprise, puis à ajuster "
        "ses poids pour qu'il soit moins surpris la prochaine fois. Les mots fréquents "
        "deviennent des jetons uniques ; les mots rares sont découpés en morceaux. Ève a étudié "
        "l'été, Noël approche, où êtes-vous ? Hélène préfère le thé à la crème.\n",
        "Der Tokenizer entscheidet, was ein Token ist. Häufige Wörter werden zu einzelnen "
        "Tokens, seltene Wörter werden in Stücke zerlegt. Große Modelle brauchen viele Daten.\n",
        "语言模型根据前面的词预测下一个词。分词器决定什么是一个词。常见的词变成一个单位，"
        "少见的词被拆成几个部分。言語モデルは次のトークンを予測します。\n",
    ]
    return EOT.join(documents)


def test_strings():
    fixed = [
        "",
        "Hello, my dog is cute",
        "hello world",
        "Hello world",
        " hello world ",
        "The quick brown fox jumps over the lazy dog.",
        "I'm sure they're right; it's what we'd do, we'll see, you've been, I've, don't.",
        "IT'S LOUD AND THEY'RE LOUD TOO",
        "Élève, été, à bientôt ! « Guillemets » et l'apostrophe ; ça marche ?",
        "naïve café crème brûlée — coöperate",
        "中文分词很重要。日本語のテキスト。한국어",
        "emoji 😀 🚀🚀 👍🏽 🇫🇷 ❤️ 👨‍👩‍👧",
        "   leading spaces",
        "trailing spaces   ",
        "many     inner      spaces",
        "line one\nline two\n\nline four\n\n\n",
        "\ttabs\tand\r\nwindows\r\nline endings",
        "\u00a0non-breaking\u00a0spaces\u2003em space\u3000ideographic space",
        "digits 0 1 12 123 1234 12345 3.14159 1,000,000 ١٢٣ ４５６",
        "mixed123abc 456def",
        "<|endoftext|>",
        "text<|endoftext|>more text",
        "before <|endoftext|> after",
        "<|endoftext|><|endoftext|>",
        "\n\n<|endoftext|>\n\n",
        "almost special <|endoftext| and <|endoftext",
        "a" * 300 + "é" * 60,
        "ab" * 150,
        "x" + " " * 200 + "y",
        "\u0000nul and \u0001 control \u007f chars",
        "combining: e\u0301 a\u0308 n\u0303",
        "Ελληνικά και Русский текст",
        "العربية نص",
        "हिन्दी पाठ",
        "punctuation!!! ??? ... --- (((brackets))) {braces} [squares]",
        "'s 's's ''s 'll've 'd'm",
    ]
    rng = random.Random(20240520)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " ",
        "   \t\n\r\u000b\u000c\u0085\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000",
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
        "àâäçéèêëîïôöùûüÿœæÀÉÈÇÑñßøå",
        "αβγδεζηθλμπσωΑΒΓΔ",
        "абвгдежзийклмнопрстуфхцчшщъыьэюя",
        "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
        "あいうえおかきくけこアイウエオ",
        "😀😁😂🤔🚀👍❤🎉",
        "\u0301\u0308\u0303\u200d\ufe0f",
        "٠١٢٣٤٥٦٧٨٩０１２３",
        "<|endoftext|>",
    ]
    randomized = []
    for _ in range(30):
        parts = []
        for _ in range(rng.randint(1, 40)):
            pool = rng.choice(pools)
            parts.append(pool if pool == EOT else rng.choice(pool))
        randomized.append("".join(parts))
    return fixed + randomized


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def dump_vectors(vectors):
    """JSON with one test vector per line, so the fixtures stay small and diffable."""
    lines = ["{"]
    keys = list(vectors)
    for k, key in enumerate(keys):
        value = vectors[key]
        comma = "," if k + 1 < len(keys) else ""
        if isinstance(value, str):
            lines.append(f" {json.dumps(key)}: {json.dumps(value)}{comma}")
            continue
        lines.append(f" {json.dumps(key)}: [")
        for i, entry in enumerate(value):
            entry_comma = "," if i + 1 < len(value) else ""
            lines.append("  " + json.dumps(entry, ensure_ascii=False) + entry_comma)
        lines.append(" ]" + comma)
    lines.append("}")
    return "\n".join(lines) + "\n"


def read_gpt2():
    vocab = json.loads((GPT2_DIR / "encoder.json").read_text(encoding="utf-8"))
    lines = (GPT2_DIR / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:]
    merges = [tuple(line.split()) for line in lines if line]
    return vocab, merges


def main():
    corpus = corpus_text()
    write(FIXTURES / "train_corpus.txt", corpus)
    vocab, merges = train(corpus, TRAIN_VOCAB_SIZE, [EOT], TRAIN_MIN_FREQUENCY)
    write(FIXTURES / "small_bpe" / "vocab.json",
          json.dumps(vocab, ensure_ascii=False) + "\n")
    write(FIXTURES / "small_bpe" / "merges.txt",
          "#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))

    pad_id = len(vocab)
    tokenizer_json = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}
                         for s, i in [(EOT, vocab[EOT]), (PAD, pad_id)]],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": "", "end_of_word_suffix": "", "fuse_unk": False,
                  "byte_fallback": False, "vocab": vocab, "merges": [list(m) for m in merges]},
    }
    write(FIXTURES / "small_tokenizer" / "tokenizer.json",
          json.dumps(tokenizer_json, ensure_ascii=False, indent=1) + "\n")

    strings = test_strings()
    small = Encoder(vocab, merges, [EOT])
    with_pad = Encoder(dict(vocab, **{PAD: pad_id}), merges, [EOT, PAD])
    pad_strings = strings + [PAD, "a<|pad|>b<|endoftext|>c", "<|pad|><|pad|> <|pad|>"]
    vectors = {
        "generated_by": "scripts/make_tokenizer_fixtures.py",
        "small_bpe": [{"text": s, "ids": small.encode(s)} for s in strings],
        "small_tokenizer": [{"text": s, "ids": with_pad.encode(s)} for s in pad_strings],
    }
    for key, encoder in [("small_bpe", small), ("small_tokenizer", with_pad)]:
        for entry in vectors[key]:
            assert encoder.decode(entry["ids"]) == entry["text"], entry["text"]
    write(FIXTURES / "bpe_vectors.json", dump_vectors(vectors))

    if GPT2_DIR.is_dir():
        gpt2_vocab, gpt2_merges = read_gpt2()
        gpt2 = Encoder(gpt2_vocab, gpt2_merges, [EOT])
        assert gpt2.encode("Hello, my dog is cute") == [15496, 11, 616, 3290, 318, 13779]
        assert gpt2.encode("hello world") == [31373, 995]
        write(FIXTURES / "gpt2_vectors.json",
              dump_vectors({"generated_by": "scripts/make_tokenizer_fixtures.py",
                            "gpt2": [{"text": s, "ids": gpt2.encode(s)} for s in strings]}))
    print(f"wrote fixtures to {FIXTURES}: {len(vocab)} tokens, {len(merges)} merges, "
          f"{len(strings)} test strings")


if __name__ == "__main__":
    main()

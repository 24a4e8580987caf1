// GPT-2 tokenizer encode throughput (MB/s of UTF-8 input) on tinyshakespeare and on a generated
// multilingual text. "cold" rows encode with a freshly loaded tokenizer, so every distinct word
// goes through the BPE merge loop once; "warm" rows encode with a tokenizer that has seen the
// text, so words come from its cache, as when a long corpus repeats its vocabulary.
// bench/baselines/tokenizer_reference.py times Python's reference implementations on the same
// tinyshakespeare file. Encoding runs on one thread, so rates are per CPU second (Google
// Benchmark's default), which a busy machine disturbs less than wall time. See
// docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "text/byte_level_bpe.h"

namespace {
namespace fs = std::filesystem;

const fs::path kSharedData = KILN_SHARED_DATA;
const fs::path kGpt2Dir = kSharedData / "gpt2-tokenizer";
const fs::path kShakespeare = kSharedData / "tinyshakespeare" / "input.txt";
constexpr size_t kMultilingualBytes = size_t{1} << 20;

kiln::ByteLevelBpe load_gpt2() {
  return kiln::ByteLevelBpe::load(kGpt2Dir / "encoder.json", kGpt2Dir / "vocab.bpe");
}

// About `bytes` of text in several scripts: random words from per-language alphabets (Latin with
// accents, Cyrillic, Greek, CJK, Japanese kana, emoji, digits) with spaces, punctuation and
// newlines. Mostly distinct words, so the cache helps less than on natural text.
std::string multilingual_text(size_t bytes) {
  static const char* const kAlphabets[] = {
      "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
      "abcdefghijklmnopqrstuvwxyzéèêàâçôûüëïœ",
      "абвгдежзийклмнопрстуфхцчшщъыьэюя",
      "αβγδεζηθικλμνξοπρστυφχψω",
      "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年",
      "あいうえおかきくけこさしすせそアイウエオカキクケコ",
      "😀😁😂🤔🚀👍🎉🔥",
      "0123456789",
  };
  uint64_t state = 20240520;
  auto next = [&state](uint64_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return (state >> 33) % n;
  };
  // The alphabets as lists of UTF-8 characters.
  std::vector<std::vector<std::string>> alphabets;
  for (const char* a : kAlphabets) {
    auto& chars = alphabets.emplace_back();
    for (const char* p = a; *p != '\0';) {
      const auto lead = static_cast<unsigned char>(*p);
      const size_t len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      chars.emplace_back(p, len);
      p += len;
    }
  }
  static const char* const kSeparators[] = {" ", " ", " ", " ", ", ", ". ", "\n", "  ", "! "};
  std::string text;
  while (text.size() < bytes) {
    const auto& chars = alphabets[next(std::size(kAlphabets))];
    const uint64_t length = 1 + next(8);
    for (uint64_t i = 0; i < length; ++i) text += chars[next(chars.size())];
    text += kSeparators[next(std::size(kSeparators))];
  }
  return text;
}

void encode_bench(benchmark::State& state, const std::string& text, bool warm) {
  if (!fs::exists(kGpt2Dir / "encoder.json")) {
    state.SkipWithError(("no GPT-2 tokenizer at " + kGpt2Dir.string()).c_str());
    return;
  }
  auto tokenizer = std::make_unique<kiln::ByteLevelBpe>(load_gpt2());
  if (warm) benchmark::DoNotOptimize(tokenizer->encode(text));
  size_t tokens = 0;
  for (auto _ : state) {
    if (!warm) {
      state.PauseTiming();
      tokenizer = std::make_unique<kiln::ByteLevelBpe>(load_gpt2());
      state.ResumeTiming();
    }
    const std::vector<int64_t> ids = tokenizer->encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["bytes_per_token"] =
      static_cast<double>(text.size()) / static_cast<double>(std::max<size_t>(tokens, 1));
}

void gpt2_encode_tinyshakespeare(benchmark::State& state, bool warm) {
  if (!fs::exists(kShakespeare)) {
    state.SkipWithError(("no corpus at " + kShakespeare.string()).c_str());
    return;
  }
  encode_bench(state, kiln::read_text_file(kShakespeare, "bench"), warm);
}

void gpt2_encode_multilingual(benchmark::State& state, bool warm) {
  encode_bench(state, multilingual_text(kMultilingualBytes), warm);
}

}  // namespace

BENCHMARK_CAPTURE(gpt2_encode_tinyshakespeare, cold, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gpt2_encode_tinyshakespeare, warm, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gpt2_encode_multilingual, cold, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(gpt2_encode_multilingual, warm, true)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

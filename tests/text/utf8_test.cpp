// The pieces under the tokenizers: UTF-8 validation, GPT-2's byte alphabet, the pre-tokeniser
// and the special-token splitter.
#include "text/utf8.h"

#include <gtest/gtest.h>

#include "text/byte_alphabet.h"
#include "text/pretokenizer.h"
#include "text/special_tokens.h"

namespace kiln {
namespace {

TEST(Utf8, FindsTheFirstInvalidByte) {
  EXPECT_EQ(utf8::find_invalid(""), std::nullopt);
  EXPECT_EQ(utf8::find_invalid("plain ASCII text, long enough for the fast path"), std::nullopt);
  EXPECT_EQ(utf8::find_invalid("é中😀\u07FF\uFFFF\U0010FFFF"), std::nullopt);
  EXPECT_EQ(utf8::find_invalid("0123456789\xFF"), 10u);
  EXPECT_EQ(utf8::find_invalid("\xC1\xBF"), 0u);            // overlong
  EXPECT_EQ(utf8::find_invalid("\xE0\x9F\xBF"), 0u);        // overlong
  EXPECT_EQ(utf8::find_invalid("\xF0\x8F\xBF\xBF"), 0u);    // overlong
  EXPECT_EQ(utf8::find_invalid("a\xED\xBF\xBF"), 1u);       // surrogate
  EXPECT_EQ(utf8::find_invalid("ab\xF4\x90\x80\x80"), 2u);  // above U+10FFFF
  EXPECT_EQ(utf8::find_invalid("\xF5\x80\x80\x80"), 0u);
  EXPECT_EQ(utf8::find_invalid("é\xC3"), 2u);  // truncated
  EXPECT_EQ(utf8::find_invalid("\xE4\xB8"), 0u);
}

TEST(Utf8, DecodesAndEncodesEveryLength) {
  for (const char32_t c : {U'\0', U'A', U'é', U'\u07FF', U'中', U'\uFFFD', U'😀', U'\U0010FFFF'}) {
    std::string s;
    utf8::append(s, c);
    size_t pos = 0;
    EXPECT_EQ(utf8::next(s, pos), c);
    EXPECT_EQ(pos, s.size());
    EXPECT_EQ(utf8::find_invalid(s), std::nullopt);
  }
  EXPECT_EQ(utf8::describe(U'é'), "'é' (U+00E9)");
  EXPECT_EQ(utf8::describe(U'\n'), "U+000A");
}

TEST(ByteAlphabet, IsGpt2sTable) {
  EXPECT_EQ(byte_alphabet::symbol(' '), "Ġ");
  EXPECT_EQ(byte_alphabet::symbol('\n'), "Ċ");
  EXPECT_EQ(byte_alphabet::symbol('a'), "a");
  EXPECT_EQ(byte_alphabet::symbol(0xE9), "é");
  EXPECT_EQ(byte_alphabet::symbol(0), "Ā");
  EXPECT_EQ(byte_alphabet::symbol(0xAD), "Ń");
  EXPECT_EQ(byte_alphabet::byte_order()[0], '!');
  EXPECT_EQ(byte_alphabet::byte_order()[188], 0);
  EXPECT_EQ(byte_alphabet::byte_order()[220], ' ');
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(byte_alphabet::decode(byte_alphabet::encode(all)), all);
  EXPECT_EQ(byte_alphabet::decode("中"), std::nullopt);
  EXPECT_EQ(byte_alphabet::byte_of(U'Ġ'), ' ');
  EXPECT_EQ(byte_alphabet::byte_of(U' '), -1);
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string_view> views;
  gpt2_pretokenize(text, views);
  return {views.begin(), views.end()};
}

TEST(Gpt2Pretokenize, SplitsLikeGpt2) {
  using V = std::vector<std::string>;
  EXPECT_EQ(words("Hello, my dog's cute"), (V{"Hello", ",", " my", " dog", "'s", " cute"}));
  EXPECT_EQ(words("a   b\n\nc "), (V{"a", "  ", " b", "\n", "\n", "c", " "}));
  EXPECT_EQ(words("x2024 3.14"), (V{"x", "2024", " 3", ".", "14"}));
  EXPECT_EQ(words("été à"), (V{"été", " à"}));
  EXPECT_EQ(words("I'M ok"), (V{"I", "'", "M", " ok"}));
  EXPECT_EQ(words("中文。"), (V{"中文", "。"}));
  // U+3000 and U+00A0 are White_Space; U+180E is not (PCRE2's own \s would take it).
  EXPECT_EQ(words("a\u3000\u3000b"), (V{"a", "\u3000", "\u3000", "b"}));
  EXPECT_EQ(words("a\u180Eb"), (V{"a", "\u180E", "b"}));
  EXPECT_EQ(words(""), V{});
}

TEST(SpecialTokenSplitter, LeftmostThenLongest) {
  const SpecialTokenSplitter splitter({"<a>", "<a><b>", "<b>"});
  std::vector<SpecialTokenSplitter::Piece> pieces;
  splitter.split("x<a><b>y<b><a>", pieces);
  std::vector<std::pair<std::string, int>> got;
  for (const auto& p : pieces) got.emplace_back(std::string(p.text), p.special);
  const std::vector<std::pair<std::string, int>> expected = {
      {"x", -1}, {"<a><b>", 1}, {"y", -1}, {"<b>", 2}, {"<a>", 0}};
  EXPECT_EQ(got, expected);
}

}  // namespace
}  // namespace kiln

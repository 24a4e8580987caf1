#include "text/added_tokens.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "text/utf8.h"

namespace kiln {

namespace {

// Rust's char::is_whitespace and regex's \s: the Unicode White_Space property.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// The Rust regex crate's \w: Alphabetic, marks, decimal digits, connector punctuation and the
// join controls. Asked of PCRE2, whose Unicode tables kiln already uses for \p{L}.
bool is_word_character(char32_t c) {
  static pcre2_code* const code = [] {
    const std::string pattern = R"([\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}])";
    int error = 0;
    PCRE2_SIZE offset = 0;
    return pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                         PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &offset, nullptr);
  }();
  std::string encoded;
  utf8::append(encoded, c);
  pcre2_match_data* match = pcre2_match_data_create_from_pattern(code, nullptr);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(encoded.data()), encoded.size(), 0,
                             0, match, nullptr);
  pcre2_match_data_free(match);
  return rc > 0;
}

// The code point that ends text[0, end) (valid UTF-8, end > 0).
char32_t last_code_point(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) --start;
  return utf8::next(text, start);
}

}  // namespace

AddedTokenSplitter::AddedTokenSplitter(std::vector<AddedToken> tokens,
                                       std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), matcher_(std::move(patterns)) {}

void AddedTokenSplitter::split(std::string_view text, std::vector<Piece>& pieces) const {
  if (text.empty()) return;
  std::vector<SpecialTokenSplitter::Piece> matches;
  matcher_.split(text, matches);
  size_t start_offset = 0;  // text before this is in pieces already
  for (const SpecialTokenSplitter::Piece& match : matches) {
    if (match.special < 0) continue;
    const AddedToken& token = tokens_[match.special];
    size_t start = static_cast<size_t>(match.text.data() - text.data());
    size_t stop = start + match.text.size();
    if (token.single_word) {
      size_t after = stop;
      const bool word_before = start > 0 && is_word_character(last_code_point(text, start));
      const bool word_after = stop < text.size() && is_word_character(utf8::next(text, after));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) {
      size_t begin = start;
      while (begin > 0) {
        size_t previous = begin - 1;
        while (previous > 0 && (static_cast<uint8_t>(text[previous]) & 0xC0) == 0x80) --previous;
        size_t at = previous;
        if (!is_white_space(utf8::next(text, at))) break;
        begin = previous;
      }
      // Whitespace an earlier token already took stays with it.
      start = std::max(begin, start_offset);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t at = stop;
        if (!is_white_space(utf8::next(text, at))) break;
        stop = at;
      }
    }
    if (start_offset < start) pieces.push_back({start_offset, start, -1});
    pieces.push_back({start, stop, match.special});
    start_offset = stop;
  }
  if (start_offset < text.size()) pieces.push_back({start_offset, text.size(), -1});
}

}  // namespace kiln

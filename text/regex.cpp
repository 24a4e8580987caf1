#include "text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cstdint>
#include <memory>

#include "core/error.h"

namespace kiln {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

std::string_view white_space_class() {
  return R"(\t\n\x0B\f\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
}

std::string spell_out_whitespace(std::string_view pattern, std::string_view op,
                                 std::string_view where) {
  const std::string ws(white_space_class());
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      if (e == 's') {
        out += in_class ? ws : "[" + ws + "]";
      } else if (e == 'S') {
        KILN_CHECK(!in_class, op, "{}: \\S inside a character class is not supported", where);
        out += "[^" + ws + "]";
      } else {
        out += c;
        out += e;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' (or '^]') right after the opening bracket is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

Regex::Regex(std::string_view pattern, std::string_view op, std::string_view where)
    : where_(where) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  if (code == nullptr) {
    fail(op, "{}: the regex does not compile (PCRE2 at offset {}: {})", where, error_offset,
         pcre2_message(error));
  }
  // Without JIT support (some architectures) the interpreter gives the same matches, slower.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

void Regex::split_isolated(std::string_view text, std::vector<std::string_view>& pieces) const {
  if (text.empty()) return;
  const auto* code = static_cast<const pcre2_code*>(code_);
  // Match data per call keeps one Regex shareable by threads.
  const std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(code, nullptr));
  if (!match) fail("regex", "out of memory for PCRE2 match data");
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
  size_t emitted = 0;  // text before this offset is in pieces already
  size_t offset = 0;
  while (offset <= text.size()) {
    // No UTF check: callers validated the text once, and checking it again from every offset
    // would make splitting quadratic.
    const int rc =
        pcre2_match(code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, match.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      fail("regex", "{}: PCRE2 match failed at byte offset {}: {}", where_, offset,
           pcre2_message(rc));
    }
    const size_t begin = ovector[0];
    const size_t end = ovector[1];
    if (begin > emitted) pieces.push_back(text.substr(emitted, begin - emitted));
    if (end > begin) {
      pieces.push_back(text.substr(begin, end - begin));
      emitted = end;
      offset = end;
      continue;
    }
    emitted = std::max(emitted, begin);
    if (begin >= text.size()) break;
    offset = begin + 1;
    while (offset < text.size() && (static_cast<uint8_t>(text[offset]) & 0xC0) == 0x80) ++offset;
  }
  if (emitted < text.size()) pieces.push_back(text.substr(emitted));
}

}  // namespace kiln

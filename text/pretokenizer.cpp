#include "text/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <string>

#include "core/error.h"

namespace kiln {

namespace {

constexpr const char* kOp = "gpt2_pretokenize";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

// The compiled pattern, shared by every thread (a pcre2_code is read-only once compiled).
class Gpt2Pattern {
 public:
  Gpt2Pattern() {
    const std::string ws =
        R"(\t\n\x0B\f\r\x20\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
    const std::string pattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^)" + ws +
                                R"(\p{L}\p{N}]+|[)" + ws + "]+(?![^" + ws + "])|[" + ws + "]+";
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                          PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED, &error, &error_offset, nullptr);
    if (code_ == nullptr) {
      fail(kOp, "PCRE2 rejected the pattern at offset {}: {}", error_offset, pcre2_message(error));
    }
    // Anchored at compile time (a match-time PCRE2_ANCHORED would bypass JIT): each word starts
    // where the previous one ended. Without JIT support (some architectures) the interpreter
    // gives the same matches, slower.
    pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE);
  }
  ~Gpt2Pattern() { pcre2_code_free(code_); }
  Gpt2Pattern(const Gpt2Pattern&) = delete;
  Gpt2Pattern& operator=(const Gpt2Pattern&) = delete;

  const pcre2_code* code() const { return code_; }

 private:
  pcre2_code* code_ = nullptr;
};

const Gpt2Pattern& gpt2_pattern() {
  static const Gpt2Pattern pattern;
  return pattern;
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

void gpt2_pretokenize(std::string_view text, std::vector<std::string_view>& words) {
  if (text.empty()) return;
  const pcre2_code* code = gpt2_pattern().code();
  const std::unique_ptr<pcre2_match_data, MatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(code, nullptr));
  if (!match) fail(kOp, "out of memory for PCRE2 match data");
  const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = 0;
  while (offset < text.size()) {
    const int rc =
        pcre2_match(code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, match.get(), nullptr);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
      fail(kOp, "PCRE2 match failed at byte offset {}: {}", offset, pcre2_message(rc));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
    // Every character matches some alternative, so matches are contiguous and never empty;
    // were that ever false, failing beats silently dropping text.
    if (rc == PCRE2_ERROR_NOMATCH || ovector[0] != offset || ovector[1] == offset) {
      fail(kOp, "no word starts at byte offset {} (a gap in the pre-tokenisation)", offset);
    }
    words.emplace_back(text.data() + offset, ovector[1] - offset);
    offset = ovector[1];
  }
}

}  // namespace kiln

#pragma once
// A PCRE2 pattern for the pre-tokenisers of tokenizer.json files (Split, Digits): UTF mode,
// Unicode properties, JIT-compiled, searched from an offset. Hugging Face's library runs these
// patterns with Oniguruma; spell_out_whitespace makes PCRE2's \s mean what Oniguruma's does.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln {

class Regex {
 public:
  // Throws kiln::Error("[op] <where>: ...") naming PCRE2's complaint and its offset.
  Regex(std::string_view pattern, std::string_view op, std::string_view where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends to `pieces` the matches in `text` (valid UTF-8, not checked again) and the text
  // between them, in order and never empty: Hugging Face's Split with behavior "Isolated". After
  // an empty match the search moves on one character, as Oniguruma's does.
  void split_isolated(std::string_view text, std::vector<std::string_view>& pieces) const;

 private:
  void* code_ = nullptr;  // pcre2_code_8, kept out of the header
  std::string where_;
};

// Rewrites \s and \S (outside character classes) and \s (inside them) as the Unicode White_Space
// set, which is Oniguruma's \s; PCRE2's own \s also takes U+180E. \S inside a class has no such
// spelling and is a kiln::Error naming `where`.
std::string spell_out_whitespace(std::string_view pattern, std::string_view op,
                                 std::string_view where);

// The Unicode White_Space characters as the inside of a PCRE2 character class.
std::string_view white_space_class();

}  // namespace kiln

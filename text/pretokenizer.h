#pragma once
// GPT-2's pre-tokenisation: the regex that cuts text into the words byte-level BPE then encodes
// one by one, run with PCRE2 (UTF mode, Unicode properties, JIT-compiled).
#include <string_view>
#include <vector>

namespace kiln {

// Appends to `words` the words of `text`, views into it, in order; together they cover the text.
// The pattern is OpenAI's
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with \s spelled out as the Unicode White_Space characters, which is what Python's `regex`
// module (GPT-2's reference) matches; PCRE2's own \s also takes U+180E. The text must be valid
// UTF-8 (callers check: the match runs without PCRE2's own check, which would make splitting
// quadratic in the text length).
void gpt2_pretokenize(std::string_view text, std::vector<std::string_view>& words);

}  // namespace kiln

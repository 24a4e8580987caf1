#pragma once
// Hugging Face's added tokens (tokenizer.json's "added_tokens"): matched in the text before
// pre-tokenisation, leftmost then longest, with the flags the library honours: single_word (only
// where no word character touches either end), lstrip / rstrip (the token swallows the
// whitespace on that side).
#include <string>
#include <string_view>
#include <vector>

#include "text/special_tokens.h"

namespace kiln {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

class AddedTokenSplitter {
 public:
  struct Piece {
    size_t begin = 0, end = 0;  // byte offsets into the split text
    int token = -1;             // index into the tokens given to the constructor, or -1
  };

  AddedTokenSplitter() = default;
  // `patterns[i]` is what token i matches in the text (its content, or its normalized form).
  AddedTokenSplitter(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  bool empty() const { return tokens_.empty(); }
  const AddedToken& token(int index) const { return tokens_[index]; }

  // The pieces of `text` (valid UTF-8) in order, ordinary runs and tokens; none is empty.
  void split(std::string_view text, std::vector<Piece>& pieces) const;

 private:
  std::vector<AddedToken> tokens_;
  SpecialTokenSplitter matcher_;
};

}  // namespace kiln

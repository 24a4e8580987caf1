#pragma once
// Special tokens (<|endoftext|>, added tokens) are matched literally and cut out of the text
// before pre-tokenisation, so they never merge with their neighbours.
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

class SpecialTokenSplitter {
 public:
  struct Piece {
    std::string_view text;  // a view into the split text
    int special = -1;       // index into tokens(), or -1 for ordinary text
  };

  SpecialTokenSplitter() = default;
  // Tokens must be non-empty and distinct.
  explicit SpecialTokenSplitter(std::vector<std::string> tokens);

  const std::vector<std::string>& tokens() const { return tokens_; }

  // Appends the pieces of `text` in order: ordinary runs (never empty) and special tokens. Where
  // two tokens match, the leftmost wins, then the longest.
  void split(std::string_view text, std::vector<Piece>& pieces) const;

 private:
  std::vector<std::string> tokens_;
  std::vector<size_t> by_length_;  // indices into tokens_, longest first
};

}  // namespace kiln

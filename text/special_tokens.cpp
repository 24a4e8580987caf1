#include "text/special_tokens.h"

#include <algorithm>
#include <numeric>

namespace kiln {

SpecialTokenSplitter::SpecialTokenSplitter(std::vector<std::string> tokens)
    : tokens_(std::move(tokens)), by_length_(tokens_.size()) {
  std::iota(by_length_.begin(), by_length_.end(), size_t{0});
  std::stable_sort(by_length_.begin(), by_length_.end(),
                   [&](size_t a, size_t b) { return tokens_[a].size() > tokens_[b].size(); });
}

void SpecialTokenSplitter::split(std::string_view text, std::vector<Piece>& pieces) const {
  if (tokens_.empty()) {
    if (!text.empty()) pieces.push_back({text, -1});
    return;
  }
  // The next occurrence of each token at or after `pos`, searched again only once passed, so a
  // token that never occurs costs one scan of the text, not one per special token found.
  std::vector<size_t> next(by_length_.size(), 0);
  std::vector<bool> searched(by_length_.size(), false);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best = std::string_view::npos;
    size_t best_k = 0;
    for (size_t k = 0; k < by_length_.size(); ++k) {
      if (!searched[k] || (next[k] != std::string_view::npos && next[k] < pos)) {
        next[k] = text.find(tokens_[by_length_[k]], pos);
        searched[k] = true;
      }
      if (next[k] < best) {
        best = next[k];
        best_k = k;
      }
    }
    if (best == std::string_view::npos) break;
    if (best > pos) pieces.push_back({text.substr(pos, best - pos), -1});
    const size_t index = by_length_[best_k];
    pieces.push_back({text.substr(best, tokens_[index].size()), static_cast<int>(index)});
    pos = best + tokens_[index].size();
  }
  if (pos < text.size()) pieces.push_back({text.substr(pos), -1});
}

}  // namespace kiln

#pragma once
// The stages of a Hugging Face tokenizer.json around its model, as the `tokenizers` library runs
// them: the normalizer (applied to each stretch of text between added tokens), the pre-tokenizer
// (cuts it into words), and the decoder (token strings -> text). Only what Llama-family files
// use is implemented; anything else is refused when the file is read, with a message naming the
// file and the piece, rather than ignored.
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

class Regex;

// A stretch of text on its way to the model. at_start: it begins where the original text begins
// (Metaspace's prepend_scheme "first" looks at that).
struct HfPiece {
  std::string text;
  bool at_start = false;
};

// Sequence, Prepend, Replace (a literal pattern), NFC (when kiln is built with ICU); null is
// no normalizer.
class HfNormalizer {
 public:
  HfNormalizer() = default;
  HfNormalizer(const nlohmann::json& spec, const std::string& file);
  bool empty() const { return steps_.empty(); }
  std::string apply(std::string text) const;

 private:
  struct Step {
    enum class Kind { kPrepend, kReplace, kNfc } kind;
    std::string pattern, content;
  };
  void add(const nlohmann::json& spec, const std::string& file);
  std::vector<Step> steps_;
};

// Sequence, Split (a regex or a literal, behavior Isolated, not inverted), ByteLevel, Digits,
// Metaspace; null is none.
class HfPreTokenizer {
 public:
  HfPreTokenizer() = default;
  HfPreTokenizer(const nlohmann::json& spec, const std::string& file);
  // Replaces `pieces` by their words; words are never empty.
  void apply(std::vector<HfPiece>& pieces) const;
  // True when a ByteLevel step writes the words in GPT-2's byte alphabet.
  bool byte_level() const;

 private:
  enum class Prepend { kAlways, kFirst, kNever };
  struct Step {
    enum class Kind { kSplit, kByteLevel, kDigits, kMetaspace } kind;
    std::shared_ptr<const Regex> regex;  // Split, Digits
    bool add_prefix_space = false;       // ByteLevel
    bool use_regex = true;               // ByteLevel
    std::string replacement;             // Metaspace
    Prepend prepend = Prepend::kAlways;  // Metaspace
    bool split = true;                   // Metaspace
  };
  void add(const nlohmann::json& spec, const std::string& file);
  void apply(const Step& step, std::vector<HfPiece>& pieces) const;
  std::vector<Step> steps_;
};

// Sequence, ByteLevel, Replace (a literal pattern), ByteFallback, Fuse, Strip, Metaspace; null
// joins the tokens with spaces, as the library does.
class HfDecoder {
 public:
  HfDecoder() = default;
  HfDecoder(const nlohmann::json& spec, const std::string& file);
  // Unlike the library, bytes that are not valid UTF-8 (a cut through a character) come back as
  // they are rather than as U+FFFD.
  std::string decode(std::vector<std::string> tokens) const;

 private:
  struct Step {
    enum class Kind { kByteLevel, kReplace, kByteFallback, kFuse, kStrip, kMetaspace } kind;
    std::string pattern, content;  // Replace; Strip's content; Metaspace's replacement
    size_t start = 0, stop = 0;    // Strip
    bool prepend = true;           // Metaspace: prepend_scheme is not "never"
  };
  void add(const nlohmann::json& spec, const std::string& file);
  bool null_ = true;
  std::vector<Step> steps_;
};

}  // namespace kiln

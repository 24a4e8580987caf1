#include "text/hf_pipeline.h"

#include "core/error.h"
#include "text/byte_alphabet.h"
#include "text/pretokenizer.h"
#include "text/regex.h"
#include "text/unicode_nfc.h"

namespace kiln {

namespace {

constexpr const char* kOp = "tokenizer";
using nlohmann::json;

std::string type_of(const json& spec, const std::string& file, const char* stage) {
  KILN_CHECK(spec.is_object() && spec.contains("type") && spec.at("type").is_string(), kOp,
             "{}: {} {} has no \"type\"", file, stage, spec.dump());
  return spec.at("type").get<std::string>();
}

// A Replace's or Split's {"String": ...} pattern; {"Regex": ...} only where `regex_ok`.
std::string literal_pattern(const json& spec, const std::string& file, const char* stage) {
  const json& pattern = spec.at("pattern");
  KILN_CHECK(pattern.is_object() && pattern.contains("String"), kOp,
             "{}: {} {} with pattern {} is not supported (kiln implements literal String "
             "patterns here)",
             file, stage, spec.at("type").get<std::string>(), pattern.dump());
  const std::string literal = pattern.at("String").get<std::string>();
  KILN_CHECK(!literal.empty(), kOp, "{}: {} {} has an empty pattern", file, stage,
             spec.at("type").get<std::string>());
  return literal;
}

void replace_all(std::string& text, std::string_view pattern, std::string_view content) {
  if (text.find(pattern) == std::string::npos) return;
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  size_t pos = 0;
  for (size_t hit; (hit = text.find(pattern, pos)) != std::string::npos;
       pos = hit + pattern.size()) {
    out.append(text, pos, hit - pos);
    out += content;
  }
  out.append(text, pos);
  text = std::move(out);
}

std::string escape_literal(std::string_view literal) {
  std::string out;
  for (const char c : literal) {
    if (std::string_view(R"(\^$.|?*+()[]{}-/)").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

HfNormalizer::HfNormalizer(const json& spec, const std::string& file) {
  if (!spec.is_null()) add(spec, file);
}

void HfNormalizer::add(const json& spec, const std::string& file) {
  const std::string type = type_of(spec, file, "normalizer");
  if (type == "Sequence") {
    for (const json& step : spec.at("normalizers")) add(step, file);
  } else if (type == "Prepend") {
    steps_.push_back({Step::Kind::kPrepend, spec.at("prepend").get<std::string>(), ""});
  } else if (type == "Replace") {
    steps_.push_back({Step::Kind::kReplace, literal_pattern(spec, file, "normalizer"),
                      spec.at("content").get<std::string>()});
  } else if (type == "NFC") {
    KILN_CHECK(nfc_available(), kOp,
               "{}: normalizer NFC needs ICU, and this kiln was built without it (install "
               "libicu-dev and reconfigure)",
               file);
    steps_.push_back({Step::Kind::kNfc, "", ""});
  } else {
    fail(kOp,
         "{}: normalizer {} is not supported (kiln implements Sequence, Prepend, Replace and "
         "NFC)",
         file, type);
  }
}

std::string HfNormalizer::apply(std::string text) const {
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::kPrepend:
        if (!text.empty()) text.insert(0, step.pattern);
        break;
      case Step::Kind::kReplace:
        replace_all(text, step.pattern, step.content);
        break;
      case Step::Kind::kNfc:
        text = to_nfc(std::move(text));
        break;
    }
  }
  return text;
}

HfPreTokenizer::HfPreTokenizer(const json& spec, const std::string& file) {
  if (!spec.is_null()) add(spec, file);
}

void HfPreTokenizer::add(const json& spec, const std::string& file) {
  const std::string type = type_of(spec, file, "pre_tokenizer");
  Step step{};
  if (type == "Sequence") {
    for (const json& inner : spec.at("pretokenizers")) add(inner, file);
    return;
  }
  if (type == "Split") {
    const std::string behavior = spec.value("behavior", "Isolated");
    KILN_CHECK(behavior == "Isolated", kOp,
               "{}: pre_tokenizer Split with behavior {} is not supported (kiln implements "
               "Isolated)",
               file, behavior);
    KILN_CHECK(!spec.value("invert", false), kOp,
               "{}: pre_tokenizer Split with invert = true is not supported", file);
    const json& pattern = spec.at("pattern");
    std::string regex;
    if (pattern.is_object() && pattern.contains("Regex")) {
      regex = spell_out_whitespace(pattern.at("Regex").get<std::string>(), kOp,
                                   file + ": pre_tokenizer Split");
    } else if (pattern.is_object() && pattern.contains("String")) {
      regex = escape_literal(pattern.at("String").get<std::string>());
    } else {
      fail(kOp,
           "{}: pre_tokenizer Split pattern {} is neither {{\"Regex\": ...}} nor "
           "{{\"String\": ...}}",
           file, pattern.dump());
    }
    step.kind = Step::Kind::kSplit;
    step.regex = std::make_shared<const Regex>(regex, kOp, file + ": pre_tokenizer Split regex");
  } else if (type == "ByteLevel") {
    step.kind = Step::Kind::kByteLevel;
    step.add_prefix_space = spec.value("add_prefix_space", false);
    step.use_regex = spec.value("use_regex", true);
  } else if (type == "Digits") {
    step.kind = Step::Kind::kDigits;
    // Rust's char::is_numeric is the N categories.
    step.regex = std::make_shared<const Regex>(
        spec.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)", kOp,
        file + ": pre_tokenizer Digits");
  } else if (type == "Metaspace") {
    step.kind = Step::Kind::kMetaspace;
    step.replacement = spec.value("replacement", "\u2581");
    KILN_CHECK(!step.replacement.empty(), kOp,
               "{}: pre_tokenizer Metaspace has an empty replacement", file);
    step.split = spec.value("split", true);
    if (spec.contains("prepend_scheme")) {
      const std::string scheme = spec.at("prepend_scheme").get<std::string>();
      if (scheme == "always") {
        step.prepend = Prepend::kAlways;
      } else if (scheme == "first") {
        step.prepend = Prepend::kFirst;
      } else if (scheme == "never") {
        step.prepend = Prepend::kNever;
      } else {
        fail(kOp,
             "{}: pre_tokenizer Metaspace prepend_scheme {} is not one of always, first, "
             "never",
             file, scheme);
      }
    } else {
      step.prepend = spec.value("add_prefix_space", true) ? Prepend::kAlways : Prepend::kNever;
    }
  } else {
    fail(kOp,
         "{}: pre_tokenizer {} is not supported (kiln implements Sequence, Split, ByteLevel, "
         "Digits and Metaspace)",
         file, type);
  }
  steps_.push_back(std::move(step));
}

bool HfPreTokenizer::byte_level() const {
  for (const Step& step : steps_) {
    if (step.kind == Step::Kind::kByteLevel) return true;
  }
  return false;
}

void HfPreTokenizer::apply(std::vector<HfPiece>& pieces) const {
  for (const Step& step : steps_) apply(step, pieces);
  std::erase_if(pieces, [](const HfPiece& piece) { return piece.text.empty(); });
}

void HfPreTokenizer::apply(const Step& step, std::vector<HfPiece>& pieces) const {
  std::vector<HfPiece> out;
  out.reserve(pieces.size());
  std::vector<std::string_view> words;
  const auto emit = [&](const HfPiece& piece) {
    for (size_t i = 0; i < words.size(); ++i) {
      out.push_back({std::string(words[i]), piece.at_start && i == 0});
    }
    words.clear();
  };
  for (HfPiece& piece : pieces) {
    if (piece.text.empty()) continue;
    switch (step.kind) {
      case Step::Kind::kSplit:
      case Step::Kind::kDigits:
        step.regex->split_isolated(piece.text, words);
        emit(piece);
        break;
      case Step::Kind::kByteLevel: {
        if (step.add_prefix_space && piece.text[0] != ' ') piece.text.insert(0, " ");
        if (step.use_regex) {
          gpt2_pretokenize(piece.text, words);
        } else {
          words.emplace_back(piece.text);
        }
        for (size_t i = 0; i < words.size(); ++i) {
          out.push_back({byte_alphabet::encode(words[i]), piece.at_start && i == 0});
        }
        words.clear();
        break;
      }
      case Step::Kind::kMetaspace: {
        replace_all(piece.text, " ", step.replacement);
        const bool starts = piece.text.starts_with(step.replacement);
        if (!starts && (step.prepend == Prepend::kAlways ||
                        (step.prepend == Prepend::kFirst && piece.at_start))) {
          piece.text.insert(0, step.replacement);
        }
        if (!step.split) {
          out.push_back(std::move(piece));
          break;
        }
        // Hugging Face's MergedWithNext: each replacement starts a word.
        const std::string_view text = piece.text;
        size_t begin = 0;
        for (size_t hit = text.find(step.replacement, 1); hit != std::string_view::npos;
             hit = text.find(step.replacement, hit + step.replacement.size())) {
          if (hit > begin) words.push_back(text.substr(begin, hit - begin));
          begin = hit;
        }
        words.push_back(text.substr(begin));
        emit(piece);
        break;
      }
    }
  }
  pieces = std::move(out);
}

HfDecoder::HfDecoder(const json& spec, const std::string& file) {
  if (spec.is_null()) return;
  null_ = false;
  add(spec, file);
}

void HfDecoder::add(const json& spec, const std::string& file) {
  const std::string type = type_of(spec, file, "decoder");
  Step step{};
  if (type == "Sequence") {
    for (const json& inner : spec.at("decoders")) add(inner, file);
    return;
  }
  if (type == "ByteLevel") {
    step.kind = Step::Kind::kByteLevel;
  } else if (type == "Replace") {
    step.kind = Step::Kind::kReplace;
    step.pattern = literal_pattern(spec, file, "decoder");
    step.content = spec.at("content").get<std::string>();
  } else if (type == "ByteFallback") {
    step.kind = Step::Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Step::Kind::kFuse;
  } else if (type == "Strip") {
    step.kind = Step::Kind::kStrip;
    step.content = spec.at("content").get<std::string>();
    step.start = spec.at("start").get<size_t>();
    step.stop = spec.at("stop").get<size_t>();
  } else if (type == "Metaspace") {
    step.kind = Step::Kind::kMetaspace;
    step.content = spec.value("replacement", "\u2581");
    step.prepend = spec.contains("prepend_scheme") ? spec.at("prepend_scheme") != "never"
                                                   : spec.value("add_prefix_space", true);
  } else {
    fail(kOp,
         "{}: decoder {} is not supported (kiln implements Sequence, ByteLevel, Replace, "
         "ByteFallback, Fuse, Strip and Metaspace)",
         file, type);
  }
  steps_.push_back(std::move(step));
}

namespace {

// <0xNN> -> the byte, or -1.
int fallback_byte(std::string_view token) {
  if (token.size() != 6 || !token.starts_with("<0x") || token.back() != '>') return -1;
  int value = 0;
  for (const char c : token.substr(3, 2)) {
    value *= 16;
    if (c >= '0' && c <= '9') {
      value += c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value += c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value += c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

std::string join(const std::vector<std::string>& tokens, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) out += separator;
    out += tokens[i];
  }
  return out;
}

}  // namespace

std::string HfDecoder::decode(std::vector<std::string> tokens) const {
  if (null_) return join(tokens, " ");
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Step::Kind::kByteLevel: {
        std::string bytes;
        for (const std::string& token : tokens) {
          // A token outside the alphabet (an added token's text) stands for its own bytes.
          const std::optional<std::string> decoded = byte_alphabet::decode(token);
          bytes += decoded ? *decoded : token;
        }
        tokens.assign(1, std::move(bytes));
        break;
      }
      case Step::Kind::kReplace:
        for (std::string& token : tokens) replace_all(token, step.pattern, step.content);
        break;
      case Step::Kind::kByteFallback: {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        bool in_run = false;
        for (std::string& token : tokens) {
          const int byte = fallback_byte(token);
          if (byte < 0) {
            out.push_back(std::move(token));
            in_run = false;
            continue;
          }
          if (!in_run) out.emplace_back();
          out.back() += static_cast<char>(byte);
          in_run = true;
        }
        tokens = std::move(out);
        break;
      }
      case Step::Kind::kFuse:
        tokens.assign(1, join(tokens, ""));
        break;
      case Step::Kind::kStrip:
        for (std::string& token : tokens) {
          const std::string_view c = step.content;
          size_t begin = 0;
          for (size_t k = 0; k < step.start && token.compare(begin, c.size(), c) == 0; ++k) {
            begin += c.size();
          }
          size_t end = token.size();
          for (size_t k = 0; k < step.stop && end >= begin + c.size() &&
                             token.compare(end - c.size(), c.size(), c) == 0;
               ++k) {
            end -= c.size();
          }
          token = token.substr(begin, end - begin);
        }
        break;
      case Step::Kind::kMetaspace:
        for (size_t i = 0; i < tokens.size(); ++i) {
          replace_all(tokens[i], step.content, i == 0 && step.prepend ? "" : " ");
        }
        break;
    }
  }
  return join(tokens, "");
}

}  // namespace kiln

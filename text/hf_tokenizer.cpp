#include "text/hf_tokenizer.h"

#include <map>

#include "core/error.h"
#include "core/file_io.h"
#include "text/utf8.h"

namespace kiln {

namespace {

constexpr const char* kOp = "tokenizer";
using nlohmann::json;

HfBpe::Merge split_merge(const json& merge, const std::string& file) {
  if (merge.is_string()) {
    const std::string line = merge.get<std::string>();
    const size_t space = line.find(' ');
    KILN_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                   line.find(' ', space + 1) == std::string::npos,
               kOp, "{}: merge '{}' is not two tokens separated by one space", file, line);
    return {line.substr(0, space), line.substr(space + 1)};
  }
  KILN_CHECK(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(),
             kOp, "{}: merge {} is neither \"left right\" nor [left, right]", file, merge.dump());
  return {merge[0].get<std::string>(), merge[1].get<std::string>()};
}

// The model's options that change ids and kiln does not implement are refused, not ignored.
HfBpeOptions read_model_options(const json& model, const std::string& file) {
  const std::string type = model.value("type", "BPE");
  KILN_CHECK(type == "BPE", kOp, "{}: model type {} is not supported (kiln reads BPE models)", file,
             type);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json value = model.value(key, json());
    KILN_CHECK(value.is_null() || value == "", kOp, "{}: model.{} = {} is not supported", file, key,
               value.dump());
  }
  const json dropout = model.value("dropout", json());
  KILN_CHECK(dropout.is_null() || dropout == 0, kOp,
             "{}: model.dropout = {} is not supported (BPE dropout is for training)", file,
             dropout.dump());
  HfBpeOptions options;
  if (const json unk = model.value("unk_token", json()); !unk.is_null()) {
    options.unk_token = unk.get<std::string>();
  }
  options.byte_fallback = model.value("byte_fallback", false);
  options.fuse_unk = model.value("fuse_unk", false);
  options.ignore_merges = model.value("ignore_merges", false);
  return options;
}

// tokenizer_config.json writes a token as "<s>" or {"content": "<s>", ...}.
std::optional<std::string> config_token(const json& config, const char* key,
                                        const std::string& file) {
  const json value = config.value(key, json());
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) return value.get<std::string>();
  KILN_CHECK(value.is_object() && value.contains("content") && value.at("content").is_string(), kOp,
             "{}: {} is {}, expected a string or {{\"content\": ...}}", file, key, value.dump());
  return value.at("content").get<std::string>();
}

}  // namespace

bool HfTokenizer::is_gpt2_pipeline(const json& root) {
  if (!root.is_object() || !root.contains("model") || !root.at("model").is_object()) return true;
  const json& model = root.at("model");
  const json pre = root.value("pre_tokenizer", json());
  const json post = root.value("post_processor", json());
  const json decoder = root.value("decoder", json());
  const auto of_type = [](const json& spec, const char* type) {
    return spec.is_object() && spec.value("type", "") == type;
  };
  return root.value("normalizer", json()).is_null() && of_type(pre, "ByteLevel") &&
         !pre.value("add_prefix_space", false) && pre.value("use_regex", true) &&
         (post.is_null() || of_type(post, "ByteLevel")) &&
         (decoder.is_null() || of_type(decoder, "ByteLevel")) &&
         !model.value("byte_fallback", false) && !model.value("ignore_merges", false);
}

HfTokenizer HfTokenizer::load(const std::filesystem::path& dir) {
  const std::filesystem::path file = dir / "tokenizer.json";
  const std::filesystem::path config_file = dir / "tokenizer_config.json";
  std::error_code error;
  json config =
      std::filesystem::exists(config_file, error) ? read_json_file(config_file, kOp) : json();
  return HfTokenizer(read_json_file(file, kOp), file.string(), std::move(config),
                     config_file.string());
}

HfTokenizer::HfTokenizer(json root, std::string file, json config, std::string config_file)
    : root_(std::move(root)),
      config_(std::move(config)),
      file_(std::move(file)),
      config_file_(std::move(config_file)) {
  try {
    KILN_CHECK(root_.is_object() && root_.contains("model") && root_.at("model").is_object(), kOp,
               "{}: no \"model\" object (not a Hugging Face tokenizer.json?)", file_);
    const json& model = root_.at("model");
    HfBpeOptions options = read_model_options(model, file_);
    normalizer_ = HfNormalizer(root_.value("normalizer", json()), file_);
    pre_tokenizer_ = HfPreTokenizer(root_.value("pre_tokenizer", json()), file_);
    decoder_ = HfDecoder(root_.value("decoder", json()), file_);

    KILN_CHECK(model.contains("vocab") && model.at("vocab").is_object(), kOp,
               "{}: model.vocab is missing or not an object of token -> id", file_);
    KILN_CHECK(model.contains("merges") && model.at("merges").is_array(), kOp,
               "{}: model.merges is missing or not an array", file_);
    std::vector<std::pair<std::string, int64_t>> vocab;
    vocab.reserve(model.at("vocab").size());
    std::map<int64_t, std::string> by_id;
    for (const auto& [token, id] : model.at("vocab").items()) {
      KILN_CHECK(id.is_number_integer(), kOp, "{}: the id of '{}' is {}, not an integer", file_,
                 token, id.dump());
      vocab.emplace_back(token, id.get<int64_t>());
      const auto [it, inserted] = by_id.emplace(id.get<int64_t>(), token);
      KILN_CHECK(inserted, kOp, "{}: id {} is given to both '{}' and '{}'", file_, it->first,
                 it->second, token);
    }
    std::vector<HfBpe::Merge> merges;
    merges.reserve(model.at("merges").size());
    for (const json& merge : model.at("merges")) merges.push_back(split_merge(merge, file_));
    model_ = std::make_unique<HfBpe>(vocab, merges, std::move(options), file_);

    std::vector<AddedToken> raw, normalized;
    std::vector<std::string> raw_patterns, normalized_patterns;
    for (const json& entry : root_.value("added_tokens", json::array())) {
      AddedToken token;
      token.content = entry.at("content").get<std::string>();
      token.id = entry.at("id").get<int64_t>();
      token.special = entry.value("special", false);
      token.single_word = entry.value("single_word", false);
      token.lstrip = entry.value("lstrip", false);
      token.rstrip = entry.value("rstrip", false);
      token.normalized = entry.value("normalized", !token.special);
      KILN_CHECK(!token.content.empty(), kOp, "{}: added token {} is empty", file_, token.id);
      utf8::check_valid(token.content, kOp, file_ + ": added token");
      if (const auto it = by_id.find(token.id); it != by_id.end()) {
        KILN_CHECK(it->second == token.content, kOp,
                   "{}: added token '{}' has id {}, which model.vocab gives to '{}'", file_,
                   token.content, token.id, it->second);
      } else {
        by_id.emplace(token.id, token.content);
      }
      added_.push_back(token);
      if (token.normalized) {
        normalized_patterns.push_back(normalizer_.apply(token.content));
        normalized.push_back(std::move(token));
      } else {
        raw_patterns.push_back(token.content);
        raw.push_back(std::move(token));
      }
    }
    raw_splitter_ = AddedTokenSplitter(std::move(raw), std::move(raw_patterns));
    normalized_splitter_ =
        AddedTokenSplitter(std::move(normalized), std::move(normalized_patterns));

    KILN_CHECK(!by_id.empty(), kOp, "{}: the vocabulary is empty", file_);
    const int64_t n = by_id.rbegin()->first + 1;
    KILN_CHECK(by_id.begin()->first == 0 && static_cast<int64_t>(by_id.size()) == n, kOp,
               "{}: ids must number the {} tokens from 0 without gaps (the largest is {})", file_,
               by_id.size(), n - 1);
    tokens_.reserve(n);
    for (auto& [id, token] : by_id) tokens_.push_back(std::move(token));

    read_config();
    read_post_processor(root_.value("post_processor", json()));
  } catch (const json::exception& e) {
    fail(kOp, "{}: unexpected structure: {}", file_, e.what());
  }
}

void HfTokenizer::read_config() {
  const auto id_of = [&](const std::string& token, const char* key) {
    const std::optional<int64_t> id = token_to_id(token);
    KILN_CHECK(id.has_value(), kOp, "{}: {} '{}' is not in the vocabulary of {}", config_file_, key,
               token, file_);
    return *id;
  };
  if (config_.is_object()) {
    if (const auto bos = config_token(config_, "bos_token", config_file_)) {
      bos_id_ = id_of(*bos, "bos_token");
    }
    if (const auto eos = config_token(config_, "eos_token", config_file_)) {
      eos_id_ = id_of(*eos, "eos_token");
    }
  } else {
    // Without a config, the conventional names of the families kiln reads.
    for (const char* name : {"<s>", "<|begin_of_text|>"}) {
      if (!bos_id_) bos_id_ = token_to_id(name);
    }
    for (const char* name : {"</s>", "<|end_of_text|>", "<|endoftext|>"}) {
      if (!eos_id_) eos_id_ = token_to_id(name);
    }
  }
}

void HfTokenizer::read_post_processor(const json& spec) {
  // transformers' Llama tokenizer rebuilds the template from add_bos_token / add_eos_token;
  // where the config gives them, they decide.
  if (config_.is_object() &&
      (config_.contains("add_bos_token") || config_.contains("add_eos_token"))) {
    if (config_.value("add_bos_token", false)) {
      KILN_CHECK(bos_id_.has_value(), kOp, "{}: add_bos_token is true but there is no bos_token",
                 config_file_);
      prefix_.push_back(*bos_id_);
    }
    if (config_.value("add_eos_token", false)) {
      KILN_CHECK(eos_id_.has_value(), kOp, "{}: add_eos_token is true but there is no eos_token",
                 config_file_);
      suffix_.push_back(*eos_id_);
    }
    return;
  }
  if (spec.is_null()) return;
  const std::string type = spec.value("type", "");
  if (type == "Sequence") {
    for (const json& inner : spec.at("processors")) read_post_processor(inner);
    return;
  }
  if (type == "ByteLevel") return;  // it only trims offsets, which kiln does not report
  KILN_CHECK(type == "TemplateProcessing", kOp,
             "{}: post_processor {} is not supported (kiln implements TemplateProcessing, "
             "ByteLevel and Sequence)",
             file_, type);
  KILN_CHECK(prefix_.empty() && suffix_.empty(), kOp,
             "{}: more than one TemplateProcessing post_processor", file_);
  bool seen_sequence = false;
  for (const json& piece : spec.at("single")) {
    if (piece.contains("Sequence")) {
      const std::string id = piece.at("Sequence").at("id").get<std::string>();
      KILN_CHECK(id == "A" && !seen_sequence, kOp,
                 "{}: post_processor single template must hold $A once, got {}", file_,
                 spec.at("single").dump());
      seen_sequence = true;
      continue;
    }
    const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
    const json& special = spec.at("special_tokens");
    KILN_CHECK(special.contains(name), kOp,
               "{}: post_processor template token '{}' is not in its special_tokens", file_, name);
    for (const json& id : special.at(name).at("ids")) {
      const auto value = id.get<int64_t>();
      KILN_CHECK(value >= 0 && value < vocab_size(), kOp,
                 "{}: post_processor token '{}' has id {}, outside the vocabulary", file_, name,
                 value);
      (seen_sequence ? suffix_ : prefix_).push_back(value);
    }
  }
  KILN_CHECK(seen_sequence, kOp, "{}: post_processor single template has no $A", file_);
}

std::vector<int64_t> HfTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> out;
  out.reserve(text.size() / 3);
  encode_into(text, out);
  return out;
}

std::vector<int64_t> HfTokenizer::encode_with_special_tokens(std::string_view text) const {
  std::vector<int64_t> out(prefix_);
  out.reserve(text.size() / 3 + prefix_.size() + suffix_.size());
  encode_into(text, out);
  out.insert(out.end(), suffix_.begin(), suffix_.end());
  return out;
}

void HfTokenizer::encode_into(std::string_view text, std::vector<int64_t>& out) const {
  utf8::check_valid(text, kOp, "the text to encode must be UTF-8");
  std::vector<AddedTokenSplitter::Piece> pieces;
  if (raw_splitter_.empty()) {
    if (!text.empty()) pieces.push_back({0, text.size(), -1});
  } else {
    raw_splitter_.split(text, pieces);
  }
  for (const AddedTokenSplitter::Piece& piece : pieces) {
    if (piece.token >= 0) {
      out.push_back(raw_splitter_.token(piece.token).id);
      continue;
    }
    encode_normalized(
        normalizer_.apply(std::string(text.substr(piece.begin, piece.end - piece.begin))),
        piece.begin == 0, out);
  }
}

void HfTokenizer::encode_normalized(std::string text, bool at_start,
                                    std::vector<int64_t>& out) const {
  std::vector<HfPiece> words;
  if (normalized_splitter_.empty()) {
    words.push_back({std::move(text), at_start});
  } else {
    std::vector<AddedTokenSplitter::Piece> pieces;
    normalized_splitter_.split(text, pieces);
    for (const AddedTokenSplitter::Piece& piece : pieces) {
      if (piece.token >= 0) {
        if (!words.empty()) {
          pre_tokenizer_.apply(words);
          for (const HfPiece& word : words) model_->tokenize(word.text, out);
          words.clear();
        }
        out.push_back(normalized_splitter_.token(piece.token).id);
        continue;
      }
      words.push_back(
          {text.substr(piece.begin, piece.end - piece.begin), at_start && piece.begin == 0});
    }
  }
  pre_tokenizer_.apply(words);
  for (const HfPiece& word : words) model_->tokenize(word.text, out);
}

std::string HfTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    KILN_CHECK(ids[i] >= 0 && ids[i] < vocab_size(), kOp,
               "id {} at position {} is out of range (vocabulary of {} tokens)", ids[i], i,
               vocab_size());
    tokens.push_back(tokens_[ids[i]]);
  }
  return decoder_.decode(std::move(tokens));
}

std::optional<int64_t> HfTokenizer::token_to_id(std::string_view token) const {
  for (const AddedToken& added : added_) {
    if (added.content == token) return added.id;
  }
  return model_->id_of(token);
}

std::string HfTokenizer::id_to_token(int64_t id) const {
  KILN_CHECK(id >= 0 && id < vocab_size(), kOp, "id {} is out of range (vocabulary of {} tokens)",
             id, vocab_size());
  return tokens_[id];
}

void HfTokenizer::save(const std::filesystem::path& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  KILN_CHECK(!error, kOp, "cannot create directory {}: {}", dir.string(), error.message());
  write_file_atomically(dir / "tokenizer.json", root_.dump(2) + "\n", kOp);
  if (config_.is_object()) {
    write_file_atomically(dir / "tokenizer_config.json", config_.dump(2) + "\n", kOp);
  }
}

}  // namespace kiln

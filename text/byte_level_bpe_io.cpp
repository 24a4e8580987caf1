// ByteLevelBpe's file formats: vocab.json + merges.txt (and OpenAI's encoder.json + vocab.bpe,
// the same formats under other names), and Hugging Face's tokenizer.json.
#include <map>

#include "core/error.h"
#include "text/byte_level_bpe.h"
#include "core/file_io.h"

namespace kiln {

namespace {

constexpr const char* kOp = "tokenizer";
using nlohmann::json;

// Token strings by id from (id, token) entries; ids must run from 0 to n - 1, each used once.
std::vector<std::string> tokens_by_id(const std::vector<std::pair<int64_t, std::string>>& entries,
                                      const std::string& file) {
  const auto n = static_cast<int64_t>(entries.size());
  std::vector<std::string> tokens(entries.size());
  std::vector<bool> seen(entries.size(), false);
  for (const auto& [id, token] : entries) {
    KILN_CHECK(id >= 0 && id < n, kOp,
               "{}: token '{}' has id {}, outside 0..{} (ids must number the {} tokens from 0)",
               file, token, id, n - 1, n);
    KILN_CHECK(!seen[id], kOp, "{}: id {} is given to both '{}' and '{}'", file, id, tokens[id],
               token);
    seen[id] = true;
    tokens[id] = token;
  }
  return tokens;
}

void read_vocab_entries(const json& vocab, const std::string& file,
                        std::vector<std::pair<int64_t, std::string>>& entries) {
  KILN_CHECK(vocab.is_object(), kOp, "{}: the vocabulary must be a JSON object of token -> id",
             file);
  entries.reserve(entries.size() + vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    KILN_CHECK(id.is_number_integer(), kOp, "{}: the id of '{}' is {}, not an integer", file, token,
               id.dump());
    entries.emplace_back(id.get<int64_t>(), token);
  }
}

ByteLevelBpe::Merge split_merge(std::string_view line, const std::string& where) {
  const size_t space = line.find(' ');
  const bool ok = space != std::string_view::npos && space > 0 && space + 1 < line.size() &&
                  line.find(' ', space + 1) == std::string_view::npos;
  KILN_CHECK(ok, kOp, "{}: expected two tokens separated by one space, got '{}'", where, line);
  return {std::string(line.substr(0, space)), std::string(line.substr(space + 1))};
}

std::vector<ByteLevelBpe::Merge> read_merges_txt(const std::filesystem::path& path) {
  const std::string text = read_text_file(path, kOp);
  std::vector<ByteLevelBpe::Merge> merges;
  size_t start = 0;
  size_t line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.starts_with("#version")) continue;
    merges.push_back(split_merge(line, fmt::format("{} line {}", path.string(), line_number)));
  }
  return merges;
}

// Options of tokenizer.json that would change the encoding and kiln does not implement are
// refused rather than ignored.
void check_supported(const json& root, const std::string& file) {
  const json& model = root.at("model");
  const std::string type = model.value("type", "BPE");
  KILN_CHECK(type == "BPE", kOp, "{}: model type {} is not supported (kiln reads BPE models)", file,
             type);
  const json normalizer = root.value("normalizer", json());
  KILN_CHECK(normalizer.is_null(), kOp,
             "{}: normalizer {} is not supported (GPT-2's tokenizer has none)", file,
             normalizer.dump());
  const json pre = root.value("pre_tokenizer", json());
  KILN_CHECK(pre.is_object() && pre.value("type", "") == "ByteLevel", kOp,
             "{}: pre_tokenizer {} is not supported (kiln implements GPT-2's ByteLevel)", file,
             pre.dump());
  KILN_CHECK(!pre.value("add_prefix_space", false), kOp,
             "{}: ByteLevel add_prefix_space = true is not supported", file);
  KILN_CHECK(pre.value("use_regex", true), kOp, "{}: ByteLevel use_regex = false is not supported",
             file);
  KILN_CHECK(!model.value("byte_fallback", false), kOp, "{}: byte_fallback is not supported", file);
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json value = model.value(key, json());
    KILN_CHECK(value.is_null() || value == "", kOp, "{}: model.{} = {} is not supported", file, key,
               value.dump());
  }
}

}  // namespace

ByteLevelBpe ByteLevelBpe::load(const std::filesystem::path& vocab_json,
                                const std::filesystem::path& merges_txt) {
  const std::string vocab_file = vocab_json.string();
  const json vocab = read_json_file(vocab_json, kOp);
  std::vector<std::pair<int64_t, std::string>> entries;
  read_vocab_entries(vocab, vocab_file, entries);
  return ByteLevelBpe(tokens_by_id(entries, vocab_file), read_merges_txt(merges_txt), {},
                      std::nullopt, fmt::format("{} + {}", vocab_file, merges_txt.string()));
}

ByteLevelBpe ByteLevelBpe::load_tokenizer_json(const std::filesystem::path& tokenizer_json) {
  const std::string file = tokenizer_json.string();
  const json root = read_json_file(tokenizer_json, kOp);
  std::vector<std::pair<int64_t, std::string>> entries;
  std::vector<Merge> merges;
  std::vector<std::string> added;
  std::optional<std::string> unk;
  try {
    KILN_CHECK(root.is_object() && root.contains("model") && root.at("model").is_object(), kOp,
               "{}: no \"model\" object (not a Hugging Face tokenizer.json?)", file);
    check_supported(root, file);
    const json& model = root.at("model");
    read_vocab_entries(model.at("vocab"), file, entries);
    // Added tokens may repeat vocabulary entries (same id and text) or extend the vocabulary.
    std::map<int64_t, std::string> in_vocab;
    for (const auto& [id, token] : entries) in_vocab.emplace(id, token);
    for (const json& token : root.value("added_tokens", json::array())) {
      const auto id = token.at("id").get<int64_t>();
      const auto content = token.at("content").get<std::string>();
      if (const auto it = in_vocab.find(id); it != in_vocab.end()) {
        KILN_CHECK(it->second == content, kOp,
                   "{}: added token '{}' has id {}, which the vocabulary gives to '{}'", file,
                   content, id, it->second);
      } else {
        entries.emplace_back(id, content);
      }
      added.push_back(content);
    }
    // Merges are "left right" strings (older files) or [left, right] arrays (newer ones).
    for (const json& merge : model.at("merges")) {
      if (merge.is_string()) {
        merges.push_back(split_merge(merge.get<std::string>(), file + ": merge"));
      } else {
        KILN_CHECK(merge.is_array() && merge.size() == 2, kOp,
                   "{}: merge {} is neither \"left right\" nor [left, right]", file, merge.dump());
        merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
      }
    }
    if (const json value = model.value("unk_token", json()); !value.is_null()) {
      unk = value.get<std::string>();
    }
  } catch (const json::exception& e) {
    fail(kOp, "{}: unexpected structure: {}", file, e.what());
  }
  return ByteLevelBpe(tokens_by_id(entries, file), merges, added, unk, file);
}

void ByteLevelBpe::save(const std::filesystem::path& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  KILN_CHECK(!error, kOp, "cannot create directory {}: {}", dir.string(), error.message());
  // Written by hand in id order (as Hugging Face writes it), one compact line.
  std::string vocab = "{";
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (id > 0) vocab += ',';
    vocab += json(tokens_[id]).dump(-1, ' ', false);
    vocab += ':';
    vocab += std::to_string(id);
  }
  vocab += "}\n";
  std::string merges = "#version: 0.2\n";
  for (const auto& [left, right] : merge_list_) {
    KILN_CHECK(tokens_[left].find(' ') == std::string::npos &&
                   tokens_[right].find(' ') == std::string::npos,
               kOp, "cannot write merge '{}' + '{}' to merges.txt: a token contains a space",
               tokens_[left], tokens_[right]);
    merges += tokens_[left];
    merges += ' ';
    merges += tokens_[right];
    merges += '\n';
  }
  write_file_atomically(dir / "vocab.json", vocab, kOp);
  write_file_atomically(dir / "merges.txt", merges, kOp);
}

}  // namespace kiln

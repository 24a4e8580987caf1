#include "text/char_tokenizer.h"

#include <algorithm>

#include "core/error.h"
#include "core/file_io.h"
#include "text/utf8.h"

namespace kiln {

namespace {

constexpr const char* kOp = "char_tokenizer";
constexpr const char* kFileName = "char_tokenizer.json";

bool is_scalar_value(char32_t c) {
  return c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
}

}  // namespace

CharTokenizer::CharTokenizer(std::vector<char32_t> characters)
    : characters_(std::move(characters)) {
  KILN_CHECK(!characters_.empty(), kOp, "the vocabulary is empty");
  ascii_ids_.fill(-1);
  ids_.reserve(characters_.size());
  utf8_.reserve(characters_.size());
  for (size_t id = 0; id < characters_.size(); ++id) {
    const char32_t c = characters_[id];
    KILN_CHECK(is_scalar_value(c), kOp, "U+{:04X} (id {}) is not a Unicode scalar value",
               static_cast<uint32_t>(c), id);
    const auto [it, inserted] = ids_.emplace(c, static_cast<int32_t>(id));
    KILN_CHECK(inserted, kOp, "character {} appears twice (ids {} and {})", utf8::describe(c),
               it->second, id);
    if (c < 128) ascii_ids_[c] = static_cast<int32_t>(id);
    utf8_.emplace_back();
    utf8::append(utf8_.back(), c);
  }
}

CharTokenizer CharTokenizer::from_corpus(std::string_view corpus) {
  utf8::check_valid(corpus, kOp, "the corpus must be UTF-8");
  KILN_CHECK(!corpus.empty(), kOp, "the corpus is empty");
  std::array<bool, 128> ascii{};
  std::vector<char32_t> characters;
  size_t pos = 0;
  while (pos < corpus.size()) {
    const char32_t c = utf8::next(corpus, pos);
    if (c < 128) {
      ascii[c] = true;
    } else {
      characters.push_back(c);
    }
  }
  for (char32_t c = 0; c < 128; ++c) {
    if (ascii[c]) characters.push_back(c);
  }
  std::sort(characters.begin(), characters.end());
  characters.erase(std::unique(characters.begin(), characters.end()), characters.end());
  return CharTokenizer(std::move(characters));
}

CharTokenizer CharTokenizer::load(const std::filesystem::path& file) {
  const std::string name = file.string();
  const nlohmann::json root = read_json_file(file, "tokenizer");
  std::vector<char32_t> characters;
  try {
    KILN_CHECK(root.is_object() && root.value("type", "") == "char", "tokenizer",
               "{}: expected an object with \"type\": \"char\"", name);
    const auto version = root.value("version", 0);
    KILN_CHECK(version == 1, "tokenizer", "{}: version {} is not supported (expected 1)", name,
               version);
    for (const nlohmann::json& entry : root.at("characters")) {
      const auto text = entry.get<std::string>();
      size_t pos = 0;
      const bool one = !text.empty() && (utf8::next(text, pos), pos == text.size());
      KILN_CHECK(one, "tokenizer", "{}: entry {} of \"characters\" is {}, not one character", name,
                 characters.size(), entry.dump());
      pos = 0;
      characters.push_back(utf8::next(text, pos));
    }
  } catch (const nlohmann::json::exception& e) {
    fail("tokenizer", "{}: unexpected structure: {}", name, e.what());
  }
  KILN_CHECK(!characters.empty(), "tokenizer", "{}: \"characters\" is empty", name);
  try {
    return CharTokenizer(std::move(characters));
  } catch (const Error& e) {
    fail("tokenizer", "{}: {}", name, e.what());
  }
}

std::vector<int64_t> CharTokenizer::encode(std::string_view text) const {
  utf8::check_valid(text, kOp, "the text to encode must be UTF-8");
  std::vector<int64_t> ids;
  ids.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t start = pos;
    const char32_t c = utf8::next(text, pos);
    int32_t id = -1;
    if (c < 128) {
      id = ascii_ids_[c];
    } else if (const auto it = ids_.find(c); it != ids_.end()) {
      id = it->second;
    }
    KILN_CHECK(id >= 0, kOp,
               "character {} at byte offset {} (character {}) is not in the vocabulary of {} "
               "characters",
               utf8::describe(c), start, ids.size(), characters_.size());
    ids.push_back(id);
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    KILN_CHECK(ids[i] >= 0 && ids[i] < vocab_size(), kOp,
               "id {} at position {} is out of range (vocabulary of {} characters)", ids[i], i,
               vocab_size());
    out += utf8_[ids[i]];
  }
  return out;
}

std::optional<int64_t> CharTokenizer::token_to_id(std::string_view token) const {
  if (token.empty() || utf8::find_invalid(token)) return std::nullopt;
  size_t pos = 0;
  const char32_t c = utf8::next(token, pos);
  if (pos != token.size()) return std::nullopt;
  const auto it = ids_.find(c);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string CharTokenizer::id_to_token(int64_t id) const {
  KILN_CHECK(id >= 0 && id < vocab_size(), kOp,
             "id {} is out of range (vocabulary of {} characters)", id, vocab_size());
  return utf8_[id];
}

void CharTokenizer::save(const std::filesystem::path& dir) const {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  KILN_CHECK(!error, kOp, "cannot create directory {}: {}", dir.string(), error.message());
  nlohmann::json root = {{"type", "char"}, {"version", 1}, {"characters", utf8_}};
  write_file_atomically(dir / kFileName, root.dump(1, ' ', false) + "\n", kOp);
}

}  // namespace kiln

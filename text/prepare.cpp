#include "text/prepare.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <span>
#include <unordered_set>

#include "core/error.h"
#include "core/file_io.h"
#include "text/char_tokenizer.h"
#include "text/hf_tokenizer.h"
#include "text/shards.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace kiln {

namespace {

constexpr std::string_view kOp = "prepare";
// Tokens moved from the spool into the shards per step.
constexpr int64_t kCopyBlock = int64_t{1} << 20;

bool is_visible_ascii(char c) {
  return c > 0x20 && c < 0x7F;
}
bool is_line_end(char c) {
  return c == '\n' || c == '\r';
}
bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\v' || c == '\f';
}

// The last position in buffer[from, size) where a chunk may end: just before a space or tab
// that follows a visible ASCII character, or before a line end that follows an ASCII letter or
// digit. The byte-level regexes (GPT-2's, Llama 3's, Qwen2's) never put such a character and
// the whitespace after it in one piece (Llama 3's does join punctuation and the line ends after
// it, hence no line-end cut after punctuation), and their pieces tile the text, so the pieces
// (and hence the tokens) of the two sides are those of the whole text. A line end is preferred,
// so that chunks are whole lines; npos when there is no such position.
size_t find_cut(std::string_view buffer, size_t from) {
  size_t space_cut = std::string_view::npos;
  for (size_t i = buffer.size(); i-- > std::max<size_t>(from, 1);) {
    if (!is_visible_ascii(buffer[i - 1])) continue;
    if (is_line_end(buffer[i]) && std::isalnum(static_cast<unsigned char>(buffer[i - 1]))) return i;
    if (space_cut == std::string_view::npos && is_ascii_space(buffer[i])) space_cut = i;
  }
  return space_cut;
}

// A file read in chunks of about chunk_bytes that end at find_cut positions (a file without one
// is read whole). Every chunk is checked to be valid UTF-8; since cuts fall between ASCII bytes,
// that is the same as checking the whole file.
class ChunkReader {
 public:
  ChunkReader(const std::filesystem::path& path, int64_t chunk_bytes)
      : path_(path), in_(path, std::ios::binary), chunk_bytes_(static_cast<size_t>(chunk_bytes)) {
    if (!in_) fail(kOp, "cannot read {}: {}", path.string(), std::strerror(errno));
  }

  // The next chunk, or false at the end of the file; offset is the chunk's first byte in it.
  bool next(std::string& chunk, int64_t& offset) {
    size_t searched = 0;
    while (!eof_) {
      const size_t old_size = buffer_.size();
      buffer_.resize(old_size + chunk_bytes_);
      in_.read(buffer_.data() + old_size, static_cast<std::streamsize>(chunk_bytes_));
      buffer_.resize(old_size + static_cast<size_t>(in_.gcount()));
      if (in_.bad()) fail(kOp, "cannot read {}: read error", path_.string());
      if (in_.eof()) {
        eof_ = true;
        break;
      }
      const size_t cut = find_cut(buffer_, searched);
      if (cut != std::string_view::npos) {
        chunk.assign(buffer_, 0, cut);
        buffer_.erase(0, cut);
        return emit(chunk, offset);
      }
      // A cut needs the byte before it: the last byte may pair with the next read's first.
      searched = buffer_.empty() ? 0 : buffer_.size() - 1;
    }
    chunk = std::move(buffer_);
    buffer_.clear();
    if (chunk.empty()) return false;
    return emit(chunk, offset);
  }

 private:
  bool emit(const std::string& chunk, int64_t& offset) {
    offset = position_;
    if (const auto bad = utf8::find_invalid(chunk))
      fail(kOp, "{} is not valid UTF-8 text: invalid byte 0x{:02X} at byte offset {}",
           path_.string(), static_cast<unsigned char>(chunk[*bad]),
           position_ + static_cast<int64_t>(*bad));
    position_ += static_cast<int64_t>(chunk.size());
    return true;
  }

  std::filesystem::path path_;
  std::ifstream in_;
  size_t chunk_bytes_;
  std::string buffer_;
  int64_t position_ = 0;
  bool eof_ = false;
};

// The whole token stream, kept on disk as shard files (segments of at most shard_tokens) until
// its length, and hence the train/val split, is known.
class TokenSpool {
 public:
  TokenSpool(std::filesystem::path dir, int64_t vocab_size, int64_t segment_tokens)
      : dir_(std::move(dir)), vocab_size_(vocab_size), segment_tokens_(segment_tokens) {}

  void append(std::span<const int64_t> tokens) {
    while (!tokens.empty()) {
      if (!writer_ || writer_->size() == segment_tokens_) roll();
      const auto n = static_cast<size_t>(std::min<int64_t>(segment_tokens_ - writer_->size(),
                                                           static_cast<int64_t>(tokens.size())));
      writer_->append(tokens.first(n));
      tokens = tokens.subspan(n);
      size_ += static_cast<int64_t>(n);
    }
  }

  // Closes the last segment and maps all of them for reading.
  void finish() {
    if (writer_) writer_->close();
    writer_.reset();
    for (const auto& path : paths_) readers_.emplace_back(path);
  }

  int64_t size() const { return size_; }

  void read(int64_t offset, int64_t count, int64_t* out) const {
    while (count > 0) {
      const auto segment = static_cast<size_t>(offset / segment_tokens_);
      const int64_t within = offset % segment_tokens_;
      const int64_t n = std::min(count, readers_[segment].size() - within);
      readers_[segment].read(within, n, out);
      offset += n, count -= n, out += n;
    }
  }

  // Tokens [begin, begin + count) into a new shard.
  void copy_to_shard(const std::filesystem::path& path, int64_t begin, int64_t count) const {
    ShardWriter writer(path, vocab_size_);
    std::vector<int64_t> block(static_cast<size_t>(std::min(kCopyBlock, count)));
    for (int64_t done = 0; done < count; done += kCopyBlock) {
      const int64_t n = std::min(kCopyBlock, count - done);
      read(begin + done, n, block.data());
      writer.append(std::span<const int64_t>(block.data(), static_cast<size_t>(n)));
    }
    writer.close();
  }

  void remove_files() {
    readers_.clear();
    for (const auto& path : paths_) std::filesystem::remove(path);
  }

 private:
  void roll() {
    if (writer_) writer_->close();
    paths_.push_back(dir_ / fmt::format("spool_{:06d}.bin", paths_.size()));
    writer_ = std::make_unique<ShardWriter>(paths_.back(), vocab_size_);
  }

  std::filesystem::path dir_;
  int64_t vocab_size_;
  int64_t segment_tokens_;
  int64_t size_ = 0;
  std::unique_ptr<ShardWriter> writer_;
  std::vector<std::filesystem::path> paths_;
  std::vector<ShardReader> readers_;
};

// Removes a directory tree when the scope ends, unless released.
class StagingDirectory {
 public:
  explicit StagingDirectory(std::filesystem::path path) : path_(std::move(path)) {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
    std::filesystem::create_directories(path_, error);
    if (error) fail(kOp, "cannot create {}: {}", path_.string(), error.message());
  }
  ~StagingDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void check_options(const PrepareOptions& options) {
  KILN_CHECK(!options.input.empty(), kOp, "no input given (a text file or a directory of them)");
  KILN_CHECK(!options.output.empty(), kOp, "no output directory given");
  KILN_CHECK(options.val_fraction >= 0.0 && options.val_fraction <= 0.5, kOp,
             "val_fraction must be in [0, 0.5], got {}", options.val_fraction);
  KILN_CHECK(options.shard_tokens > 0 && options.shard_tokens <= INT32_MAX, kOp,
             "shard_tokens must be in [1, {}] (the header's int32 count), got {}", INT32_MAX,
             options.shard_tokens);
  KILN_CHECK(options.chunk_bytes > 0, kOp, "chunk_bytes must be positive, got {}",
             options.chunk_bytes);
}

// The input's documents: the file itself, or the directory's regular files sorted by name.
std::vector<std::filesystem::path> list_documents(const PrepareOptions& options) {
  std::error_code error;
  const auto status = std::filesystem::status(options.input, error);
  KILN_CHECK(std::filesystem::exists(status), kOp, "input {} does not exist",
             options.input.string());
  if (std::filesystem::is_regular_file(status)) return {options.input};
  KILN_CHECK(std::filesystem::is_directory(status), kOp,
             "input {} is neither a regular file nor a directory", options.input.string());
  KILN_CHECK(!std::filesystem::equivalent(options.input, options.output, error), kOp,
             "the output directory {} is the input directory: its shards would be read as text "
             "by the next run",
             options.output.string());
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(options.input)) {
    if (entry.path().filename().string().starts_with('.')) continue;
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
  KILN_CHECK(!files.empty(), kOp, "input directory {} has no files", options.input.string());
  return files;
}

// The first pass for the "char" tokenizer: the corpus's distinct characters.
CharTokenizer build_char_tokenizer(const std::vector<std::filesystem::path>& files,
                                   const PrepareOptions& options) {
  std::array<bool, 128> ascii{};
  std::unordered_set<char32_t> others;
  std::string chunk;
  int64_t offset = 0;
  for (const auto& file : files) {
    ChunkReader reader(file, options.chunk_bytes);
    while (reader.next(chunk, offset)) {
      size_t pos = 0;
      while (pos < chunk.size()) {
        const char32_t c = utf8::next(chunk, pos);
        if (c < 128) {
          ascii[c] = true;
        } else {
          others.insert(c);
        }
      }
    }
  }
  std::vector<char32_t> characters(others.begin(), others.end());
  for (char32_t c = 0; c < 128; ++c) {
    if (ascii[c]) characters.push_back(c);
  }
  KILN_CHECK(!characters.empty(), kOp, "input {} is empty: no text to tokenize",
             options.input.string());
  std::sort(characters.begin(), characters.end());
  return CharTokenizer(std::move(characters));
}

std::string tokenizer_kind(const Tokenizer& tokenizer) {
  if (dynamic_cast<const CharTokenizer*>(&tokenizer) != nullptr) return "char";
  if (dynamic_cast<const HfTokenizer*>(&tokenizer) != nullptr) return "hf_tokenizer_json";
  return "byte_level_bpe";
}

// Encodes every document into the spool, each preceded by EOS when there is one. Returns the
// number of non-empty documents.
int64_t encode_documents(const std::vector<std::filesystem::path>& files,
                         const Tokenizer& tokenizer, int64_t chunk_bytes, TokenSpool& spool) {
  const std::optional<int64_t> eos = tokenizer.eos_id();
  int64_t documents = 0;
  std::string chunk;
  int64_t offset = 0;
  for (const auto& file : files) {
    ChunkReader reader(file, chunk_bytes);
    bool first = true;
    while (reader.next(chunk, offset)) {
      if (first) {
        ++documents;
        if (eos) spool.append(std::span<const int64_t>(&*eos, 1));
        first = false;
      }
      std::vector<int64_t> ids;
      try {
        ids = tokenizer.encode(chunk);
      } catch (const Error& e) {
        fail(kOp, "{}: in the text from byte offset {}: {}", file.string(), offset, e.what());
      }
      spool.append(ids);
    }
  }
  return documents;
}

// The val split: the last val_fraction of the tokens, rounded, at least one token each side.
int64_t val_token_count(int64_t total, double val_fraction) {
  if (val_fraction == 0.0) return 0;
  KILN_CHECK(total >= 2, kOp,
             "the input has {} token, too few for a train/val split (use val_fraction 0)", total);
  const auto rounded =
      static_cast<int64_t>(std::llround(static_cast<double>(total) * val_fraction));
  return std::clamp<int64_t>(rounded, 1, total - 1);
}

// Writes tokens [begin, begin + count) of the spool as `<split>_NNNNNN.bin` shards of at most
// shard_tokens, as equal in size as possible. Returns the shard file names.
std::vector<std::string> write_split(const TokenSpool& spool, const std::filesystem::path& dir,
                                     const std::string& split, int64_t begin, int64_t count,
                                     int64_t shard_tokens) {
  std::vector<std::string> names;
  if (count == 0) return names;
  const int64_t shards = (count + shard_tokens - 1) / shard_tokens;
  for (int64_t k = 0; k < shards; ++k) {
    const int64_t size = count / shards + (k < count % shards ? 1 : 0);
    names.push_back(fmt::format("{}_{:06d}.bin", split, k));
    spool.copy_to_shard(dir / names.back(), begin, size);
    begin += size;
  }
  return names;
}

// Files of an earlier run in the output directory, which this run replaces.
bool is_previous_output(const std::filesystem::path& file) {
  static const std::regex kShard(R"((train|val)_[0-9]{6,}\.bin)");
  const std::string name = file.filename().string();
  return std::regex_match(name, kShard) || name == "meta.json" || name == "char_tokenizer.json";
}

// Moves the staged files into the output directory; meta.json last, so that a meta.json always
// describes the shards beside it.
void commit(const std::filesystem::path& staging, const std::filesystem::path& output,
            const std::vector<std::string>& names) {
  std::filesystem::remove(output / "meta.json");
  std::vector<std::filesystem::path> previous;
  for (const auto& entry : std::filesystem::directory_iterator(output)) {
    if (entry.is_regular_file() && is_previous_output(entry.path()))
      previous.push_back(entry.path());
  }
  for (const auto& path : previous) std::filesystem::remove(path);
  for (const auto& name : names) std::filesystem::rename(staging / name, output / name);
  std::filesystem::rename(staging / "meta.json", output / "meta.json");
}

}  // namespace

PrepareResult prepare_shards(const PrepareOptions& options) {
  check_options(options);
  const std::vector<std::filesystem::path> files = list_documents(options);

  std::unique_ptr<Tokenizer> tokenizer;
  const bool build_char = options.tokenizer == "char";
  if (build_char) {
    tokenizer = std::make_unique<CharTokenizer>(build_char_tokenizer(files, options));
  } else {
    std::error_code error;
    KILN_CHECK(std::filesystem::is_directory(options.tokenizer, error), kOp,
               "unknown tokenizer '{}': expected \"char\" or a tokenizer directory",
               options.tokenizer);
    tokenizer = load_tokenizer(options.tokenizer);
  }

  PrepareResult result;
  result.tokenizer_kind = tokenizer_kind(*tokenizer);
  result.vocab_size = tokenizer->vocab_size();
  result.eos_id = tokenizer->eos_id();

  try {
    std::filesystem::create_directories(options.output);
  } catch (const std::filesystem::filesystem_error& e) {
    fail(kOp, "cannot create the output directory {}: {}", options.output.string(),
         e.code().message());
  }
  StagingDirectory staging(options.output /
                           fmt::format(".prepare.tmp.{}", static_cast<long>(::getpid())));

  TokenSpool spool(staging.path(), result.vocab_size, options.shard_tokens);
  result.documents = encode_documents(files, *tokenizer, options.chunk_bytes, spool);
  spool.finish();
  const int64_t total = spool.size();
  KILN_CHECK(total > 0, kOp, "input {} is empty: no text to tokenize", options.input.string());

  result.val_tokens = val_token_count(total, options.val_fraction);
  result.train_tokens = total - result.val_tokens;
  const auto train_names =
      write_split(spool, staging.path(), "train", 0, result.train_tokens, options.shard_tokens);
  const auto val_names = write_split(spool, staging.path(), "val", result.train_tokens,
                                     result.val_tokens, options.shard_tokens);
  spool.remove_files();

  std::vector<std::string> names = train_names;
  names.insert(names.end(), val_names.begin(), val_names.end());
  std::string tokenizer_path = ".";
  if (build_char) {
    tokenizer->save(staging.path());
    names.push_back("char_tokenizer.json");
  } else {
    tokenizer_path = std::filesystem::absolute(options.tokenizer).lexically_normal().string();
  }

  nlohmann::ordered_json meta;
  meta["format"] = "llm.c token shards";
  meta["token_dtype"] = shard_token_bytes(result.vocab_size) == 2 ? "uint16" : "uint32";
  meta["tokenizer"] = {{"kind", result.tokenizer_kind}, {"path", tokenizer_path}};
  meta["vocab_size"] = result.vocab_size;
  meta["eos_id"] = result.eos_id ? nlohmann::ordered_json(*result.eos_id) : nullptr;
  meta["documents"] = result.documents;
  meta["train_tokens"] = result.train_tokens;
  meta["val_tokens"] = result.val_tokens;
  meta["train_shards"] = train_names;
  meta["val_shards"] = val_names;
  meta["source"] = std::filesystem::absolute(options.input).lexically_normal().string();
  meta["val_fraction"] = options.val_fraction;
  meta["shard_tokens"] = options.shard_tokens;
  write_file_atomically(staging.path() / "meta.json", meta.dump(2) + "\n", kOp);

  try {
    commit(staging.path(), options.output, names);
  } catch (const std::filesystem::filesystem_error& e) {
    fail(kOp, "cannot move the shards into {}: {}", options.output.string(), e.what());
  }
  for (const auto& name : train_names) result.train_shards.push_back(options.output / name);
  for (const auto& name : val_names) result.val_shards.push_back(options.output / name);
  return result;
}

}  // namespace kiln

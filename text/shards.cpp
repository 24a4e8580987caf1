#include "text/shards.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"

namespace kiln {

// Tokens and header fields are copied between memory and the file as they are, and the format
// is little-endian.
static_assert(std::endian::native == std::endian::little, "kiln assumes a little-endian host");

namespace {

constexpr std::string_view kOp = "shards";
constexpr int64_t kHeaderInts = kShardHeaderBytes / 4;
// Tokens converted to the file's width per write: bounded memory whatever the span's length.
constexpr int64_t kWriteBlock = 1 << 16;

template <typename... Args>
[[noreturn]] void file_fail(const std::filesystem::path& path, fmt::format_string<Args...> format,
                            Args&&... args) {
  fail(kOp, "{}: {}", path.string(), fmt::format(format, std::forward<Args>(args)...));
}

template <typename T>
void narrow(const int64_t* tokens, int64_t count, unsigned char* out) {
  T* typed = reinterpret_cast<T*>(out);
  for (int64_t i = 0; i < count; ++i) typed[i] = static_cast<T>(tokens[i]);
}

template <typename T>
void widen(const unsigned char* data, int64_t count, int64_t* out) {
  const T* typed = reinterpret_cast<const T*>(data);
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<int64_t>(typed[i]);
}

}  // namespace

int shard_token_bytes(int64_t vocab_size) {
  KILN_CHECK(vocab_size > 0, kOp, "vocab_size must be positive, got {}", vocab_size);
  KILN_CHECK(vocab_size <= (int64_t{1} << 32), kOp,
             "vocab_size {} does not fit the uint32 shard format", vocab_size);
  return vocab_size <= 65536 ? 2 : 4;
}

ShardWriter::ShardWriter(const std::filesystem::path& path, int64_t vocab_size)
    : path_(path), vocab_size_(vocab_size), token_bytes_(shard_token_bytes(vocab_size)) {
  // Unique per process and writer, so concurrent writers never share a temporary file.
  static std::atomic<unsigned> counter{0};
  temporary_ = path;
  temporary_ += fmt::format(".tmp.{}.{}", static_cast<long>(::getpid()), counter++);
  file_ = std::fopen(temporary_.c_str(), "wb");
  if (file_ == nullptr) file_fail(temporary_, "cannot create: {}", std::strerror(errno));
  // The count is known only at close(); the header is rewritten then.
  const std::array<unsigned char, kShardHeaderBytes> zeros{};
  if (std::fwrite(zeros.data(), 1, zeros.size(), file_) != zeros.size()) {
    const int saved = errno;
    discard();
    file_fail(temporary_, "cannot write: {}", std::strerror(saved));
  }
}

ShardWriter::~ShardWriter() {
  discard();
}

void ShardWriter::discard() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  file_ = nullptr;
  std::error_code ignored;
  std::filesystem::remove(temporary_, ignored);
}

void ShardWriter::append(std::span<const int64_t> tokens) {
  KILN_CHECK(file_ != nullptr, kOp, "{}: append after close", path_.string());
  std::vector<unsigned char> buffer(
      static_cast<size_t>(std::min<int64_t>(kWriteBlock, static_cast<int64_t>(tokens.size()))) *
      token_bytes_);
  for (size_t begin = 0; begin < tokens.size(); begin += kWriteBlock) {
    const int64_t n = std::min<int64_t>(kWriteBlock, static_cast<int64_t>(tokens.size() - begin));
    const int64_t* block = tokens.data() + begin;
    for (int64_t i = 0; i < n; ++i) {
      if (block[i] < 0 || block[i] >= vocab_size_)
        file_fail(path_, "token {} at position {} is outside the vocabulary [0, {})", block[i],
                  count_ + static_cast<int64_t>(begin) + i, vocab_size_);
    }
    if (token_bytes_ == 2) {
      narrow<uint16_t>(block, n, buffer.data());
    } else {
      narrow<uint32_t>(block, n, buffer.data());
    }
    const size_t bytes = static_cast<size_t>(n) * token_bytes_;
    if (std::fwrite(buffer.data(), 1, bytes, file_) != bytes)
      file_fail(temporary_, "cannot write: {}", std::strerror(errno));
  }
  count_ += static_cast<int64_t>(tokens.size());
}

void ShardWriter::close() {
  KILN_CHECK(file_ != nullptr, kOp, "{}: closed twice", path_.string());
  KILN_CHECK(count_ <= INT32_MAX, kOp,
             "{}: {} tokens do not fit the header's int32 count (at most {} per shard)",
             path_.string(), count_, INT32_MAX);
  std::array<int32_t, kHeaderInts> header{};
  header[0] = token_bytes_ == 2 ? kShardMagicU16 : kShardMagicU32;
  header[1] = token_bytes_ == 2 ? kShardVersionU16 : kShardVersionU32;
  header[2] = static_cast<int32_t>(count_);
  const bool written = std::fseek(file_, 0, SEEK_SET) == 0 &&
                       std::fwrite(header.data(), 1, kShardHeaderBytes, file_) ==
                           static_cast<size_t>(kShardHeaderBytes) &&
                       std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  const int saved = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  std::error_code error;
  if (!written || !closed) {
    std::filesystem::remove(temporary_, error);
    file_fail(temporary_, "cannot write: {}", std::strerror(written ? errno : saved));
  }
  std::filesystem::rename(temporary_, path_, error);
  if (error) {
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
    file_fail(path_, "cannot rename {} into place: {}", temporary_.string(), error.message());
  }
  sync_directory(path_.parent_path(), kOp);
}

void write_shard(const std::filesystem::path& path, std::span<const int64_t> tokens,
                 int64_t vocab_size) {
  ShardWriter writer(path, vocab_size);
  writer.append(tokens);
  writer.close();
}

ShardReader::ShardReader(const std::filesystem::path& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) file_fail(path_, "cannot open: {}", std::strerror(errno));
  struct stat st {};
  const bool stat_ok = ::fstat(fd, &st) == 0;
  const int saved = errno;
  if (!stat_ok || !S_ISREG(st.st_mode)) {
    ::close(fd);
    if (!stat_ok) file_fail(path_, "cannot stat: {}", std::strerror(saved));
    file_fail(path_, "not a regular file");
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < static_cast<uint64_t>(kShardHeaderBytes)) {
    ::close(fd);
    file_fail(path_, "file is {} bytes, shorter than the {}-byte shard header", file_size,
              kShardHeaderBytes);
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_errno = errno;
  ::close(fd);
  if (map == MAP_FAILED) file_fail(path_, "cannot mmap: {}", std::strerror(map_errno));
  map_ = static_cast<const unsigned char*>(map);
  map_size_ = file_size;

  try {
    std::array<int32_t, 3> fields{};
    std::memcpy(fields.data(), map_, sizeof(fields));
    const auto [magic, version, count] = fields;
    if (magic == kShardMagicU16) {
      token_bytes_ = 2;
      if (version != kShardVersionU16)
        file_fail(path_, "uint16 shard (magic {}) has version {}, expected {}{}", magic, version,
                  kShardVersionU16,
                  version == kShardVersionU32
                      ? fmt::format(" (version {} goes with magic {}, uint32 tokens)", version,
                                    kShardMagicU32)
                      : "");
    } else if (magic == kShardMagicU32) {
      token_bytes_ = 4;
      if (version != kShardVersionU32) {
        std::string hint;
        if (version == kShardVersionU16)
          hint = fmt::format(" (version {} goes with magic {}, uint16 tokens)", version,
                             kShardMagicU16);
        else if (version == kShardVersionKilnU32)
          hint =
              " (kiln's own uint32 variant before it followed llm.c; write the shards again "
              "with kiln prepare)";
        file_fail(path_, "uint32 shard (magic {}) has version {}, expected {}{}", magic, version,
                  kShardVersionU32, hint);
      }
    } else {
      file_fail(path_,
                "not a token shard: magic {}, expected {} (llm.c, uint16) or {} (llm.c, uint32)",
                magic, kShardMagicU16, kShardMagicU32);
    }
    if (count < 0) file_fail(path_, "header has a negative token count {}", count);
    const uint64_t expected =
        static_cast<uint64_t>(kShardHeaderBytes) + static_cast<uint64_t>(count) * token_bytes_;
    if (file_size != expected)
      file_fail(path_, "file is {} bytes, expected {} (the header says {} tokens of {} bytes){}",
                file_size, expected, count, token_bytes_,
                file_size < expected ? ": truncated" : ": trailing bytes");
    count_ = count;
  } catch (...) {
    release();
    throw;
  }
}

ShardReader::~ShardReader() {
  release();
}

ShardReader::ShardReader(ShardReader&& other) noexcept
    : path_(std::move(other.path_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      count_(std::exchange(other.count_, 0)),
      token_bytes_(other.token_bytes_) {}

ShardReader& ShardReader::operator=(ShardReader&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    count_ = std::exchange(other.count_, 0);
    token_bytes_ = other.token_bytes_;
  }
  return *this;
}

void ShardReader::release() {
  if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_size_);
  map_ = nullptr;
  map_size_ = 0;
}

void ShardReader::read(int64_t offset, int64_t count, int64_t* out) const {
  if (offset < 0 || count < 0 || offset > count_ - count)
    file_fail(path_, "read of tokens [{}, {}) is outside the shard's {} tokens", offset,
              offset + count, count_);
  const unsigned char* data = map_ + kShardHeaderBytes + offset * token_bytes_;
  if (token_bytes_ == 2) {
    widen<uint16_t>(data, count, out);
  } else {
    widen<uint32_t>(data, count, out);
  }
}

int64_t ShardReader::max_token() const {
  int64_t best = -1;
  std::vector<int64_t> block(static_cast<size_t>(std::min<int64_t>(kWriteBlock, count_)));
  for (int64_t begin = 0; begin < count_; begin += kWriteBlock) {
    const int64_t n = std::min(kWriteBlock, count_ - begin);
    read(begin, n, block.data());
    best = std::max(best, *std::max_element(block.begin(), block.begin() + n));
  }
  return best;
}

}  // namespace kiln

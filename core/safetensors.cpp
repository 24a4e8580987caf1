#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

#include "core/error.h"

namespace kiln {

// Tensor bytes are copied between memory and the file as they are, and the format is
// little-endian.
static_assert(std::endian::native == std::endian::little, "kiln assumes a little-endian host");

namespace {

// ordered_json keeps the header's key order, so names() follows the file.
using Json = nlohmann::ordered_json;

constexpr std::string_view kOp = "safetensors";
constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::string_view kSupported = "F32, F64, BF16, F16, I32, I64, U8, BOOL";

template <typename... Args>
[[noreturn]] void file_fail(const std::filesystem::path& path, fmt::format_string<Args...> format,
                            Args&&... args) {
  fail(kOp, "{}: {}", path.string(), fmt::format(format, std::forward<Args>(args)...));
}

// Closes a file descriptor on every path out of a function.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now, so that the error of close() (delayed write errors on NFS) can be reported.
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

bool parse_dtype_name(std::string_view name, DType& dtype) {
  static const std::pair<std::string_view, DType> kDTypes[] = {
      {"F32", DType::f32}, {"F64", DType::f64}, {"BF16", DType::bf16}, {"F16", DType::f16},
      {"I32", DType::i32}, {"I64", DType::i64}, {"U8", DType::u8},     {"BOOL", DType::boolean}};
  for (const auto& [text, value] : kDTypes) {
    if (name == text) {
      dtype = value;
      return true;
    }
  }
  return false;
}

// Valid safetensors dtypes that kiln has no element type for.
bool is_known_unsupported_dtype(std::string_view name) {
  static const std::string_view kNames[] = {"I8",      "I16",     "U16",     "U32",
                                            "U64",     "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                            "F6_E2M3", "F6_E3M2", "F4",      "C64"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// Reads a JSON number that must be a non-negative integer fitting in int64.
bool read_size(const Json& value, uint64_t& out) {
  if (!value.is_number_unsigned()) return false;
  out = value.get<uint64_t>();
  return out <= static_cast<uint64_t>(INT64_MAX);
}

uint64_t read_le_u64(const unsigned char* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// Parses the header, rejecting duplicate keys in any object: nlohmann would silently keep the
// last value, so a file with two entries of one name would load a tensor other readers skip.
Json parse_json_rejecting_duplicates(std::string_view text, const std::filesystem::path& path) {
  std::vector<std::set<std::string>> keys_per_object;
  const Json::parser_callback_t callback = [&](int, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        keys_per_object.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        keys_per_object.pop_back();
        break;
      case Json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!keys_per_object.back().insert(key).second)
          file_fail(path, "header has the key \"{}\" twice in one object", key);
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback);
  } catch (const Json::parse_error& e) {
    file_fail(path, "header is not valid JSON: {}", e.what());
  }
}

}  // namespace

std::string_view safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::bf16:
      return "BF16";
    case DType::f16:
      return "F16";
    case DType::i32:
      return "I32";
    case DType::i64:
      return "I64";
    case DType::u8:
      return "U8";
    case DType::boolean:
      return "BOOL";
  }
  fail(kOp, "corrupt dtype value {}", static_cast<int>(dtype));
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) : path_(path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) file_fail(path_, "cannot open: {}", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) file_fail(path_, "cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) file_fail(path_, "not a regular file");
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8)
    file_fail(path_, "file is {} bytes, shorter than the 8-byte header length", file_size);

  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) file_fail(path_, "cannot mmap: {}", std::strerror(errno));
  map_ = static_cast<const unsigned char*>(map);
  map_size_ = file_size;

  try {
    const uint64_t header_size = read_le_u64(map_);
    if (header_size > file_size - 8)
      file_fail(path_,
                "header length {} runs past the end of the file ({} bytes, {} after the "
                "length field)",
                header_size, file_size, file_size - 8);
    if (header_size == 0) file_fail(path_, "header length is 0, expected a JSON object");
    data_ = map_ + 8 + header_size;
    data_size_ = file_size - 8 - header_size;
    parse_header(header_size);
  } catch (...) {
    release();
    throw;
  }
}

void SafetensorsFile::parse_header(uint64_t header_size) {
  const std::string_view text(reinterpret_cast<const char*>(map_ + 8), header_size);
  const Json header = parse_json_rejecting_duplicates(text, path_);
  if (!header.is_object())
    file_fail(path_, "header is a JSON {}, expected an object", header.type_name());

  uint64_t covered = 0;
  for (const auto& [name, entry] : header.items()) {
    if (name == kMetadataKey) {
      if (!entry.is_object())
        file_fail(path_, "\"{}\" is a JSON {}, expected an object of strings", kMetadataKey,
                  entry.type_name());
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string())
          file_fail(path_, "\"{}\" value of key \"{}\" is a JSON {}, expected a string",
                    kMetadataKey, key, value.type_name());
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object())
      file_fail(path_, "tensor '{}' entry is a JSON {}, expected an object", name,
                entry.type_name());
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
      if (!entry.contains(field))
        file_fail(path_, "tensor '{}' entry has no \"{}\" field", name, field);
    }

    SafetensorsTensorInfo info;
    const Json& dtype = entry["dtype"];
    if (!dtype.is_string())
      file_fail(path_, "tensor '{}' has \"dtype\" {}, expected a string", name, dtype.dump());
    const auto& dtype_text = dtype.get_ref<const std::string&>();
    if (!parse_dtype_name(dtype_text, info.dtype)) {
      if (is_known_unsupported_dtype(dtype_text))
        file_fail(path_, "unsupported dtype {} for tensor '{}' (kiln supports {})", dtype_text,
                  name, kSupported);
      file_fail(path_, "unknown dtype \"{}\" for tensor '{}' (kiln supports {})", dtype_text, name,
                kSupported);
    }

    const Json& shape = entry["shape"];
    if (!shape.is_array())
      file_fail(path_, "tensor '{}' has \"shape\" {}, expected an array of sizes", name,
                shape.dump());
    // Every running product must fit in int64, as kiln's shape arithmetic multiplies the dims
    // in order in int64 (even when a later dim is 0).
    uint64_t numel = 1;
    for (const Json& dim : shape) {
      uint64_t size = 0;
      if (dim.is_number_integer() && !dim.is_number_unsigned())
        file_fail(path_, "tensor '{}' has shape {} with a negative dim", name, shape.dump());
      if (!read_size(dim, size))
        file_fail(path_, "tensor '{}' has shape {}, expected non-negative integer sizes", name,
                  shape.dump());
      info.shape.push_back(static_cast<int64_t>(size));
      if (__builtin_mul_overflow(numel, size, &numel) || numel > uint64_t{INT64_MAX})
        file_fail(path_, "tensor '{}' has shape {} with more than 2^63 elements", name,
                  shape.dump());
    }
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(numel, dtype_size(info.dtype), &nbytes))
      file_fail(path_, "tensor '{}' of shape {} and dtype {} needs more than 2^64 bytes", name,
                shape.dump(), dtype_text);

    const Json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !read_size(offsets[0], info.data_begin) ||
        !read_size(offsets[1], info.data_end))
      file_fail(path_,
                "tensor '{}' has \"data_offsets\" {}, expected [begin, end] with "
                "non-negative integers",
                name, offsets.dump());
    if (info.data_begin > info.data_end)
      file_fail(path_, "tensor '{}' has data_offsets [{}, {}] with begin > end", name,
                info.data_begin, info.data_end);
    if (info.data_end > data_size_)
      file_fail(path_, "tensor '{}' has data_offsets [{}, {}] outside the data buffer of {} bytes",
                name, info.data_begin, info.data_end, data_size_);
    if (nbytes != info.nbytes())
      file_fail(path_,
                "tensor '{}' of shape {} and dtype {} needs {} bytes, but data_offsets "
                "[{}, {}] hold {}",
                name, shape_str(info.shape), dtype_text, nbytes, info.data_begin, info.data_end,
                info.nbytes());

    names_.push_back(name);
    covered += info.nbytes();
    infos_.emplace(name, std::move(info));
  }

  struct Range {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Range> ranges;
  for (const std::string& name : names_) {
    const SafetensorsTensorInfo& info = infos_.at(name);
    // Zero bytes overlap nothing, wherever an empty tensor points.
    if (info.nbytes() > 0) ranges.push_back({info.data_begin, info.data_end, &name});
  }
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    // Sorted by begin, so any overlap shows up between a range and the one reaching furthest
    // before it.
    if (ranges[i].begin < ranges[i - 1].end)
      file_fail(path_, "tensors '{}' [{}, {}) and '{}' [{}, {}) have overlapping data",
                *ranges[i - 1].name, ranges[i - 1].begin, ranges[i - 1].end, *ranges[i].name,
                ranges[i].begin, ranges[i].end);
    if (ranges[i].end < ranges[i - 1].end) ranges[i] = ranges[i - 1];
  }
  unused_bytes_ = data_size_ - covered;
}

SafetensorsFile::~SafetensorsFile() {
  release();
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept {
  *this = std::move(other);
}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this == &other) return *this;
  release();
  path_ = std::move(other.path_);
  map_ = std::exchange(other.map_, nullptr);
  map_size_ = std::exchange(other.map_size_, 0);
  data_ = std::exchange(other.data_, nullptr);
  data_size_ = std::exchange(other.data_size_, 0);
  names_ = std::move(other.names_);
  infos_ = std::move(other.infos_);
  metadata_ = std::move(other.metadata_);
  unused_bytes_ = std::exchange(other.unused_bytes_, 0);
  return *this;
}

void SafetensorsFile::release() noexcept {
  if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_size_);
  map_ = nullptr;
  map_size_ = 0;
  data_ = nullptr;
}

const SafetensorsTensorInfo& SafetensorsFile::info(const std::string& name) const {
  const auto it = infos_.find(name);
  if (it == infos_.end()) {
    constexpr size_t kShown = 5;
    std::vector<std::string> shown(names_.begin(),
                                   names_.begin() + std::min(names_.size(), kShown));
    file_fail(path_, "no tensor named '{}' (the file has {} tensors: {}{})", name, names_.size(),
              fmt::join(shown, ", "), names_.size() > kShown ? ", ..." : "");
  }
  return it->second;
}

Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsTensorInfo& meta = info(name);
  Tensor out = empty(meta.shape, TensorOptions{meta.dtype, Device::cpu()});
  const unsigned char* src = data_ + meta.data_begin;
  if (meta.dtype == DType::boolean) {
    // Any byte other than 0 or 1 would be an invalid C++ bool.
    const auto* bad = std::find_if(src, src + meta.nbytes(), [](unsigned char b) { return b > 1; });
    if (bad != src + meta.nbytes())
      file_fail(path_, "tensor '{}' of dtype BOOL has byte value {} at element {}, expected 0 or 1",
                name, *bad, bad - src);
  }
  if (meta.nbytes() > 0) std::memcpy(out.raw_data(), src, meta.nbytes());
  return out;
}

Tensor SafetensorsFile::load(const std::string& name, DType dtype) const {
  Tensor stored = load(name);
  if (stored.dtype() == dtype) return stored;
  Tensor out = empty(stored.shape(), TensorOptions{dtype, Device::cpu()});
  copy_(out, stored);
  return out;
}

std::map<std::string, Tensor> load_safetensors(const std::filesystem::path& path) {
  const SafetensorsFile file(path);
  std::map<std::string, Tensor> tensors;
  for (const std::string& name : file.names()) tensors.emplace(name, file.load(name));
  return tensors;
}

namespace {

// A temporary file that is removed unless commit() renamed it into place.
class TempFile {
 public:
  TempFile(std::filesystem::path target)
      : target_(std::move(target)),
        temp_(target_.string() + ".tmp-" + std::to_string(::getpid())),
        fd_(::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) {
    if (fd_.get() < 0)
      fail(kOp, "cannot save '{}': cannot create '{}': {}", target_.string(), temp_.string(),
           std::strerror(errno));
  }
  ~TempFile() {
    if (!committed_) ::unlink(temp_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write(const void* bytes, size_t n) {
    const auto* p = static_cast<const char*>(bytes);
    while (n > 0) {
      const ssize_t written = ::write(fd_.get(), p, n);
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) io_fail("cannot write");
      p += written;
      n -= static_cast<size_t>(written);
    }
  }

  // Flushes to disk before the rename, so a crash cannot leave a renamed but empty file.
  void commit() {
    if (::fsync(fd_.get()) != 0) io_fail("cannot sync");
    if (fd_.close() != 0) io_fail("cannot close");
    if (::rename(temp_.c_str(), target_.c_str()) != 0) io_fail("cannot rename over the target");
    committed_ = true;
  }

 private:
  [[noreturn]] void io_fail(std::string_view what) {
    fail(kOp, "cannot save '{}': {} '{}': {}", target_.string(), what, temp_.string(),
         std::strerror(errno));
  }

  std::filesystem::path target_;
  std::filesystem::path temp_;
  FileDescriptor fd_;
  bool committed_ = false;
};

}  // namespace

void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header[std::string(kMetadataKey)] = std::move(meta);
  }
  std::set<std::string_view> seen;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    KILN_CHECK(!name.empty(), kOp, "cannot save '{}': a tensor has an empty name", path.string());
    KILN_CHECK(name != kMetadataKey, kOp, "cannot save '{}': \"{}\" is reserved for metadata",
               path.string(), kMetadataKey);
    KILN_CHECK(seen.insert(name).second, kOp, "cannot save '{}': tensor name '{}' appears twice",
               path.string(), name);
    KILN_CHECK(tensor.defined(), kOp, "cannot save '{}': tensor '{}' is undefined", path.string(),
               name);
    const uint64_t nbytes = static_cast<uint64_t>(tensor.numel()) * dtype_size(tensor.dtype());
    Json entry = Json::object();
    entry["dtype"] = safetensors_dtype_name(tensor.dtype());
    entry["shape"] = tensor.shape();
    entry["data_offsets"] = Json::array({offset, offset + nbytes});
    header[name] = std::move(entry);
    offset += nbytes;
  }

  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception& e) {
    fail(kOp, "cannot save '{}': a tensor name or metadata string is not valid UTF-8 ({})",
         path.string(), e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  TempFile file(path);
  unsigned char length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  file.write(length, sizeof length);
  file.write(text.data(), text.size());
  for (const auto& [name, tensor] : tensors) {
    // One tensor at a time, so a CUDA model never needs a second full copy in host memory.
    const Tensor host = tensor.detach().to(Device::cpu()).contiguous();
    file.write(host.raw_data(), static_cast<size_t>(host.numel()) * dtype_size(host.dtype()));
  }
  file.commit();
}

}  // namespace kiln

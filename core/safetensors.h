#pragma once
// Reading and writing safetensors files, the weight format of Hugging Face: an 8-byte
// little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and byte
// range, then the raw little-endian data. The reader maps the file and validates the whole
// header when it opens, so a corrupt file fails early with a message naming the file and the
// tensor; the writer writes to a temporary file and renames it, so a failed save never leaves
// a half-written file behind. docs/formats.md lists what is checked.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/tensor.h"

namespace kiln {

// One tensor's entry in a safetensors header.
struct SafetensorsTensorInfo {
  DType dtype = DType::f32;
  Shape shape;
  // Byte range [data_begin, data_end) relative to the start of the data buffer.
  uint64_t data_begin = 0;
  uint64_t data_end = 0;

  uint64_t nbytes() const { return data_end - data_begin; }
};

// A safetensors file opened read-only with mmap: tensors are copied out of the mapping on
// load(), so a large checkpoint is read from disk once.
class SafetensorsFile {
 public:
  // Maps and validates `path`; throws kiln::Error naming the file and the problem.
  explicit SafetensorsFile(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Tensor names in the order of the header.
  const std::vector<std::string>& names() const { return names_; }
  bool contains(const std::string& name) const { return infos_.count(name) != 0; }
  // The optional "__metadata__" string map (empty when the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // dtype, shape and byte range of `name`; throws when the file has no such tensor.
  const SafetensorsTensorInfo& info(const std::string& name) const;
  // Bytes of the data buffer that no tensor covers. Hugging Face's reader rejects such files;
  // kiln accepts them (they are harmless padding) and reports the count here.
  uint64_t unused_bytes() const { return unused_bytes_; }

  // A fresh contiguous CPU tensor of the stored dtype holding `name`'s data.
  Tensor load(const std::string& name) const;
  // The same, converted to `dtype`.
  Tensor load(const std::string& name, DType dtype) const;

 private:
  void parse_header(uint64_t header_size);
  void release() noexcept;

  std::filesystem::path path_;
  const unsigned char* map_ = nullptr;
  size_t map_size_ = 0;
  const unsigned char* data_ = nullptr;  // start of the data buffer inside the mapping
  uint64_t data_size_ = 0;
  std::vector<std::string> names_;
  std::unordered_map<std::string, SafetensorsTensorInfo> infos_;
  std::map<std::string, std::string> metadata_;
  uint64_t unused_bytes_ = 0;
};

// Every tensor of `path`, loaded in its stored dtype.
std::map<std::string, Tensor> load_safetensors(const std::filesystem::path& path);

// Writes `tensors` (in the given order; names unique and non-empty) and `metadata` to `path`,
// replacing it atomically: the bytes go to "<path>.tmp-<pid>", which is renamed over `path`
// only when everything was written. CUDA tensors are copied to the host. The header is padded
// with spaces to a multiple of 8 bytes, as Hugging Face's writer does.
void save_safetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// The safetensors dtype string of a kiln dtype ("F32", "BF16", "BOOL", ...).
std::string_view safetensors_dtype_name(DType dtype);

}  // namespace kiln

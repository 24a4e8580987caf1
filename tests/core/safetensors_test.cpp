#include "core/safetensors.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/ops/shape.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// Every test writes into its own fresh directory under the GoogleTest temp dir.
class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(::testing::TempDir()) /
           ("kiln_safetensors_" + std::to_string(::getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path path(const std::string& name) const { return dir_ / name; }

  // The files in the test directory (to see that no temporary file was left behind).
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

std::string le_u64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[static_cast<size_t>(i)] = static_cast<char>(value >> (8 * i));
  return bytes;
}

// A safetensors file from its parts, with no padding added.
std::string file_bytes(const std::string& header, const std::string& data) {
  return le_u64(header.size()) + header + data;
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The raw bytes of a contiguous CPU tensor.
std::string tensor_bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  return std::string(static_cast<const char*>(c.raw_data()),
                     static_cast<size_t>(c.numel()) * dtype_size(c.dtype()));
}

// Opening `path` must throw a kiln::Error naming the file and containing `problem`.
void expect_open_error(const fs::path& path, const std::string& problem) {
  try {
    SafetensorsFile file(path);
    ADD_FAILURE() << "opening " << path << " did not throw; expected: " << problem;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("[safetensors]"), std::string::npos) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

// A file with one tensor entry "a" whose fields are given as JSON text, and `data` bytes.
void write_entry(const fs::path& path, const std::string& entry, size_t data = 16) {
  write_file(path, file_bytes(R"({"a":)" + entry + "}", std::string(data, '\0')));
}

TEST_F(Safetensors, RoundTripKeepsDtypesShapesValuesAndOrder) {
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"f32", from_vector<float>({1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f}, {2, 3})},
      {"f64", from_vector<double>({1.0 / 3.0, -1e300, 2.0, 4.5, 5.0, 6.0, 7.0}, {7})},
      {"bf16",
       from_vector<float>({1.0f, -2.0f, 0.5f, 3.0f, 0.125f, -8.0f}, {3, 1, 2}).to(DType::bf16)},
      {"f16", from_vector<float>({1.0f, -0.5f, 65504.0f, 0.25f}, {4}).to(DType::f16)},
      {"i32", from_vector<int32_t>({1, -2, 2147483647, -2147483647 - 1}, {2, 2})},
      {"i64", from_vector<int64_t>({int64_t{1} << 40, -3, 0}, {3})},
      {"u8", from_vector<uint8_t>({0, 1, 127, 200, 255}, {5})},
      {"bool", from_vector<uint8_t>({1, 0, 0, 1}, {2, 2}).to(DType::boolean)},
      {"scalar", full({}, 42.5)},
      {"empty", empty({0, 4})},
      {"empty_i64", empty({0}, TensorOptions{DType::i64})},
  };
  save_safetensors(path("m.safetensors"), tensors);
  EXPECT_EQ(listing(), std::vector<std::string>{"m.safetensors"});

  const SafetensorsFile file(path("m.safetensors"));
  std::vector<std::string> expected_names;
  for (const auto& [name, t] : tensors) expected_names.push_back(name);
  EXPECT_EQ(file.names(), expected_names);
  EXPECT_TRUE(file.metadata().empty());
  EXPECT_EQ(file.unused_bytes(), 0u);
  for (const auto& [name, t] : tensors) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(file.contains(name));
    EXPECT_EQ(file.info(name).dtype, t.dtype());
    EXPECT_EQ(file.info(name).shape, t.shape());
    const Tensor loaded = file.load(name);
    EXPECT_TRUE(loaded.device().is_cpu());
    EXPECT_EQ(loaded.dtype(), t.dtype());
    EXPECT_EQ(loaded.shape(), t.shape());
    EXPECT_TRUE(loaded.is_contiguous());
    EXPECT_FALSE(loaded.storage() == t.storage());
    EXPECT_EQ(tensor_bytes(loaded), tensor_bytes(t));
    EXPECT_EQ(loaded.to_vector<double>(), t.to_vector<double>());
  }
  EXPECT_DOUBLE_EQ(file.load("scalar").item(), 42.5);
  EXPECT_EQ(file.load("bool").to_vector<uint8_t>(), (std::vector<uint8_t>{1, 0, 0, 1}));
}

TEST_F(Safetensors, SavesViewsAsContiguousData) {
  const Tensor base = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor transposed = transpose(base, 0, 1);
  const Tensor column = slice(base, 1, 1, 2);
  save_safetensors(path("v.safetensors"), {{"t", transposed}, {"c", column}});
  const SafetensorsFile file(path("v.safetensors"));
  EXPECT_EQ(file.info("t").shape, (Shape{3, 2}));
  EXPECT_EQ(file.load("t").to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(file.load("c").to_vector<float>(), (std::vector<float>{2, 5}));
  EXPECT_EQ(file.info("c").nbytes(), 8u);
}

TEST_F(Safetensors, MetadataRoundTrips) {
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"step", "1200"}, {"note", "caf\xc3\xa9 \"quoted\"\n"}, {"empty", ""}};
  save_safetensors(path("m.safetensors"), {{"w", ones({2})}}, metadata);
  const SafetensorsFile file(path("m.safetensors"));
  EXPECT_EQ(file.metadata(), metadata);
  EXPECT_EQ(file.names(), std::vector<std::string>{"w"});
}

TEST_F(Safetensors, WritesTheExactHuggingFaceLayout) {
  save_safetensors(path("tiny.safetensors"),
                   {{"b", from_vector<float>({1.0f, 2.0f}, {2})},
                    {"a", from_vector<int64_t>({7}, {})},
                    {"e", empty({0, 3}, TensorOptions{DType::f16})},
                    {"m", from_vector<uint8_t>({1, 0, 1}, {3}).to(DType::boolean)}},
                   {{"k", "v"}});
  // Header: compact JSON, metadata first, tensors in the order given, padded with spaces.
  std::string header = R"({"__metadata__":{"k":"v"},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("a":{"dtype":"I64","shape":[],"data_offsets":[8,16]},)"
                       R"("e":{"dtype":"F16","shape":[0,3],"data_offsets":[16,16]},)"
                       R"("m":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]}})";
  ASSERT_EQ(header.size(), 245u);
  header += std::string(3, ' ');
  const std::string data = std::string("\x00\x00\x80\x3f", 4) +    // 1.0f
                           std::string("\x00\x00\x00\x40", 4) +    // 2.0f
                           std::string("\x07\0\0\0\0\0\0\0", 8) +  // int64 7
                           std::string("\x01\x00\x01", 3);         // bools
  const std::string expected = std::string("\xf8\0\0\0\0\0\0\0", 8) + header + data;
  EXPECT_EQ(read_file(path("tiny.safetensors")), expected);
}

TEST_F(Safetensors, LoadConvertsToTheRequestedDtype) {
  save_safetensors(path("c.safetensors"),
                   {{"x", from_vector<float>({0.5f, -1.25f, 3.0f}, {3}).to(DType::bf16)},
                    {"i", from_vector<int32_t>({3, -4}, {2})}});
  const SafetensorsFile file(path("c.safetensors"));
  const Tensor x = file.load("x", DType::f64);
  EXPECT_EQ(x.dtype(), DType::f64);
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{0.5, -1.25, 3.0}));
  EXPECT_EQ(file.load("x", DType::bf16).dtype(), DType::bf16);
  const Tensor i = file.load("i", DType::f32);
  EXPECT_EQ(i.to_vector<float>(), (std::vector<float>{3.0f, -4.0f}));
}

TEST_F(Safetensors, LoadSafetensorsReturnsEveryTensor) {
  save_safetensors(path("all.safetensors"), {{"z", zeros({2, 2})}, {"o", ones({3})}});
  const std::map<std::string, Tensor> tensors = load_safetensors(path("all.safetensors"));
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors.at("z").shape(), (Shape{2, 2}));
  EXPECT_EQ(tensors.at("o").to_vector<float>(), (std::vector<float>{1, 1, 1}));
}

TEST_F(Safetensors, MissingTensorNameIsAnError) {
  save_safetensors(path("n.safetensors"), {{"weight", ones({1})}});
  const SafetensorsFile file(path("n.safetensors"));
  try {
    file.load("bias");
    ADD_FAILURE() << "load of a missing tensor did not throw";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path("n.safetensors").string()), std::string::npos) << message;
    EXPECT_NE(message.find("no tensor named 'bias'"), std::string::npos) << message;
    EXPECT_NE(message.find("weight"), std::string::npos) << message;
  }
  EXPECT_FALSE(file.contains("bias"));
}

TEST_F(Safetensors, SafetensorsFileMoves) {
  save_safetensors(path("mv.safetensors"), {{"w", full({2}, 3.0)}});
  SafetensorsFile a(path("mv.safetensors"));
  SafetensorsFile b(std::move(a));
  EXPECT_EQ(b.load("w").to_vector<float>(), (std::vector<float>{3, 3}));
  save_safetensors(path("mv2.safetensors"), {{"u", full({1}, 5.0)}});
  SafetensorsFile c(path("mv2.safetensors"));
  c = std::move(b);
  EXPECT_EQ(c.names(), std::vector<std::string>{"w"});
  EXPECT_EQ(c.load("w").to_vector<float>(), (std::vector<float>{3, 3}));
}

TEST_F(Safetensors, SaveReplacesAnExistingFile) {
  save_safetensors(path("r.safetensors"), {{"old", ones({100})}});
  save_safetensors(path("r.safetensors"), {{"new", zeros({1})}});
  const SafetensorsFile file(path("r.safetensors"));
  EXPECT_EQ(file.names(), std::vector<std::string>{"new"});
  EXPECT_EQ(listing(), std::vector<std::string>{"r.safetensors"});
}

TEST_F(Safetensors, ReadsUnpaddedHeadersAndUncoveredBytes) {
  // Other writers need not pad the header, and may leave gaps in the data buffer.
  const std::string header = R"({"a":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},)"
                             R"("b":{"dtype":"U8","shape":[2],"data_offsets":[10,12]}})";
  ASSERT_NE(header.size() % 8, 0u);
  write_file(path("gap.safetensors"),
             file_bytes(header, std::string("\xff\xff\xff\xff\x05\0\0\0\xee\xee\x09\x0a", 12)));
  const SafetensorsFile file(path("gap.safetensors"));
  EXPECT_EQ(file.unused_bytes(), 6u);
  EXPECT_EQ(file.load("a").to_vector<int32_t>(), std::vector<int32_t>{5});
  EXPECT_EQ(file.load("b").to_vector<uint8_t>(), (std::vector<uint8_t>{9, 10}));
}

TEST_F(Safetensors, EmptyTensorsMayPointAnywhereInTheBuffer) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
  write_file(path("e.safetensors"), file_bytes(header, std::string(8, '\0')));
  const SafetensorsFile file(path("e.safetensors"));
  EXPECT_EQ(file.load("e").numel(), 0);
}

// ---- corrupt files: one test per check ----

TEST_F(Safetensors, RejectsAMissingFile) {
  expect_open_error(path("absent.safetensors"), "cannot open");
}

TEST_F(Safetensors, RejectsADirectory) {
  fs::create_directory(path("dir.safetensors"));
  expect_open_error(path("dir.safetensors"), "not a regular file");
}

TEST_F(Safetensors, RejectsAFileShorterThanTheLengthField) {
  write_file(path("short.safetensors"), "abc");
  expect_open_error(path("short.safetensors"), "shorter than the 8-byte header length");
  write_file(path("zero.safetensors"), "");
  expect_open_error(path("zero.safetensors"), "file is 0 bytes");
}

TEST_F(Safetensors, RejectsAHeaderLengthBeyondTheFile) {
  write_file(path("long.safetensors"), le_u64(1000) + "{}");
  expect_open_error(path("long.safetensors"), "header length 1000 runs past the end of the file");
  write_file(path("huge.safetensors"), le_u64(~uint64_t{0}) + "{}");
  expect_open_error(path("huge.safetensors"), "runs past the end of the file");
}

TEST_F(Safetensors, RejectsAZeroHeaderLength) {
  write_file(path("z.safetensors"), le_u64(0) + "{}");
  expect_open_error(path("z.safetensors"), "header length is 0");
}

TEST_F(Safetensors, RejectsAHeaderThatIsNotJson) {
  write_file(path("bad.safetensors"), file_bytes(R"({"a": {"dtype": "F32",)", ""));
  expect_open_error(path("bad.safetensors"), "header is not valid JSON");
  write_file(path("utf8.safetensors"), file_bytes("{\"\xff\":{}}", ""));
  expect_open_error(path("utf8.safetensors"), "header is not valid JSON");
}

TEST_F(Safetensors, RejectsAHeaderThatIsNotAnObject) {
  write_file(path("arr.safetensors"), file_bytes("[1, 2]", ""));
  expect_open_error(path("arr.safetensors"), "header is a JSON array, expected an object");
}

TEST_F(Safetensors, RejectsAnEntryThatIsNotAnObject) {
  write_entry(path("e.safetensors"), "3");
  expect_open_error(path("e.safetensors"), "tensor 'a' entry is a JSON number");
}

TEST_F(Safetensors, RejectsEntriesWithMissingFields) {
  write_entry(path("d.safetensors"), R"({"shape":[4],"data_offsets":[0,16]})");
  expect_open_error(path("d.safetensors"), "tensor 'a' entry has no \"dtype\" field");
  write_entry(path("s.safetensors"), R"({"dtype":"F32","data_offsets":[0,16]})");
  expect_open_error(path("s.safetensors"), "tensor 'a' entry has no \"shape\" field");
  write_entry(path("o.safetensors"), R"({"dtype":"F32","shape":[4]})");
  expect_open_error(path("o.safetensors"), "tensor 'a' entry has no \"data_offsets\" field");
}

TEST_F(Safetensors, RejectsFieldsOfTheWrongType) {
  write_entry(path("d.safetensors"), R"({"dtype":32,"shape":[4],"data_offsets":[0,16]})");
  expect_open_error(path("d.safetensors"), "tensor 'a' has \"dtype\" 32, expected a string");
  write_entry(path("s.safetensors"), R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})");
  expect_open_error(path("s.safetensors"), "tensor 'a' has \"shape\" 4, expected an array");
  write_entry(path("f.safetensors"), R"({"dtype":"F32","shape":[4.0],"data_offsets":[0,16]})");
  expect_open_error(path("f.safetensors"), "expected non-negative integer sizes");
  write_entry(path("o.safetensors"), R"({"dtype":"F32","shape":[4],"data_offsets":[16]})");
  expect_open_error(path("o.safetensors"), "tensor 'a' has \"data_offsets\" [16], expected");
  write_entry(path("q.safetensors"), R"({"dtype":"F32","shape":[4],"data_offsets":["0",16]})");
  expect_open_error(path("q.safetensors"), "expected [begin, end] with non-negative integers");
  write_entry(path("n.safetensors"), R"({"dtype":"F32","shape":[4],"data_offsets":[-1,15]})");
  expect_open_error(path("n.safetensors"), "expected [begin, end] with non-negative integers");
}

TEST_F(Safetensors, RejectsUnknownAndUnsupportedDtypes) {
  write_entry(path("q.safetensors"), R"({"dtype":"Q7","shape":[4],"data_offsets":[0,16]})");
  expect_open_error(path("q.safetensors"), "unknown dtype \"Q7\" for tensor 'a'");
  write_entry(path("f.safetensors"), R"({"dtype":"f32","shape":[4],"data_offsets":[0,16]})");
  expect_open_error(path("f.safetensors"), "unknown dtype \"f32\" for tensor 'a'");
  write_entry(path("i8.safetensors"), R"({"dtype":"I8","shape":[4],"data_offsets":[0,4]})");
  expect_open_error(path("i8.safetensors"), "unsupported dtype I8 for tensor 'a'");
  write_entry(path("f8.safetensors"), R"({"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]})");
  expect_open_error(path("f8.safetensors"), "unsupported dtype F8_E4M3 for tensor 'a'");
}

TEST_F(Safetensors, RejectsNegativeDims) {
  write_entry(path("n.safetensors"), R"({"dtype":"F32","shape":[2,-2],"data_offsets":[0,16]})");
  expect_open_error(path("n.safetensors"), "tensor 'a' has shape [2,-2] with a negative dim");
}

TEST_F(Safetensors, RejectsASizeThatDisagreesWithTheOffsets) {
  write_entry(path("m.safetensors"), R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,12]})");
  expect_open_error(path("m.safetensors"),
                    "tensor 'a' of shape [2, 2] and dtype F32 needs 16 bytes, but data_offsets "
                    "[0, 12] hold 12");
  write_entry(path("b.safetensors"),
              R"({"dtype":"F64","shape":[4294967296,1073741824],"data_offsets":[0,16]})");
  expect_open_error(path("b.safetensors"), "needs more than 2^64 bytes");
  // kiln multiplies dims in int64, so even an empty tensor may not have huge leading dims.
  write_entry(path("e.safetensors"),
              R"({"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]})");
  expect_open_error(path("e.safetensors"),
                    "tensor 'a' has shape [4294967296,4294967296,0] with "
                    "more than 2^63 elements");
}

TEST_F(Safetensors, RejectsOffsetsOutsideTheDataBuffer) {
  write_entry(path("o.safetensors"), R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})", 15);
  expect_open_error(path("o.safetensors"),
                    "tensor 'a' has data_offsets [0, 16] outside the data buffer of 15 bytes");
}

TEST_F(Safetensors, RejectsBeginAfterEnd) {
  write_entry(path("b.safetensors"), R"({"dtype":"F32","shape":[1],"data_offsets":[8,4]})");
  expect_open_error(path("b.safetensors"), "tensor 'a' has data_offsets [8, 4] with begin > end");
}

TEST_F(Safetensors, RejectsOverlappingTensors) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},)"
                             R"("b":{"dtype":"U8","shape":[1],"data_offsets":[20,21]},)"
                             R"("c":{"dtype":"I32","shape":[1],"data_offsets":[12,16]}})";
  write_file(path("o.safetensors"), file_bytes(header, std::string(24, '\0')));
  expect_open_error(path("o.safetensors"),
                    "tensors 'a' [0, 16) and 'c' [12, 16) have overlapping data");
  // An overlap hidden behind a short tensor inside a long one.
  const std::string nested = R"({"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},)"
                             R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                             R"("c":{"dtype":"U8","shape":[2],"data_offsets":[8,10]}})";
  write_file(path("n.safetensors"), file_bytes(nested, std::string(16, '\0')));
  expect_open_error(path("n.safetensors"), "have overlapping data");
}

TEST_F(Safetensors, RejectsDuplicateNames) {
  // JSON parsers commonly keep the last of two equal keys; kiln refuses the file instead.
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})";
  write_file(path("d.safetensors"), file_bytes(header, std::string(8, '\0')));
  expect_open_error(path("d.safetensors"), "header has the key \"a\" twice");
  write_entry(path("f.safetensors"),
              R"({"dtype":"F32","dtype":"I32","shape":[4],"data_offsets":[0,16]})");
  expect_open_error(path("f.safetensors"), "header has the key \"dtype\" twice");
}

TEST_F(Safetensors, RejectsMalformedMetadata) {
  write_file(path("m.safetensors"), file_bytes(R"({"__metadata__":["x"]})", ""));
  expect_open_error(path("m.safetensors"), "\"__metadata__\" is a JSON array");
  write_file(path("v.safetensors"), file_bytes(R"({"__metadata__":{"step":12}})", ""));
  expect_open_error(path("v.safetensors"),
                    "\"__metadata__\" value of key \"step\" is a JSON number, expected a string");
}

TEST_F(Safetensors, RejectsBoolBytesOtherThanZeroAndOne) {
  write_file(path("b.safetensors"),
             file_bytes(R"({"a":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})",
                        std::string("\x01\x00\x02", 3)));
  const SafetensorsFile file(path("b.safetensors"));
  try {
    file.load("a");
    ADD_FAILURE() << "load of a bool byte 2 did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte value 2 at element 2"), std::string::npos)
        << e.what();
  }
}

// ---- saving ----

// save_safetensors must throw a kiln::Error naming the file and leave nothing behind.
void expect_save_error(const fs::path& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::string& problem) {
  try {
    save_safetensors(path, tensors);
    ADD_FAILURE() << "saving " << path << " did not throw; expected: " << problem;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

TEST_F(Safetensors, FailedSaveIntoAMissingDirectoryLeavesNothing) {
  const fs::path target = path("no_such_dir") / "m.safetensors";
  expect_save_error(target, {{"w", ones({2})}}, "No such file or directory");
  EXPECT_FALSE(fs::exists(target));
  EXPECT_TRUE(listing().empty());
}

TEST_F(Safetensors, FailedRenameRemovesTheTemporaryFile) {
  // A non-empty directory in the way: every byte is written, then the rename fails.
  fs::create_directories(path("taken") / "inside");
  expect_save_error(path("taken"), {{"w", ones({2})}}, "cannot rename");
  EXPECT_EQ(listing(), std::vector<std::string>{"taken"});
}

TEST_F(Safetensors, FailedWriteRemovesTheTemporaryFile) {
  // A file size limit makes write() fail part way through the data (EFBIG instead of SIGXFSZ
  // while the signal is ignored).
  rlimit old_limit{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  rlimit small = old_limit;
  small.rlim_cur = 4096;
  const auto old_handler = signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  try {
    save_safetensors(path("big.safetensors"), {{"w", ones({4096})}});
    ADD_FAILURE() << "save beyond the file size limit did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write"), std::string::npos) << e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  EXPECT_TRUE(listing().empty());
}

TEST_F(Safetensors, SaveRejectsBadNames) {
  expect_save_error(path("d.safetensors"), {{"w", ones({1})}, {"w", ones({2})}},
                    "tensor name 'w' appears twice");
  expect_save_error(path("m.safetensors"), {{"__metadata__", ones({1})}}, "reserved for metadata");
  expect_save_error(path("e.safetensors"), {{"", ones({1})}}, "empty name");
  expect_save_error(path("u.safetensors"), {{"w", Tensor()}}, "tensor 'w' is undefined");
  expect_save_error(path("x.safetensors"), {{"\xff", ones({1})}}, "not valid UTF-8");
  EXPECT_TRUE(listing().empty());
}

TEST_F(Safetensors, SavesAnEmptyFile) {
  save_safetensors(path("none.safetensors"), {});
  EXPECT_EQ(read_file(path("none.safetensors")), le_u64(8) + "{}      ");
  const SafetensorsFile file(path("none.safetensors"));
  EXPECT_TRUE(file.names().empty());
}

// ---- a real Hugging Face file, when the shared data is at hand ----

TEST_F(Safetensors, ReadsTinyRandomGpt2) {
  const fs::path model = fs::path(__FILE__).parent_path().parent_path().parent_path() / ".." /
                         "shared" / "data" / "tiny-random-gpt2" / "model.safetensors";
  if (!fs::exists(model)) GTEST_SKIP() << model << " is absent";
  const SafetensorsFile file(model);
  EXPECT_EQ(file.names().size(), 64u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.unused_bytes(), 0u);
  const SafetensorsTensorInfo& wte = file.info("transformer.wte.weight");
  EXPECT_EQ(wte.dtype, DType::f32);
  EXPECT_EQ(wte.shape, (Shape{1000, 32}));
  const Tensor weight = file.load("transformer.wte.weight");
  EXPECT_EQ(weight.shape(), (Shape{1000, 32}));

  // Every tensor survives a save and reload byte for byte.
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : file.names()) tensors.emplace_back(name, file.load(name));
  save_safetensors(path("copy.safetensors"), tensors, file.metadata());
  const SafetensorsFile copy(path("copy.safetensors"));
  EXPECT_EQ(copy.names(), file.names());
  for (const auto& [name, t] : tensors) EXPECT_EQ(tensor_bytes(copy.load(name)), tensor_bytes(t));
}

}  // namespace
}  // namespace kiln

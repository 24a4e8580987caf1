#include "train/data_loader.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/philox.h"

namespace kiln::train {

namespace {

constexpr std::string_view kOp = "data_loader";

void check_options(const DataLoaderOptions& options) {
  KILN_CHECK(options.block_size > 0, kOp, "block_size must be positive, got {}",
             options.block_size);
  KILN_CHECK(options.batch_size > 0, kOp, "batch_size must be positive, got {}",
             options.batch_size);
  KILN_CHECK(options.world_size > 0, kOp, "world_size must be positive, got {}",
             options.world_size);
  KILN_CHECK(options.rank >= 0 && options.rank < options.world_size, kOp,
             "rank {} is outside [0, {}) (world_size {})", options.rank, options.world_size,
             options.world_size);
}

// Whether `name` (a file name without its .bin) has `split` as one of its '_'-separated parts.
bool names_split(std::string_view name, std::string_view split) {
  while (true) {
    const size_t end = name.find('_');
    if (name.substr(0, end) == split) return true;
    if (end == std::string_view::npos) return false;
    name.remove_prefix(end + 1);
  }
}

template <typename T>
T field(const nlohmann::json& json, const char* key) {
  KILN_CHECK(json.is_object(), kOp, "data loader state must be a JSON object, got {}",
             json.type_name());
  const auto it = json.find(key);
  KILN_CHECK(it != json.end(), kOp, "data loader state has no '{}'", key);
  const bool ok = std::is_unsigned_v<T> ? it->is_number_unsigned() : it->is_number_integer();
  KILN_CHECK(ok, kOp, "data loader state '{}' must be {} integer, got {}", key,
             std::is_unsigned_v<T> ? "a non-negative" : "an", it->dump());
  return it->get<T>();
}

}  // namespace

void to_json(nlohmann::json& json, const DataLoaderState& state) {
  json = nlohmann::json{{"seed", state.seed},
                        {"offset", state.offset},
                        {"position", state.position},
                        {"epoch", state.epoch}};
}

void from_json(const nlohmann::json& json, DataLoaderState& state) {
  state.seed = field<uint64_t>(json, "seed");
  state.offset = field<uint64_t>(json, "offset");
  state.position = field<int64_t>(json, "position");
  state.epoch = field<int64_t>(json, "epoch");
}

std::vector<std::filesystem::path> find_shards(const std::filesystem::path& dir,
                                               std::string_view split) {
  KILN_CHECK(!split.empty(), kOp, "empty split name (expected e.g. \"train\" or \"val\")");
  std::error_code error;
  KILN_CHECK(std::filesystem::is_directory(dir, error), kOp, "shard directory {} {}", dir.string(),
             std::filesystem::exists(dir, error) ? "is not a directory" : "does not exist");
  std::vector<std::filesystem::path> shards;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto& path = entry.path();
    if (path.extension() == ".bin" && entry.is_regular_file() &&
        names_split(path.stem().string(), split))
      shards.push_back(path);
  }
  KILN_CHECK(!shards.empty(), kOp,
             "no {} shards in {} (expected {}_000000.bin, ... as `kiln prepare` writes them, or "
             "llm.c's *_{}_*.bin)",
             split, dir.string(), split, split);
  std::sort(shards.begin(), shards.end());
  return shards;
}

TokenDataLoader::TokenDataLoader(const std::vector<std::filesystem::path>& shards,
                                 DataLoaderOptions options)
    : options_(options), generator_(options.seed) {
  check_options(options_);
  KILN_CHECK(!shards.empty(), kOp, "no shards given");
  for (const auto& path : shards) {
    shards_.emplace_back(path);
    const int64_t size = shards_.back().size();
    KILN_CHECK(size > options_.block_size, kOp,
               "shard {} has {} tokens, too few for one window of block_size + 1 = {} tokens",
               path.string(), size, options_.block_size + 1);
    sources_.push_back({static_cast<int64_t>(shards_.size()) - 1, size});
  }
  init();
}

TokenDataLoader::TokenDataLoader(std::vector<int64_t> tokens, DataLoaderOptions options)
    : options_(options), memory_(std::move(tokens)), generator_(options.seed) {
  check_options(options_);
  const auto size = static_cast<int64_t>(memory_.size());
  KILN_CHECK(size > options_.block_size, kOp,
             "the token stream has {} tokens, too few for one window of block_size + 1 = {} "
             "tokens",
             size, options_.block_size + 1);
  const auto negative =
      std::find_if(memory_.begin(), memory_.end(), [](int64_t t) { return t < 0; });
  KILN_CHECK(negative == memory_.end(), kOp, "token {} at position {} is negative", *negative,
             negative - memory_.begin());
  sources_.push_back({-1, size});
  init();
}

void TokenDataLoader::init() {
  int64_t total = 0;
  for (const auto& source : sources_) {
    // Starts s with s + block_size + 1 <= size: every one (random), or multiples of block_size.
    const int64_t starts = source.size - options_.block_size;
    total += options_.random ? starts : (starts - 1) / options_.block_size + 1;
    window_ends_.push_back(total);
  }
}

int64_t TokenDataLoader::num_tokens() const {
  int64_t total = 0;
  for (const auto& source : sources_) total += source.size;
  return total;
}

void TokenDataLoader::read_window(int64_t index, int64_t* out) const {
  const auto it = std::upper_bound(window_ends_.begin(), window_ends_.end(), index);
  const auto s = static_cast<size_t>(it - window_ends_.begin());
  const int64_t within = index - (s == 0 ? 0 : window_ends_[s - 1]);
  const int64_t start = options_.random ? within : within * options_.block_size;
  const int64_t count = options_.block_size + 1;
  const Source& source = sources_[s];
  if (source.shard < 0) {
    std::memcpy(out, memory_.data() + start, static_cast<size_t>(count) * sizeof(int64_t));
  } else {
    shards_[static_cast<size_t>(source.shard)].read(start, count, out);
  }
}

Batch TokenDataLoader::next() {
  const int64_t batch = options_.batch_size, block = options_.block_size;
  const int64_t world = options_.world_size, rank = options_.rank;
  const int64_t windows = num_windows();
  Batch out{kiln::empty({batch, block}, TensorOptions{DType::i64}),
            kiln::empty({batch, block}, TensorOptions{DType::i64})};
  int64_t* x = out.x.data<int64_t>();
  int64_t* y = out.y.data<int64_t>();
  std::vector<int64_t> window(static_cast<size_t>(block + 1));

  const uint64_t first =
      options_.random ? generator_.advance(static_cast<uint64_t>(world * batch)) : 0;
  for (int64_t i = 0; i < batch; ++i) {
    const int64_t slot = i * world + rank;
    int64_t index;
    if (options_.random) {
      const kernels::PhiloxOutput r =
          kernels::philox4x32(generator_.seed(), first + static_cast<uint64_t>(slot));
      const uint64_t bits = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
      index = static_cast<int64_t>(bits % static_cast<uint64_t>(windows));
    } else {
      index = (position_ + slot) % windows;
    }
    read_window(index, window.data());
    std::copy(window.begin(), window.end() - 1, x + i * block);
    std::copy(window.begin() + 1, window.end(), y + i * block);
  }
  if (!options_.random) {
    const int64_t advanced = position_ + world * batch;
    epoch_ += advanced / windows;
    position_ = advanced % windows;
  }
  return out;
}

DataLoaderState TokenDataLoader::state() const {
  return {generator_.seed(), generator_.offset(), position_, epoch_};
}

void TokenDataLoader::set_state(const DataLoaderState& state) {
  KILN_CHECK(state.position >= 0 && state.position < num_windows(), kOp,
             "state position {} is outside the {} windows of this data", state.position,
             num_windows());
  KILN_CHECK(state.epoch >= 0, kOp, "state epoch {} is negative", state.epoch);
  generator_.set_state(state.seed, state.offset);
  position_ = state.position;
  epoch_ = state.epoch;
}

}  // namespace kiln::train

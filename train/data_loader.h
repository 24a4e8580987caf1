#pragma once
// Batches of (x, y) for causal-LM training from token shards (text/shards.h) or from tokens in
// memory. A window is block_size + 1 consecutive tokens of one shard (x its first block_size, y
// its last block_size); windows never cross a shard boundary, because consecutive shards need
// not be consecutive text (llm.c's and kiln's shards are cut at arbitrary token counts).
//
// Random mode draws each window start uniformly among all windows of all shards (so a shard is
// picked in proportion to its windows): one Philox number per window, from a kiln::Generator
// seeded with `seed`. A step of the whole job draws world_size * batch_size numbers, and row i
// of rank r takes number i * world_size + r, so ranks read different draws and a job of N
// ranks sees exactly the windows one rank with batch N * batch_size would.
//
// Sequential mode walks the windows in order: shard by shard, starts 0, block_size, 2 *
// block_size, ... (the x parts tile the shard; a tail shorter than a window is skipped). Row i
// of rank r at a step takes window position + i * world_size + r; after the last window the
// walk wraps to the first and the epoch counter advances.
//
// state() / set_state() save and restore the position, so a resumed run gets exactly the
// batches the uninterrupted run would have had.
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "text/shards.h"

namespace kiln::train {

struct DataLoaderOptions {
  int64_t block_size = 0;
  int64_t batch_size = 0;
  bool random = true;
  uint64_t seed = 0;
  int64_t rank = 0;
  int64_t world_size = 1;
};

struct Batch {
  Tensor x;  // i64 [batch_size, block_size], CPU
  Tensor y;  // x shifted left by one token
};

struct DataLoaderState {
  uint64_t seed = 0;
  uint64_t offset = 0;   // the generator's Philox counter (random mode)
  int64_t position = 0;  // the next window of the walk (sequential mode)
  int64_t epoch = 0;     // completed walks over all windows (sequential mode)
};

// {"seed": ..., "offset": ..., "position": ..., "epoch": ...}; from_json raises kiln::Error
// naming a missing or mistyped field.
void to_json(nlohmann::json& json, const DataLoaderState& state);
void from_json(const nlohmann::json& json, DataLoaderState& state);

// The shards of a split in dir, sorted by name: the *.bin files whose name, split at '_', has a
// part equal to `split` ("train_000000.bin" from kiln prepare, "fineweb_val_000000.bin" and
// "tiny_shakespeare_train.bin" from llm.c's scripts). None is a kiln::Error.
std::vector<std::filesystem::path> find_shards(const std::filesystem::path& dir,
                                               std::string_view split);

class TokenDataLoader {
 public:
  // Every shard must hold at least block_size + 1 tokens; a kiln::Error names one that does not.
  TokenDataLoader(const std::vector<std::filesystem::path>& shards, DataLoaderOptions options);
  // One in-memory stream of tokens (synthetic tasks, tests), sampled as a single shard.
  TokenDataLoader(std::vector<int64_t> tokens, DataLoaderOptions options);

  Batch next();

  DataLoaderState state() const;
  // A position outside the walk is a kiln::Error.
  void set_state(const DataLoaderState& state);

  const DataLoaderOptions& options() const { return options_; }
  int64_t num_tokens() const;
  // Windows to draw from: all starts (random mode) or the walk's length (sequential mode).
  int64_t num_windows() const { return window_ends_.empty() ? 0 : window_ends_.back(); }

 private:
  struct Source {
    int64_t shard;  // index into shards_, -1 for the in-memory stream
    int64_t size;
  };

  void init();
  // Window `index` of all windows (in the current mode) -> its tokens.
  void read_window(int64_t index, int64_t* out) const;

  DataLoaderOptions options_;
  std::vector<ShardReader> shards_;
  std::vector<int64_t> memory_;
  std::vector<Source> sources_;
  std::vector<int64_t> window_ends_;  // prefix sums of each source's windows
  Generator generator_;
  int64_t position_ = 0;
  int64_t epoch_ = 0;
};

}  // namespace kiln::train

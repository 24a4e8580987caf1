#include "train/data_loader.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/shards.h"

namespace kiln::train {
namespace {

using Rows = std::vector<std::vector<int64_t>>;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no kiln::Error)";
}

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("kiln_train_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::vector<int64_t> iota(int64_t n, int64_t first = 0) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

Rows rows(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DType::i64);
  EXPECT_EQ(t.dim(), 2);
  const int64_t* data = t.data<int64_t>();
  Rows out;
  for (int64_t i = 0; i < t.size(0); ++i)
    out.emplace_back(data + i * t.size(1), data + (i + 1) * t.size(1));
  return out;
}

// The first x token of each row: with tokens equal to their positions, the window's start.
std::vector<int64_t> starts(const Batch& batch) {
  std::vector<int64_t> out;
  for (const auto& row : rows(batch.x)) out.push_back(row[0]);
  return out;
}

DataLoaderOptions options(int64_t block, int64_t batch, bool random, uint64_t seed = 1,
                          int64_t rank = 0, int64_t world = 1) {
  return {block, batch, random, seed, rank, world};
}

TEST(DataLoader, YIsXShiftedByOne) {
  for (bool random : {true, false}) {
    TokenDataLoader loader(iota(1000), options(16, 4, random));
    for (int step = 0; step < 5; ++step) {
      const Batch batch = loader.next();
      EXPECT_EQ(batch.x.shape(), (Shape{4, 16}));
      EXPECT_EQ(batch.y.shape(), (Shape{4, 16}));
      const Rows x = rows(batch.x), y = rows(batch.y);
      for (size_t i = 0; i < x.size(); ++i) {
        // Tokens are their own positions: a window is consecutive, y one ahead of x.
        EXPECT_EQ(x[i], iota(16, x[i][0]));
        EXPECT_EQ(y[i], iota(16, x[i][0] + 1));
      }
    }
  }
}

TEST(DataLoader, RandomIsReproducibleBySeed) {
  TokenDataLoader a(iota(5000), options(8, 4, true, 42));
  TokenDataLoader b(iota(5000), options(8, 4, true, 42));
  TokenDataLoader c(iota(5000), options(8, 4, true, 43));
  bool differs = false;
  for (int step = 0; step < 10; ++step) {
    const auto sa = starts(a.next());
    EXPECT_EQ(sa, starts(b.next()));
    differs |= sa != starts(c.next());
  }
  EXPECT_TRUE(differs);
}

TEST(DataLoader, RandomDrawsEveryStartAndNoOther) {
  // 20 tokens, block 4: windows start at 0..15.
  TokenDataLoader loader(iota(20), options(4, 8, true, 3));
  std::set<int64_t> seen;
  for (int step = 0; step < 100; ++step) {
    for (int64_t s : starts(loader.next())) seen.insert(s);
  }
  const std::vector<int64_t> all = iota(16);
  EXPECT_EQ(seen, std::set<int64_t>(all.begin(), all.end()));
  EXPECT_EQ(loader.num_windows(), 16);
}

TEST(DataLoader, StateRestoreContinuesIdentically) {
  for (bool random : {true, false}) {
    TokenDataLoader original(iota(300), options(7, 3, random, 9));
    for (int step = 0; step < 17; ++step) original.next();  // the walk wraps at least once
    // Through JSON, as the trainer's checkpoint stores it.
    const std::string saved = nlohmann::json(original.state()).dump();
    Rows expected;
    for (int step = 0; step < 20; ++step) {
      const Rows x = rows(original.next().x);
      expected.insert(expected.end(), x.begin(), x.end());
    }

    TokenDataLoader resumed(iota(300), options(7, 3, random, 12345));
    resumed.set_state(nlohmann::json::parse(saved).get<DataLoaderState>());
    Rows got;
    for (int step = 0; step < 20; ++step) {
      const Rows x = rows(resumed.next().x);
      got.insert(got.end(), x.begin(), x.end());
    }
    EXPECT_EQ(got, expected) << (random ? "random" : "sequential");
    EXPECT_EQ(resumed.state().seed, 9u);
    if (!random) {
      EXPECT_GE(original.state().epoch, 1);
    }
  }
}

TEST(DataLoader, StateJsonFields) {
  const DataLoaderState state{7, 123, 4, 2};
  const nlohmann::json json = state;
  EXPECT_EQ(json,
            nlohmann::json::parse(R"({"seed": 7, "offset": 123, "position": 4, "epoch": 2})"));
  const auto bad = [](const char* text) {
    return error_of([&] { nlohmann::json::parse(text).get<DataLoaderState>(); });
  };
  EXPECT_NE(bad(R"({"seed": 7, "offset": 1, "position": 0})").find("no 'epoch'"),
            std::string::npos);
  EXPECT_NE(bad(R"({"seed": -7, "offset": 1, "position": 0, "epoch": 0})").find("'seed'"),
            std::string::npos);
  EXPECT_NE(bad("[1, 2]").find("must be a JSON object"), std::string::npos);
}

TEST(DataLoader, RanksAreDisjointSlicesOfOneStream) {
  for (bool random : {true, false}) {
    const int64_t world = 4, batch = 3;
    TokenDataLoader single(iota(100000), options(32, world * batch, random, 5));
    std::vector<TokenDataLoader> ranks;
    for (int64_t r = 0; r < world; ++r)
      ranks.emplace_back(iota(100000), options(32, batch, random, 5, r, world));
    for (int step = 0; step < 10; ++step) {
      const auto all = starts(single.next());
      std::vector<std::vector<int64_t>> per_rank;
      for (auto& loader : ranks) per_rank.push_back(starts(loader.next()));
      std::set<int64_t> distinct;
      for (int64_t r = 0; r < world; ++r) {
        for (int64_t i = 0; i < batch; ++i) {
          // Row i of rank r is row i * world + r of the whole job's step.
          EXPECT_EQ(per_rank[r][i], all[i * world + r]);
          distinct.insert(per_rank[r][i]);
        }
      }
      EXPECT_EQ(distinct.size(), static_cast<size_t>(world * batch))
          << (random ? "random" : "sequential") << " step " << step;
    }
  }
}

TEST(DataLoader, SequentialWalksTheStreamInOrder) {
  // 25 tokens, block 4: windows start at 0, 4, ..., 20 (the x parts tile tokens 0..23).
  TokenDataLoader loader(iota(25), options(4, 2, false));
  EXPECT_EQ(loader.num_windows(), 6);
  std::vector<int64_t> xs;
  for (int step = 0; step < 3; ++step) {
    for (const auto& row : rows(loader.next().x)) xs.insert(xs.end(), row.begin(), row.end());
  }
  EXPECT_EQ(xs, iota(24));
  EXPECT_EQ(loader.state().epoch, 1);
  EXPECT_EQ(loader.state().position, 0);
  EXPECT_EQ(starts(loader.next()), (std::vector<int64_t>{0, 4}));

  // A step that runs off the end wraps within the batch.
  TokenDataLoader wrapping(iota(25), options(4, 4, false));
  EXPECT_EQ(starts(wrapping.next()), (std::vector<int64_t>{0, 4, 8, 12}));
  EXPECT_EQ(starts(wrapping.next()), (std::vector<int64_t>{16, 20, 0, 4}));
  EXPECT_EQ(wrapping.state().epoch, 1);
  EXPECT_EQ(wrapping.state().position, 2);
}

TEST(DataLoader, SequentialRanksTakeEveryWorldSizethWindow) {
  TokenDataLoader rank1(iota(41), options(4, 2, false, 0, 1, 3));  // windows at 0, 4, ..., 36
  EXPECT_EQ(starts(rank1.next()), (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(starts(rank1.next()), (std::vector<int64_t>{28, 0}));
}

class ShardedLoader : public ::testing::Test {
 protected:
  // Shard k holds k * 1000 + i: a token tells its shard and position.
  std::vector<std::filesystem::path> write_shards(const std::vector<int64_t>& sizes) {
    std::vector<std::filesystem::path> paths;
    for (size_t k = 0; k < sizes.size(); ++k) {
      paths.push_back(dir_.path() / ("train_00000" + std::to_string(k) + ".bin"));
      write_shard(paths.back(), iota(sizes[k], static_cast<int64_t>(k) * 1000), 50257);
    }
    return paths;
  }
  TemporaryDirectory dir_;
};

TEST_F(ShardedLoader, WindowsNeverSpanShards) {
  const std::vector<int64_t> sizes = {10, 7, 30};
  const auto shards = write_shards(sizes);
  TokenDataLoader random(shards, options(5, 16, true, 11));
  std::set<int64_t> seen;
  for (int step = 0; step < 50; ++step) {
    const Batch batch = random.next();
    const Rows x = rows(batch.x), y = rows(batch.y);
    for (size_t i = 0; i < x.size(); ++i) {
      EXPECT_EQ(x[i], iota(5, x[i][0]));
      EXPECT_EQ(y[i].back() / 1000, x[i][0] / 1000) << "window crosses a shard boundary";
      EXPECT_LT(y[i].back() % 1000, sizes[static_cast<size_t>(x[i][0] / 1000)]);
      seen.insert(x[i][0]);
    }
  }
  // Every start of every shard: 5 + 2 + 25 windows.
  EXPECT_EQ(random.num_windows(), 32);
  EXPECT_EQ(seen.size(), 32u);

  TokenDataLoader sequential(shards, options(5, 7, false));
  EXPECT_EQ(starts(sequential.next()),
            (std::vector<int64_t>{0, 1000, 2000, 2005, 2010, 2015, 2020}));
  EXPECT_EQ(sequential.state().epoch, 1);
}

TEST_F(ShardedLoader, ShardsAreDrawnInProportionToTheirWindows) {
  const auto shards = write_shards({9, 104});  // 5 and 100 windows of block 4
  TokenDataLoader loader(shards, options(4, 100, true, 2));
  int64_t first = 0, total = 0;
  for (int step = 0; step < 100; ++step) {
    for (int64_t s : starts(loader.next())) first += s < 1000, ++total;
  }
  const double share = static_cast<double>(first) / static_cast<double>(total);
  EXPECT_NEAR(share, 5.0 / 105.0, 0.01);
}

TEST_F(ShardedLoader, ShardAndMemoryLoadersAgree) {
  const auto shards = write_shards({500});
  for (bool random : {true, false}) {
    TokenDataLoader from_file(shards, options(9, 5, random, 8));
    TokenDataLoader from_memory(iota(500), options(9, 5, random, 8));
    EXPECT_EQ(from_file.num_tokens(), 500);
    for (int step = 0; step < 20; ++step)
      EXPECT_EQ(rows(from_file.next().y), rows(from_memory.next().y));
  }
}

TEST_F(ShardedLoader, TooSmallShardsAreErrors) {
  const auto shards = write_shards({100, 8});
  std::string message = error_of([&] { TokenDataLoader loader(shards, options(8, 1, true)); });
  EXPECT_NE(message.find(shards[1].string()), std::string::npos) << message;
  EXPECT_NE(message.find("has 8 tokens, too few for one window of block_size + 1 = 9"),
            std::string::npos)
      << message;
  message = error_of([&] { TokenDataLoader loader(iota(8), options(8, 1, false)); });
  EXPECT_NE(message.find("has 8 tokens, too few"), std::string::npos) << message;
  TokenDataLoader fits(iota(9), options(8, 1, false));
  EXPECT_EQ(fits.num_windows(), 1);
}

TEST(DataLoader, BadOptionsAndStatesAreErrors) {
  const auto message = [](DataLoaderOptions o) {
    return error_of([&] { TokenDataLoader loader(iota(100), o); });
  };
  EXPECT_NE(message(options(0, 1, true)).find("block_size must be positive"), std::string::npos);
  EXPECT_NE(message(options(4, 0, true)).find("batch_size must be positive"), std::string::npos);
  EXPECT_NE(message(options(4, 1, true, 0, 2, 2)).find("rank 2 is outside [0, 2)"),
            std::string::npos);
  EXPECT_NE(message(options(4, 1, true, 0, 0, 0)).find("world_size"), std::string::npos);
  EXPECT_NE(error_of([] {
              TokenDataLoader loader(std::vector<int64_t>{1, 2, -3, 4}, options(2, 1, true));
            }).find("token -3 at position 2 is negative"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              TokenDataLoader loader(std::vector<std::filesystem::path>{}, options(2, 1, true));
            }).find("no shards"),
            std::string::npos);

  TokenDataLoader loader(iota(25), options(4, 2, false));
  EXPECT_NE(error_of([&] {
              loader.set_state({0, 0, 6, 0});
            }).find("position 6 is outside the 6"),
            std::string::npos);
  EXPECT_NE(error_of([&] { loader.set_state({0, 0, 0, -1}); }).find("epoch -1"), std::string::npos);
}

TEST(DataLoader, FindShards) {
  TemporaryDirectory dir;
  for (const char* name :
       {"train_000001.bin", "train_000000.bin", "val_000000.bin", "tiny_shakespeare_val.bin",
        "trainer.bin", "notes.txt", "spool_000000.bin"}) {
    std::ofstream(dir.path() / name) << "x";
  }
  EXPECT_EQ(find_shards(dir.path(), "train"),
            (std::vector<std::filesystem::path>{dir.path() / "train_000000.bin",
                                                dir.path() / "train_000001.bin"}));
  EXPECT_EQ(find_shards(dir.path(), "val"),
            (std::vector<std::filesystem::path>{dir.path() / "tiny_shakespeare_val.bin",
                                                dir.path() / "val_000000.bin"}));
  std::string message = error_of([&] { find_shards(dir.path(), "test"); });
  EXPECT_NE(message.find("no test shards in " + dir.path().string()), std::string::npos) << message;
  message = error_of([&] { find_shards(dir.path() / "missing", "train"); });
  EXPECT_NE(message.find("missing does not exist"), std::string::npos) << message;
}

}  // namespace
}  // namespace kiln::train

#include "train/batch_source.h"

#include <filesystem>

#include "core/file_io.h"
#include "text/char_tokenizer.h"

namespace kiln::train {
namespace fs = std::filesystem;

namespace {

class LoaderSource final : public BatchSource {
 public:
  explicit LoaderSource(std::unique_ptr<TokenDataLoader> loader) : loader_(std::move(loader)) {}
  std::pair<Tensor, Tensor> next() override {
    Batch b = loader_->next();
    return {b.x, b.y};
  }
  nlohmann::json state() const override { return loader_->state(); }
  void set_state(const nlohmann::json& state) override {
    loader_->set_state(state.get<DataLoaderState>());
  }

 private:
  std::unique_ptr<TokenDataLoader> loader_;
};

class TaskSource final : public BatchSource {
 public:
  TaskSource(std::shared_ptr<const SyntheticTask> task, int64_t batch, int64_t block, uint64_t seed)
      : task_(std::move(task)), batch_(batch), block_(block), gen_(seed) {}
  std::pair<Tensor, Tensor> next() override { return task_->sample_batch(batch_, block_, gen_); }
  nlohmann::json state() const override {
    return {{"seed", gen_.seed()}, {"offset", gen_.offset()}};
  }
  void set_state(const nlohmann::json& state) override {
    gen_.set_state(state.at("seed").get<uint64_t>(), state.at("offset").get<uint64_t>());
  }

 private:
  std::shared_ptr<const SyntheticTask> task_;
  int64_t batch_, block_;
  Generator gen_;
};

// The same batch every time: a fixed validation set.
class FixedSource final : public BatchSource {
 public:
  explicit FixedSource(std::pair<Tensor, Tensor> batch) : batch_(std::move(batch)) {}
  std::pair<Tensor, Tensor> next() override { return batch_; }
  nlohmann::json state() const override { return nlohmann::json::object(); }
  void set_state(const nlohmann::json&) override {}

 private:
  std::pair<Tensor, Tensor> batch_;
};

DataLoaderOptions loader_options(const TrainConfig& c, bool random) {
  DataLoaderOptions o;
  o.block_size = c.block_size;
  o.batch_size = c.batch_size;
  o.random = random;
  o.seed = c.seed;
  return o;
}

std::shared_ptr<const Tokenizer> tokenizer_for_text(const TrainConfig& c, std::string_view corpus) {
  if (c.tokenizer == "char")
    return std::make_shared<CharTokenizer>(CharTokenizer::from_corpus(corpus));
  return load_tokenizer(c.tokenizer);
}

}  // namespace

TrainingData open_training_data(const TrainConfig& c) {
  TrainingData data;
  if (c.data.starts_with("synthetic:")) {
    data.task = make_synthetic_task(c.data);
    data.tokenizer = std::shared_ptr<const Tokenizer>(data.task, &data.task->tokenizer());
    data.train = std::make_unique<TaskSource>(data.task, c.batch_size, c.block_size, c.seed);
    // Validation: a fixed batch of held-out problems, scored on the answers like training.
    data.make_validation = [task = data.task, batch = c.batch_size, block = c.block_size] {
      return std::make_unique<FixedSource>(task->held_out_batch(batch, block));
    };
    return data;
  }
  const fs::path path(c.data);
  KILN_CHECK(fs::exists(path), "train",
             "data '{}' does not exist (a text file, a shard folder, or synthetic:<task>)", c.data);
  if (fs::is_directory(path)) {
    // Shards from kiln prepare carry their tokenizer; llm.c shards need `tokenizer`.
    data.tokenizer = c.tokenizer == "char" ? load_tokenizer(path) : load_tokenizer(c.tokenizer);
    data.train = std::make_unique<LoaderSource>(
        std::make_unique<TokenDataLoader>(find_shards(path, "train"), loader_options(c, true)));
    bool has_val = true;
    try {
      find_shards(path, "val");
    } catch (const Error&) {
      has_val = false;
    }
    if (has_val) {
      data.make_validation = [shards = find_shards(path, "val"), o = loader_options(c, false)] {
        return std::make_unique<LoaderSource>(std::make_unique<TokenDataLoader>(shards, o));
      };
    }
    return data;
  }
  // A text file, tokenized in memory (use `kiln prepare` for corpora that do not fit).
  const std::string text = read_text_file(path, "train");
  KILN_CHECK(!text.empty(), "train", "data file {} is empty", c.data);
  data.tokenizer = tokenizer_for_text(c, text);
  std::vector<int64_t> tokens = data.tokenizer->encode(text);
  const auto val_count = static_cast<int64_t>(static_cast<double>(tokens.size()) * c.val_fraction);
  std::vector<int64_t> val(tokens.end() - val_count, tokens.end());
  tokens.resize(tokens.size() - static_cast<size_t>(val_count));
  KILN_CHECK(static_cast<int64_t>(tokens.size()) > c.block_size, "train",
             "{} has {} training tokens, fewer than block_size + 1 = {}", c.data, tokens.size(),
             c.block_size + 1);
  data.train = std::make_unique<LoaderSource>(
      std::make_unique<TokenDataLoader>(std::move(tokens), loader_options(c, true)));
  if (static_cast<int64_t>(val.size()) > c.block_size) {
    data.make_validation = [val, o = loader_options(c, false)] {
      return std::make_unique<LoaderSource>(std::make_unique<TokenDataLoader>(val, o));
    };
  }
  return data;
}

}  // namespace kiln::train

#include "train/checkpoint.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>

#include "core/file_io.h"
#include "core/safetensors.h"
#include "models/pretrained.h"

namespace kiln::train {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kStepPrefix = "step_";

// Completed checkpoints, oldest first. A directory counts once trainer_state.json is in it,
// which is written last, inside the temporary directory, before the rename.
std::vector<std::pair<int64_t, fs::path>> complete_checkpoints(const fs::path& root) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return found;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kStepPrefix) || name.find('.') != std::string::npos) continue;
    if (!fs::exists(entry.path() / "trainer_state.json")) continue;
    try {
      found.emplace_back(std::stoll(name.substr(kStepPrefix.size())), entry.path());
    } catch (const std::exception&) {
      continue;  // not one of ours
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

fs::path save_checkpoint(const fs::path& out_dir, int64_t step, const models::CausalLM& model,
                         const Optimizer& optimizer, const Tokenizer& tokenizer,
                         const nlohmann::json& trainer_state, int64_t keep) {
  const fs::path root = out_dir / "checkpoints";
  const fs::path final_dir = root / fmt::format("{}{:08d}", kStepPrefix, step);
  const fs::path temp_dir = root / fmt::format("{}{:08d}.tmp-{}", kStepPrefix, step, ::getpid());
  std::error_code ec;
  fs::remove_all(temp_dir, ec);
  fs::create_directories(temp_dir, ec);
  KILN_CHECK(!ec, "checkpoint", "cannot create {}: {}", temp_dir.string(), ec.message());
  try {
    // GPT-2's convention: <|endoftext|> begins and ends a text.
    models::save_pretrained(model, temp_dir, {.bos = tokenizer.eos_id(), .eos = tokenizer.eos_id()});
    tokenizer.save(temp_dir);
    save_safetensors(temp_dir / "optimizer.safetensors", optimizer.state());
    write_file_atomically(temp_dir / "trainer_state.json", trainer_state.dump(2) + "\n",
                          "checkpoint");
    fs::remove_all(final_dir, ec);  // a checkpoint of the same step from an earlier attempt
    fs::rename(temp_dir, final_dir, ec);
    KILN_CHECK(!ec, "checkpoint", "cannot rename {} to {}: {}", temp_dir.string(),
               final_dir.string(), ec.message());
    // Reported written only once the new directory entry is on disk too.
    sync_directory(root, "checkpoint");
  } catch (...) {
    fs::remove_all(temp_dir, ec);
    throw;
  }
  const auto all = complete_checkpoints(root);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i)
    fs::remove_all(all[i].second, ec);
  return final_dir;
}

fs::path latest_checkpoint(const fs::path& out_dir) {
  if (fs::exists(out_dir / "trainer_state.json")) return out_dir;  // a checkpoint itself
  const auto all = complete_checkpoints(out_dir / "checkpoints");
  KILN_CHECK(!all.empty(), "checkpoint", "no complete checkpoint in {}",
             (out_dir / "checkpoints").string());
  return all.back().second;
}

LoadedCheckpoint read_checkpoint(const fs::path& dir) {
  LoadedCheckpoint loaded;
  loaded.dir = dir;
  loaded.trainer_state = read_json_file(dir / "trainer_state.json", "checkpoint");
  loaded.optimizer_state = load_safetensors(dir / "optimizer.safetensors");
  return loaded;
}

}  // namespace kiln::train

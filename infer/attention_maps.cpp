#include "infer/attention_maps.h"

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/file_io.h"

namespace kiln::infer {
namespace fs = std::filesystem;

namespace {

std::string csv_quote(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"')
      out += "\"\"";
    else
      out += c;
  }
  return out + "\"";
}

}  // namespace

std::vector<std::vector<std::vector<float>>> attention_maps(models::CausalLM& model,
                                                            const std::vector<int64_t>& ids) {
  const int64_t t = static_cast<int64_t>(ids.size());
  KILN_CHECK(t >= 1, "attention", "empty prompt");
  KILN_CHECK(t <= model.shape().block_size, "attention",
             "prompt has {} tokens, longer than the model's context of {}", t,
             model.shape().block_size);
  const bool was_training = model.training();
  model.eval();
  NoGradGuard no_grad;
  std::vector<Tensor> weights;
  model.forward(from_vector(ids, {1, t}, model.parameters().front().device()), nullptr, &weights);
  model.train(was_training);
  std::vector<std::vector<std::vector<float>>> maps;
  for (const Tensor& layer : weights) {  // [1, H, T, T]
    const std::vector<float> values = layer.to(DType::f32).to_vector<float>();
    const int64_t heads = layer.size(1);
    auto& per_head = maps.emplace_back();
    for (int64_t h = 0; h < heads; ++h)
      per_head.emplace_back(values.begin() + h * t * t, values.begin() + (h + 1) * t * t);
  }
  return maps;
}

void export_attention_maps(models::CausalLM& model, const std::vector<int64_t>& ids,
                           const std::vector<std::string>& tokens, const fs::path& out_dir) {
  KILN_CHECK(tokens.size() == ids.size(), "attention", "{} token strings for {} ids", tokens.size(),
             ids.size());
  const auto maps = attention_maps(model, ids);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  KILN_CHECK(!ec, "attention", "cannot create {}: {}", out_dir.string(), ec.message());
  std::string token_csv = "position,id,token\n";
  for (size_t i = 0; i < ids.size(); ++i)
    token_csv += fmt::format("{},{},{}\n", i, ids[i], csv_quote(tokens[i]));
  write_file_atomically(out_dir / "tokens.csv", token_csv, "attention");
  const size_t t = ids.size();
  for (size_t layer = 0; layer < maps.size(); ++layer) {
    for (size_t head = 0; head < maps[layer].size(); ++head) {
      std::string csv;
      for (size_t row = 0; row < t; ++row) {
        for (size_t col = 0; col < t; ++col)
          csv += fmt::format("{}{:.6g}", col ? "," : "", maps[layer][head][row * t + col]);
        csv += '\n';
      }
      write_file_atomically(out_dir / fmt::format("layer{}_head{}.csv", layer, head), csv,
                            "attention");
    }
  }
}

}  // namespace kiln::infer

#include "tests/models/gpt_reference.h"

#include <cmath>

namespace kiln::testing {
namespace {

using Matrix = std::vector<std::vector<double>>;  // [rows][cols]

// x [T][in] times W [out][in] transposed, plus b.
Matrix affine(const Matrix& x, const std::vector<double>& w, const std::vector<double>& b,
              size_t out) {
  const size_t in = x[0].size();
  Matrix y(x.size(), std::vector<double>(out));
  for (size_t t = 0; t < x.size(); ++t)
    for (size_t o = 0; o < out; ++o) {
      double acc = b.empty() ? 0.0 : b[o];
      for (size_t i = 0; i < in; ++i) acc += x[t][i] * w[o * in + i];
      y[t][o] = acc;
    }
  return y;
}

Matrix layer_norm(const Matrix& x, const std::vector<double>& w, const std::vector<double>& b,
                  double eps) {
  Matrix y = x;
  for (auto& row : y) {
    double mean = 0, var = 0;
    for (double v : row) mean += v;
    mean /= static_cast<double>(row.size());
    for (double v : row) var += (v - mean) * (v - mean);
    var /= static_cast<double>(row.size());
    for (size_t i = 0; i < row.size(); ++i)
      row[i] = (row[i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
  }
  return y;
}

double gelu(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

}  // namespace

ParamMap parameters_as_doubles(const models::GPT& model) {
  ParamMap out;
  for (const auto& [name, t] : model.named_parameters()) out[name] = t.to_vector<double>();
  return out;
}

Matrix reference_gpt_logits(const models::GPTConfig& c, const ParamMap& p,
                            const std::vector<int64_t>& ids) {
  const size_t T = ids.size(), C = static_cast<size_t>(c.n_embd), H = static_cast<size_t>(c.n_head);
  const size_t D = C / H, V = static_cast<size_t>(c.vocab_size);
  Matrix x(T, std::vector<double>(C));
  for (size_t t = 0; t < T; ++t)
    for (size_t i = 0; i < C; ++i)
      x[t][i] =
          p.at("wte.weight")[static_cast<size_t>(ids[t]) * C + i] + p.at("wpe.weight")[t * C + i];
  auto bias = [&](const std::string& name) {
    return p.count(name) ? p.at(name) : std::vector<double>(0);
  };
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const std::string h = "h." + std::to_string(l) + ".";
    const Matrix a =
        layer_norm(x, p.at(h + "ln_1.weight"),
                   bias(h + "ln_1.bias").empty() ? std::vector<double>(C) : p.at(h + "ln_1.bias"),
                   c.layer_norm_eps);
    const Matrix qkv =
        affine(a, p.at(h + "attn.c_attn.weight"), bias(h + "attn.c_attn.bias"), 3 * C);
    Matrix attn(T, std::vector<double>(C));
    for (size_t head = 0; head < H; ++head)
      for (size_t i = 0; i < T; ++i) {
        std::vector<double> scores(i + 1);
        double top = -INFINITY;
        for (size_t j = 0; j <= i; ++j) {
          double s = 0;
          for (size_t d = 0; d < D; ++d) s += qkv[i][head * D + d] * qkv[j][C + head * D + d];
          scores[j] = s / std::sqrt(static_cast<double>(D));
          top = std::max(top, scores[j]);
        }
        double total = 0;
        for (double& s : scores) total += (s = std::exp(s - top));
        for (size_t j = 0; j <= i; ++j)
          for (size_t d = 0; d < D; ++d)
            attn[i][head * D + d] += scores[j] / total * qkv[j][2 * C + head * D + d];
      }
    const Matrix proj =
        affine(attn, p.at(h + "attn.c_proj.weight"), bias(h + "attn.c_proj.bias"), C);
    for (size_t t = 0; t < T; ++t)
      for (size_t i = 0; i < C; ++i) x[t][i] += proj[t][i];
    const Matrix m =
        layer_norm(x, p.at(h + "ln_2.weight"),
                   bias(h + "ln_2.bias").empty() ? std::vector<double>(C) : p.at(h + "ln_2.bias"),
                   c.layer_norm_eps);
    Matrix hidden = affine(m, p.at(h + "mlp.c_fc.weight"), bias(h + "mlp.c_fc.bias"), 4 * C);
    for (auto& row : hidden)
      for (double& v : row) v = gelu(v);
    const Matrix out =
        affine(hidden, p.at(h + "mlp.c_proj.weight"), bias(h + "mlp.c_proj.bias"), C);
    for (size_t t = 0; t < T; ++t)
      for (size_t i = 0; i < C; ++i) x[t][i] += out[t][i];
  }
  x = layer_norm(x, p.at("ln_f.weight"),
                 bias("ln_f.bias").empty() ? std::vector<double>(C) : p.at("ln_f.bias"),
                 c.layer_norm_eps);
  const std::vector<double>& head =
      p.count("lm_head.weight") ? p.at("lm_head.weight") : p.at("wte.weight");
  return affine(x, head, {}, V);
}

double reference_loss(const Matrix& logits, const std::vector<int64_t>& targets) {
  double total = 0;
  for (size_t t = 0; t < logits.size(); ++t) {
    double top = -INFINITY, sum = 0;
    for (double v : logits[t]) top = std::max(top, v);
    for (double v : logits[t]) sum += std::exp(v - top);
    total += std::log(sum) + top - logits[t][static_cast<size_t>(targets[t])];
  }
  return total / static_cast<double>(logits.size());
}

}  // namespace kiln::testing

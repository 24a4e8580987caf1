// models/rnn against a plain float64 reference written from PyTorch's documented equations, and
// its gradients against central finite differences.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/ops.h"
#include "models/rnn.h"
#include "tests/require_cuda.h"

#ifdef KILN_CUDNN
#include "models/cuda/cudnn_lstm.h"
#endif

namespace kiln::testing {
namespace {

using models::CellKind;
using Matrix = std::vector<std::vector<double>>;  // [rows][cols]
using Vector = std::vector<double>;

double sigmoid_ref(double v) {
  return 1.0 / (1.0 + std::exp(-v));
}

Matrix to_matrix(const Tensor& t) {
  const std::vector<double> v = t.to_vector<double>();
  const int64_t rows = t.size(0), cols = t.size(1);
  Matrix m(static_cast<size_t>(rows), Vector(static_cast<size_t>(cols)));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      m[static_cast<size_t>(r)][static_cast<size_t>(c)] = v[static_cast<size_t>(r * cols + c)];
  return m;
}

// W v + b for W [rows][cols].
Vector affine(const Matrix& w, const Vector& v, const Vector& b) {
  Vector out(w.size());
  for (size_t r = 0; r < w.size(); ++r) {
    double acc = b.empty() ? 0.0 : b[r];
    for (size_t c = 0; c < v.size(); ++c) acc += w[r][c] * v[c];
    out[r] = acc;
  }
  return out;
}

struct RefWeights {
  Matrix w_ih, w_hh;
  Vector b_ih, b_hh;  // empty without bias
};

RefWeights ref_weights(const models::RecurrentWeights& w) {
  RefWeights r{to_matrix(w.weight_ih), to_matrix(w.weight_hh), {}, {}};
  if (w.bias_ih) r.b_ih = w.bias_ih->to_vector<double>();
  if (w.bias_hh) r.b_hh = w.bias_hh->to_vector<double>();
  return r;
}

// One step for one batch row, straight from the equations in torch.nn.RNNCell/LSTMCell/GRUCell.
void ref_step(CellKind kind, const RefWeights& w, const Vector& x, Vector& h, Vector& c) {
  const size_t n = h.size();
  const Vector xi = affine(w.w_ih, x, w.b_ih);
  const Vector hh = affine(w.w_hh, h, w.b_hh);
  Vector next(n);
  for (size_t j = 0; j < n; ++j) {
    if (kind == CellKind::rnn_tanh) {
      next[j] = std::tanh(xi[j] + hh[j]);
    } else if (kind == CellKind::lstm) {
      const double i = sigmoid_ref(xi[j] + hh[j]);
      const double f = sigmoid_ref(xi[n + j] + hh[n + j]);
      const double g = std::tanh(xi[2 * n + j] + hh[2 * n + j]);
      const double o = sigmoid_ref(xi[3 * n + j] + hh[3 * n + j]);
      c[j] = f * c[j] + i * g;
      next[j] = o * std::tanh(c[j]);
    } else {
      const double r = sigmoid_ref(xi[j] + hh[j]);
      const double z = sigmoid_ref(xi[n + j] + hh[n + j]);
      const double cand = std::tanh(xi[2 * n + j] + r * hh[2 * n + j]);
      next[j] = (1.0 - z) * cand + z * h[j];
    }
  }
  h = next;
}

double relative_gap(const std::vector<double>& got, const std::vector<double>& want) {
  EXPECT_EQ(got.size(), want.size());
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    diff += (got[i] - want[i]) * (got[i] - want[i]);
    norm += want[i] * want[i];
  }
  return std::sqrt(diff / norm);
}

std::unique_ptr<models::RecurrentLayer> make_layer(CellKind kind, int64_t in, int64_t hidden,
                                                   int64_t layers, bool bias, Generator& gen) {
  switch (kind) {
    case CellKind::rnn_tanh:
      return std::make_unique<models::RNN>(in, hidden, gen, layers, bias);
    case CellKind::lstm:
      return std::make_unique<models::LSTM>(in, hidden, gen, layers, bias);
    case CellKind::gru:
      return std::make_unique<models::GRU>(in, hidden, gen, layers, bias);
  }
  return nullptr;
}

std::unique_ptr<models::RecurrentCell> make_cell(CellKind kind, int64_t in, int64_t hidden,
                                                 Generator& gen) {
  switch (kind) {
    case CellKind::rnn_tanh:
      return std::make_unique<models::RNNCell>(in, hidden, gen);
    case CellKind::lstm:
      return std::make_unique<models::LSTMCell>(in, hidden, gen);
    case CellKind::gru:
      return std::make_unique<models::GRUCell>(in, hidden, gen);
  }
  return nullptr;
}

std::string kind_label(const ::testing::TestParamInfo<CellKind>& info) {
  switch (info.param) {
    case CellKind::rnn_tanh:
      return "RNN";
    case CellKind::lstm:
      return "LSTM";
    case CellKind::gru:
      return "GRU";
  }
  return "unknown";
}

class RecurrentTest : public ::testing::TestWithParam<CellKind> {};

TEST_P(RecurrentTest, LayerMatchesFloat64ReferenceWithInitialState) {
  const CellKind kind = GetParam();
  constexpr int64_t B = 2, T = 5, C = 3, H = 4, L = 2;
  Generator gen(11);
  auto layer = make_layer(kind, C, H, L, /*bias=*/true, gen);
  layer->to(DType::f64);
  const TensorOptions f64{DType::f64};
  const Tensor x = randn({B, T, C}, f64, &gen);
  models::RecurrentState init{randn({L, B, H}, f64, &gen, 0.0, 0.5), {}};
  if (kind == CellKind::lstm) init.c = randn({L, B, H}, f64, &gen, 0.0, 0.5);
  const auto out = layer->forward(x, init);
  ASSERT_EQ(out.output.shape(), (Shape{B, T, H}));
  ASSERT_EQ(out.state.h.shape(), (Shape{L, B, H}));
  EXPECT_EQ(out.state.c.defined(), kind == CellKind::lstm);

  const std::vector<double> xs = x.to_vector<double>();
  const std::vector<double> h0 = init.h.to_vector<double>();
  const std::vector<double> c0 =
      kind == CellKind::lstm ? init.c.to_vector<double>() : std::vector<double>(L * B * H, 0.0);
  std::vector<double> want_out(B * T * H), want_h(L * B * H), want_c(L * B * H);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<Vector> seq(T);
    for (int64_t t = 0; t < T; ++t)
      seq[t] = Vector(xs.begin() + (b * T + t) * C, xs.begin() + (b * T + t + 1) * C);
    for (int64_t k = 0; k < L; ++k) {
      const RefWeights w = ref_weights(layer->weights(k));
      Vector h(h0.begin() + (k * B + b) * H, h0.begin() + (k * B + b + 1) * H);
      Vector c(c0.begin() + (k * B + b) * H, c0.begin() + (k * B + b + 1) * H);
      for (int64_t t = 0; t < T; ++t) {
        ref_step(kind, w, seq[t], h, c);
        seq[t] = h;
      }
      std::copy(h.begin(), h.end(), want_h.begin() + (k * B + b) * H);
      std::copy(c.begin(), c.end(), want_c.begin() + (k * B + b) * H);
    }
    for (int64_t t = 0; t < T; ++t)
      std::copy(seq[t].begin(), seq[t].end(), want_out.begin() + (b * T + t) * H);
  }
  EXPECT_LE(relative_gap(out.output.to_vector<double>(), want_out), 1e-12);
  EXPECT_LE(relative_gap(out.state.h.to_vector<double>(), want_h), 1e-12);
  if (kind == CellKind::lstm) {
    EXPECT_LE(relative_gap(out.state.c.to_vector<double>(), want_c), 1e-12);
  }
}

TEST_P(RecurrentTest, CellMatchesFloat64ReferenceWithoutState) {
  const CellKind kind = GetParam();
  constexpr int64_t B = 3, C = 4, H = 2;
  Generator gen(5);
  auto cell = make_cell(kind, C, H, gen);
  cell->to(DType::f64);
  const Tensor x = randn({B, C}, TensorOptions{DType::f64}, &gen);
  const models::RecurrentState s = cell->forward(x);
  ASSERT_EQ(s.h.shape(), (Shape{B, H}));
  const RefWeights w = ref_weights(cell->weights());
  const std::vector<double> xs = x.to_vector<double>();
  std::vector<double> want;
  for (int64_t b = 0; b < B; ++b) {
    Vector h(H, 0.0), c(H, 0.0);
    ref_step(kind, w, Vector(xs.begin() + b * C, xs.begin() + (b + 1) * C), h, c);
    want.insert(want.end(), h.begin(), h.end());
  }
  EXPECT_LE(relative_gap(s.h.to_vector<double>(), want), 1e-12);
}

TEST_P(RecurrentTest, LayerOfOneStepEqualsTheCellWithTheSameWeights) {
  const CellKind kind = GetParam();
  Generator gen_a(9), gen_b(9);
  auto cell = make_cell(kind, 3, 4, gen_a);
  auto layer = make_layer(kind, 3, 4, 1, true, gen_b);
  const Tensor x = randn({2, 3}, {}, &gen_a);
  const Tensor h = cell->forward(x).h;
  const Tensor y = layer->forward(unsqueeze(x, 1)).output;
  EXPECT_EQ(h.to_vector<float>(), reshape(y, {2, 4}).to_vector<float>());
}

// d(sum(out * probe_out) + sum(h_n * probe_h) [+ sum(c_n * probe_c)]) against central
// differences, for the input, the initial state and every parameter.
TEST_P(RecurrentTest, GradientsMatchFiniteDifferences) {
  const CellKind kind = GetParam();
  constexpr int64_t B = 2, T = 4, C = 3, H = 3, L = 2;
  Generator gen(21);
  auto layer = make_layer(kind, C, H, L, true, gen);
  layer->to(DType::f64);
  const TensorOptions f64{DType::f64};
  Tensor x = randn({B, T, C}, f64, &gen).set_requires_grad(true);
  Tensor h0 = randn({L, B, H}, f64, &gen, 0.0, 0.5).set_requires_grad(true);
  Tensor c0 = randn({L, B, H}, f64, &gen, 0.0, 0.5).set_requires_grad(true);
  const Tensor probe_out = randn({B, T, H}, f64, &gen);
  const Tensor probe_h = randn({L, B, H}, f64, &gen);
  const Tensor probe_c = randn({L, B, H}, f64, &gen);
  const bool lstm = kind == CellKind::lstm;
  const auto loss = [&] {
    const auto out = layer->forward(x, {h0, lstm ? c0 : Tensor()});
    Tensor l = (out.output * probe_out).sum() + (out.state.h * probe_h).sum();
    if (lstm) l = l + (out.state.c * probe_c).sum();
    return l;
  };
  layer->zero_grad();
  loss().backward();

  std::vector<std::pair<std::string, Tensor>> checked = {{"x", x}, {"h0", h0}};
  if (lstm) checked.emplace_back("c0", c0);
  for (const auto& [name, p] : layer->named_parameters()) checked.emplace_back(name, p);
  NoGradGuard no_grad;
  for (const auto& [name, t] : checked) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(t.grad().defined());
    const std::vector<double> analytic = t.grad().to_vector<double>();
    double* data = t.data<double>();
    std::vector<double> numeric(analytic.size());
    constexpr double eps = 1e-6;
    for (size_t i = 0; i < numeric.size(); ++i) {
      const double saved = data[i];
      data[i] = saved + eps;
      const double up = loss().item();
      data[i] = saved - eps;
      const double down = loss().item();
      data[i] = saved;
      numeric[i] = (up - down) / (2 * eps);
    }
    EXPECT_LE(relative_gap(analytic, numeric), 1e-7);
  }
}

TEST_P(RecurrentTest, ParametersHavePyTorchNamesAndShapes) {
  const CellKind kind = GetParam();
  const int64_t g = models::gate_count(kind);
  Generator gen(1);
  auto layer = make_layer(kind, 3, 5, 2, true, gen);
  EXPECT_EQ(layer->parameter("weight_ih_l0").shape(), (Shape{g * 5, 3}));
  EXPECT_EQ(layer->parameter("weight_hh_l0").shape(), (Shape{g * 5, 5}));
  EXPECT_EQ(layer->parameter("bias_ih_l0").shape(), (Shape{g * 5}));
  EXPECT_EQ(layer->parameter("bias_hh_l0").shape(), (Shape{g * 5}));
  EXPECT_EQ(layer->parameter("weight_ih_l1").shape(), (Shape{g * 5, 5}));
  EXPECT_EQ(layer->parameter_count(), g * 5 * (3 + 5 + 2) + g * 5 * (5 + 5 + 2));
  auto cell = make_cell(kind, 3, 5, gen);
  const models::NamedTensors names = cell->named_parameters();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].first, "weight_ih");
  EXPECT_EQ(names[1].first, "weight_hh");
  EXPECT_EQ(names[2].first, "bias_ih");
  EXPECT_EQ(names[3].first, "bias_hh");
  // PyTorch's U(-1/sqrt(H), 1/sqrt(H)).
  const std::vector<float> w = layer->parameter("weight_hh_l1").to_vector<float>();
  for (const float v : w) EXPECT_LE(std::abs(v), 1.0f / std::sqrt(5.0f));
  auto no_bias = make_layer(kind, 3, 5, 1, false, gen);
  EXPECT_EQ(no_bias->named_parameters().size(), 2u);
}

TEST_P(RecurrentTest, WithoutBiasMatchesTheReference) {
  const CellKind kind = GetParam();
  Generator gen(4);
  auto layer = make_layer(kind, 2, 3, 1, false, gen);
  layer->to(DType::f64);
  const Tensor x = randn({1, 3, 2}, TensorOptions{DType::f64}, &gen);
  const std::vector<double> got = layer->forward(x).output.to_vector<double>();
  const RefWeights w = ref_weights(layer->weights(0));
  const std::vector<double> xs = x.to_vector<double>();
  Vector h(3, 0.0), c(3, 0.0);
  std::vector<double> want;
  for (int t = 0; t < 3; ++t) {
    ref_step(kind, w, Vector(xs.begin() + 2 * t, xs.begin() + 2 * t + 2), h, c);
    want.insert(want.end(), h.begin(), h.end());
  }
  EXPECT_LE(relative_gap(got, want), 1e-12);
}

TEST_P(RecurrentTest, BadShapesAreClearErrors) {
  const CellKind kind = GetParam();
  Generator gen(2);
  auto layer = make_layer(kind, 3, 4, 2, true, gen);
  const auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message([&] {
              layer->forward(zeros({2, 5, 7}));
            }).find("expected [B, T, C] with C = 3"),
            std::string::npos);
  EXPECT_NE(message([&] {
              layer->forward(zeros({2, 0, 3}));
            }).find("at least one step"),
            std::string::npos);
  EXPECT_NE(message([&] {
              layer->forward(zeros({2, 5, 3}), {zeros({1, 2, 4}), {}});
            }).find("initial h has shape [1, 2, 4], expected [2, 2, 4]"),
            std::string::npos);
  EXPECT_NE(message([&] {
              layer->forward(zeros({2, 5, 3}, TensorOptions{DType::f64}));
            }).find("dtype"),
            std::string::npos);
  auto cell = make_cell(kind, 3, 4, gen);
  EXPECT_NE(message([&] {
              cell->forward(zeros({2, 5, 3}));
            }).find("expected [B, C]"),
            std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RecurrentTest,
                         ::testing::Values(CellKind::rnn_tanh, CellKind::lstm, CellKind::gru),
                         kind_label);

TEST(Recurrent, LstmForwardRunsOnCudaLikeTheCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  Generator gen(3);
  models::LSTM lstm(8, 16, gen, 2);
  const Tensor x = randn({2, 33, 8}, {}, &gen);
  const std::vector<float> want = lstm.forward(x).output.to_vector<float>();
  lstm.to(Device::cuda());
  const std::vector<float> got = lstm.forward(x.to(Device::cuda())).output.to_vector<float>();
  const std::vector<double> w(want.begin(), want.end()), g(got.begin(), got.end());
  EXPECT_LE(relative_gap(g, w), 1e-5);
}

#ifdef KILN_CUDNN
TEST(Recurrent, CudnnLstmMatchesKilnLstm) {
  KILN_SKIP_WITHOUT_CUDA();
  for (const bool bias : {true, false}) {
    SCOPED_TRACE(bias ? "with bias" : "without bias");
    Generator gen(8);
    models::LSTM lstm(8, 16, gen, 2, bias);
    const Tensor x = randn({3, 41, 8}, {}, &gen);
    const std::vector<float> want = lstm.forward(x).output.to_vector<float>();
    const models::cuda::CudnnLSTM cudnn(lstm, 0);
    const Tensor y = cudnn.forward(x.to(Device::cuda()));
    ASSERT_EQ(y.shape(), (Shape{3, 41, 16}));
    const std::vector<float> got = y.to_vector<float>();
    EXPECT_LE(relative_gap(std::vector<double>(got.begin(), got.end()),
                           std::vector<double>(want.begin(), want.end())),
              1e-5);
  }
}
#endif

}  // namespace
}  // namespace kiln::testing

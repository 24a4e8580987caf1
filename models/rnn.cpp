#include "models/rnn.h"

#include <cmath>
#include <functional>
#include <string>

#include "core/ops.h"
#include "core/ops/common.h"

namespace kiln::models {
namespace {

constexpr std::string_view kOp = "rnn";

std::string_view kind_name(CellKind kind) {
  switch (kind) {
    case CellKind::rnn_tanh:
      return "rnn";
    case CellKind::lstm:
      return "lstm";
    case CellKind::gru:
      return "gru";
  }
  return "?";
}

Tensor uniform_init(const Shape& shape, int64_t hidden_size, Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
  return rand(shape, {}, &gen, -bound, bound);
}

// Registers one layer's parameters under PyTorch's names (suffix "" for cells, "_l<k>" for
// layers of torch.nn.RNN/LSTM/GRU).
RecurrentWeights make_weights(CellKind kind, int64_t input_size, int64_t hidden_size, bool bias,
                              Generator& gen, const std::string& suffix,
                              const std::function<Tensor(std::string, Tensor)>& registrar) {
  KILN_CHECK(input_size > 0 && hidden_size > 0, kind_name(kind),
             "input_size {} and hidden_size {} must be positive", input_size, hidden_size);
  const int64_t rows = gate_count(kind) * hidden_size;
  RecurrentWeights w;
  w.weight_ih = registrar("weight_ih" + suffix, uniform_init({rows, input_size}, hidden_size, gen));
  w.weight_hh =
      registrar("weight_hh" + suffix, uniform_init({rows, hidden_size}, hidden_size, gen));
  if (bias) {
    w.bias_ih = registrar("bias_ih" + suffix, uniform_init({rows}, hidden_size, gen));
    w.bias_hh = registrar("bias_hh" + suffix, uniform_init({rows}, hidden_size, gen));
  }
  return w;
}

void check_input(CellKind kind, const Tensor& x, int64_t ndim, std::string_view layout,
                 int64_t input_size, const Tensor& weight) {
  KILN_CHECK(x.defined(), kind_name(kind), "input is undefined");
  KILN_CHECK(x.dim() == ndim && x.size(-1) == input_size, kind_name(kind),
             "input has shape {}, expected {} with C = {}", shape_str(x.shape()), layout,
             input_size);
  check_same_dtype(kind_name(kind), "input", x, weight);
  check_same_device(kind_name(kind), {x, weight});
}

void check_state(CellKind kind, std::string_view what, const Tensor& t, const Shape& expected,
                 const Tensor& weight) {
  if (!t.defined()) return;
  KILN_CHECK(t.shape() == expected, kind_name(kind), "{} has shape {}, expected {}", what,
             shape_str(t.shape()), shape_str(expected));
  check_same_dtype(kind_name(kind), what, t, weight);
  check_same_device(kind_name(kind), {t, weight});
}

Tensor zeros_like_state(const Tensor& weight, int64_t batch, int64_t hidden_size) {
  return zeros({batch, hidden_size}, TensorOptions{weight.dtype(), weight.device()});
}

}  // namespace

int64_t gate_count(CellKind kind) {
  switch (kind) {
    case CellKind::rnn_tanh:
      return 1;
    case CellKind::lstm:
      return 4;
    case CellKind::gru:
      return 3;
  }
  return 1;
}

RecurrentState recurrent_step(CellKind kind, const RecurrentWeights& w, const Tensor& x_proj,
                              const RecurrentState& state) {
  KILN_CHECK(state.h.defined() && (kind != CellKind::lstm || state.c.defined()), kind_name(kind),
             "recurrent_step needs a defined state (h, and c for the LSTM)");
  const int64_t hidden = state.h.size(-1);
  KILN_CHECK(x_proj.size(-1) == gate_count(kind) * hidden, kind_name(kind),
             "x_proj has shape {}, expected last dim {} ({} gates x hidden size {})",
             shape_str(x_proj.shape()), gate_count(kind) * hidden, gate_count(kind), hidden);
  const Tensor h_proj = linear(state.h, w.weight_hh, w.bias_hh);
  switch (kind) {
    case CellKind::rnn_tanh:
      return {tanh(x_proj + h_proj), {}};
    case CellKind::lstm: {
      const std::vector<Tensor> g = split(x_proj + h_proj, hidden, -1);
      const Tensor c = sigmoid(g[1]) * state.c + sigmoid(g[0]) * tanh(g[2]);
      return {sigmoid(g[3]) * tanh(c), c};
    }
    case CellKind::gru: {
      const std::vector<Tensor> x = split(x_proj, hidden, -1);
      const std::vector<Tensor> h = split(h_proj, hidden, -1);
      const Tensor r = sigmoid(x[0] + h[0]);
      const Tensor z = sigmoid(x[1] + h[1]);
      const Tensor n = tanh(x[2] + r * h[2]);
      return {n + z * (state.h - n), {}};  // (1 - z) n + z h with one op fewer
    }
  }
  fail(kOp, "corrupt cell kind {}", static_cast<int>(kind));
}

RecurrentCell::RecurrentCell(CellKind kind, int64_t input_size, int64_t hidden_size, bool bias,
                             Generator& gen)
    : kind_(kind), input_size_(input_size), hidden_size_(hidden_size) {
  weights_ = make_weights(kind, input_size, hidden_size, bias, gen, "",
                          [this](std::string name, Tensor value) {
                            return register_parameter(std::move(name), std::move(value));
                          });
}

RecurrentState RecurrentCell::forward(const Tensor& x, const RecurrentState& state) const {
  check_input(kind_, x, 2, "[B, C]", input_size_, weights_.weight_ih);
  const int64_t batch = x.size(0);
  check_state(kind_, "h", state.h, {batch, hidden_size_}, weights_.weight_ih);
  RecurrentState s = state;
  if (!s.h.defined()) s.h = zeros_like_state(weights_.weight_ih, batch, hidden_size_);
  if (kind_ == CellKind::lstm) {
    check_state(kind_, "c", state.c, {batch, hidden_size_}, weights_.weight_ih);
    if (!s.c.defined()) s.c = zeros_like_state(weights_.weight_ih, batch, hidden_size_);
  }
  return recurrent_step(kind_, weights_, linear(x, weights_.weight_ih, weights_.bias_ih), s);
}

RecurrentLayer::RecurrentLayer(CellKind kind, int64_t input_size, int64_t hidden_size,
                               int64_t num_layers, bool bias, Generator& gen)
    : kind_(kind), input_size_(input_size), hidden_size_(hidden_size) {
  KILN_CHECK(num_layers > 0, kind_name(kind), "num_layers is {}, expected at least 1", num_layers);
  for (int64_t k = 0; k < num_layers; ++k)
    layers_.push_back(make_weights(kind, k == 0 ? input_size : hidden_size, hidden_size, bias, gen,
                                   "_l" + std::to_string(k),
                                   [this](std::string name, Tensor value) {
                                     return register_parameter(std::move(name), std::move(value));
                                   }));
}

RecurrentLayer::Output RecurrentLayer::forward(const Tensor& x,
                                               const RecurrentState& initial) const {
  const Tensor& like = layers_.front().weight_ih;
  check_input(kind_, x, 3, "[B, T, C]", input_size_, like);
  const int64_t batch = x.size(0);
  const int64_t steps = x.size(1);
  KILN_CHECK(steps > 0, kind_name(kind_), "input has shape {}, expected at least one step",
             shape_str(x.shape()));
  const Shape state_shape{num_layers(), batch, hidden_size_};
  check_state(kind_, "initial h", initial.h, state_shape, like);
  if (kind_ == CellKind::lstm) check_state(kind_, "initial c", initial.c, state_shape, like);

  Tensor layer_input = x;
  std::vector<Tensor> final_h, final_c;
  for (int64_t k = 0; k < num_layers(); ++k) {
    const RecurrentWeights& w = layers_[static_cast<size_t>(k)];
    RecurrentState s;
    s.h = initial.h.defined() ? squeeze(slice(initial.h, 0, k, k + 1), 0)
                              : zeros_like_state(like, batch, hidden_size_);
    if (kind_ == CellKind::lstm)
      s.c = initial.c.defined() ? squeeze(slice(initial.c, 0, k, k + 1), 0)
                                : zeros_like_state(like, batch, hidden_size_);
    // Every step's input projection in one matmul; the loop below only adds h_{t-1}'s part.
    const std::vector<Tensor> x_proj = split(linear(layer_input, w.weight_ih, w.bias_ih), 1, 1);
    std::vector<Tensor> outputs;
    outputs.reserve(static_cast<size_t>(steps));
    for (const Tensor& step_proj : x_proj) {
      s = recurrent_step(kind_, w, squeeze(step_proj, 1), s);
      outputs.push_back(unsqueeze(s.h, 1));
    }
    layer_input = cat(outputs, 1);
    final_h.push_back(unsqueeze(s.h, 0));
    if (kind_ == CellKind::lstm) final_c.push_back(unsqueeze(s.c, 0));
  }
  Output out;
  out.output = layer_input;
  out.state.h = cat(final_h, 0);
  if (kind_ == CellKind::lstm) out.state.c = cat(final_c, 0);
  return out;
}

}  // namespace kiln::models

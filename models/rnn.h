#pragma once
// The course's recurrent networks: the simple RNN (tanh), LSTM and GRU, as cells (one step) and
// as layers over a sequence [B, T, C].
//
// Parameter names, shapes, gate order and initialisation are PyTorch's (torch.nn.RNNCell /
// LSTMCell / GRUCell: weight_ih [G*H, C], weight_hh [G*H, H], bias_ih, bias_hh; torch.nn.RNN /
// LSTM / GRU with batch_first=True: the same with an _l<k> suffix per layer; gates i, f, g, o for
// the LSTM and r, z, n for the GRU), so a state dict moves between the two unchanged.
//
// Everything is built from core ops, so autograd works and the layers run on every device. The
// input projections of all T steps are one matmul ([B*T, C] x [C, G*H]); only the recurrence,
// which needs h_{t-1} before it can compute h_t, runs step by step. That loop is the point of
// the course's Experiment 7: its length grows with T and no hardware can shorten it.
#include <memory>
#include <optional>
#include <vector>

#include "core/random.h"
#include "models/module.h"

namespace kiln::models {

enum class CellKind { rnn_tanh, lstm, gru };

// How many H-sized blocks the projections produce: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
int64_t gate_count(CellKind kind);

// The hidden state, and the cell state c of an LSTM (undefined for RNN and GRU). Cells take and
// return [B, H]; layers [num_layers, B, H] as torch.nn.LSTM does. An undefined tensor given as
// an initial state means zeros.
struct RecurrentState {
  Tensor h;
  Tensor c;
};

// One layer's (or one cell's) parameters.
struct RecurrentWeights {
  Tensor weight_ih;
  Tensor weight_hh;
  std::optional<Tensor> bias_ih;
  std::optional<Tensor> bias_hh;
};

// One step of `kind` from the projected input x_proj = x W_ihᵀ + b_ih [B, G*H] and the previous
// state (h, and c for the LSTM, both [B, H] and defined).
RecurrentState recurrent_step(CellKind kind, const RecurrentWeights& weights, const Tensor& x_proj,
                              const RecurrentState& state);

// One step for a batch: x [B, C] -> the new state. Subclasses name the kind.
class RecurrentCell : public Module {
 public:
  RecurrentState forward(const Tensor& x, const RecurrentState& state = {}) const;
  CellKind kind() const { return kind_; }
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  const RecurrentWeights& weights() const { return weights_; }

 protected:
  // Weights ~ U(-1/sqrt(H), 1/sqrt(H)), PyTorch's initialisation.
  RecurrentCell(CellKind kind, int64_t input_size, int64_t hidden_size, bool bias, Generator& gen);

 private:
  CellKind kind_;
  int64_t input_size_;
  int64_t hidden_size_;
  RecurrentWeights weights_;
};

// h' = tanh(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh).
class RNNCell : public RecurrentCell {
 public:
  RNNCell(int64_t input_size, int64_t hidden_size, Generator& gen, bool bias = true)
      : RecurrentCell(CellKind::rnn_tanh, input_size, hidden_size, bias, gen) {}
};

// [i, f, g, o] = x W_ihᵀ + b_ih + h W_hhᵀ + b_hh;
// c' = σ(f) c + σ(i) tanh(g);  h' = σ(o) tanh(c').
class LSTMCell : public RecurrentCell {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, Generator& gen, bool bias = true)
      : RecurrentCell(CellKind::lstm, input_size, hidden_size, bias, gen) {}
};

// r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r h_n), h' = (1 - z) n + z h, where
// x_* = x W_i*ᵀ + b_i* and h_* = h W_h*ᵀ + b_h* (PyTorch's GRU: r multiplies h_n after its bias).
class GRUCell : public RecurrentCell {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, Generator& gen, bool bias = true)
      : RecurrentCell(CellKind::gru, input_size, hidden_size, bias, gen) {}
};

// A stack of `num_layers` recurrent layers over x [B, T, C] (batch first); layer k > 0 reads
// layer k-1's outputs.
class RecurrentLayer : public Module {
 public:
  struct Output {
    Tensor output;         // [B, T, H]: the last layer's h_t for every t
    RecurrentState state;  // [num_layers, B, H]: every layer's state after step T
  };
  Output forward(const Tensor& x, const RecurrentState& initial = {}) const;

  CellKind kind() const { return kind_; }
  int64_t input_size() const { return input_size_; }
  int64_t hidden_size() const { return hidden_size_; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  const RecurrentWeights& weights(int64_t layer) const { return layers_.at(layer); }

 protected:
  RecurrentLayer(CellKind kind, int64_t input_size, int64_t hidden_size, int64_t num_layers,
                 bool bias, Generator& gen);

 private:
  CellKind kind_;
  int64_t input_size_;
  int64_t hidden_size_;
  std::vector<RecurrentWeights> layers_;
};

class RNN : public RecurrentLayer {
 public:
  RNN(int64_t input_size, int64_t hidden_size, Generator& gen, int64_t num_layers = 1,
      bool bias = true)
      : RecurrentLayer(CellKind::rnn_tanh, input_size, hidden_size, num_layers, bias, gen) {}
};

class LSTM : public RecurrentLayer {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, Generator& gen, int64_t num_layers = 1,
       bool bias = true)
      : RecurrentLayer(CellKind::lstm, input_size, hidden_size, num_layers, bias, gen) {}
};

class GRU : public RecurrentLayer {
 public:
  GRU(int64_t input_size, int64_t hidden_size, Generator& gen, int64_t num_layers = 1,
      bool bias = true)
      : RecurrentLayer(CellKind::gru, input_size, hidden_size, num_layers, bias, gen) {}
};

}  // namespace kiln::models

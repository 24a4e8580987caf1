#pragma once
// The eager autograd engine. An op that produces a tensor from inputs requiring grad records a
// Node: the inputs, and a function from the output's gradient to the inputs' gradients.
// backward() orders the Nodes topologically, runs them in reverse and accumulates into the
// .grad of leaves. Nodes keep their inputs alive, never their outputs (a saved output is
// captured detached), so the graph holds no reference cycles.
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace kiln {

// needs_input_grad[i] tells whether input i wants a gradient; entries left undefined in the
// result are treated as zero.
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output,
                                                     const std::vector<bool>& needs_input_grad)>;

struct Node {
  std::string op;
  std::vector<Tensor> inputs;
  BackwardFn backward;

  Node() = default;
  // Frees chains of Nodes iteratively: a graph thousands of ops deep would overflow the stack
  // with one destructor calling the next.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
};

// Turns recording off for its lifetime (inference, optimizer steps, the backward pass itself).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when recording is on and some defined input requires grad.
bool any_requires_grad(const std::vector<Tensor>& inputs);

// Makes `output` require grad with a Node over `inputs`, when any_requires_grad(inputs).
void record(std::string op, Tensor& output, std::vector<Tensor> inputs, BackwardFn backward);

// Runs the backward pass from `root` with d(root) = grad_output.
void run_backward(const Tensor& root, const Tensor& grad_output);

}  // namespace kiln

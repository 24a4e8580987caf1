#include "core/autograd.h"

#include <unordered_map>
#include <unordered_set>

#include "core/ops/elementwise.h"

namespace kiln {
namespace {

thread_local bool g_grad_enabled = true;

// Nodes in an order where every Node comes after all Nodes that consume its output.
// Iterative DFS: graphs of deep models would overflow the stack with recursion.
std::vector<Node*> reverse_topological_order(Node* root) {
  std::vector<Node*> post_order;
  std::unordered_set<Node*> visited{root};
  std::vector<std::pair<Node*, size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next_input] = stack.back();
    if (next_input < node->inputs.size()) {
      const Tensor& input = node->inputs[next_input++];
      Node* child = input.defined() ? input.grad_fn().get() : nullptr;
      if (child != nullptr && visited.insert(child).second) stack.push_back({child, 0});
    } else {
      post_order.push_back(node);
      stack.pop_back();
    }
  }
  return {post_order.rbegin(), post_order.rend()};
}

void accumulate_into_leaf(const Tensor& leaf, const Tensor& grad) {
  const Tensor existing = leaf.grad();
  // A fresh copy: the incoming gradient may alias another tensor's storage.
  leaf.set_grad(existing.defined() ? add(existing, grad) : grad.clone());
}

void check_grad_shape(const Node& node, size_t index, const Tensor& grad) {
  const Tensor& input = node.inputs[index];
  KILN_CHECK(grad.shape() == input.shape(), "backward",
             "{} produced a gradient of shape {} for input {} of shape {}", node.op,
             shape_str(grad.shape()), index, shape_str(input.shape()));
}

// Moves out the Nodes that only `node` keeps alive, so they are destroyed by the caller's loop
// instead of recursively.
void detach_sole_children(Node& node, std::vector<std::shared_ptr<Node>>& out) {
  node.backward = nullptr;  // its captures may hold the same inputs
  for (Tensor& input : node.inputs) {
    if (!input.defined() || input.impl_shared().use_count() != 1) continue;
    std::shared_ptr<Node>& child = input.impl_ptr()->grad_fn;
    if (child && child.use_count() == 1) out.push_back(std::move(child));
  }
  node.inputs.clear();
}

}  // namespace

Node::~Node() {
  std::vector<std::shared_ptr<Node>> pending;
  detach_sole_children(*this, pending);
  while (!pending.empty()) {
    std::shared_ptr<Node> node = std::move(pending.back());
    pending.pop_back();
    detach_sole_children(*node, pending);
  }
}

NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void record(std::string op, Tensor& output, std::vector<Tensor> inputs, BackwardFn backward) {
  if (!any_requires_grad(inputs)) return;
  auto node = std::make_shared<Node>();
  node->op = std::move(op);
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  output.impl_ptr()->requires_grad = true;
  output.impl_ptr()->grad_fn = std::move(node);
}

void run_backward(const Tensor& root, const Tensor& grad_output) {
  KILN_CHECK(root.requires_grad(), "backward",
             "the tensor does not require grad: no input of the ops that made it has "
             "requires_grad set, or it came only through non-differentiable ops (argmax, "
             "comparisons, integer casts) or under a NoGradGuard");
  KILN_CHECK(grad_output.shape() == root.shape(), "backward",
             "gradient has shape {}, expected the output's shape {}",
             shape_str(grad_output.shape()), shape_str(root.shape()));
  NoGradGuard no_grad;
  if (root.is_leaf()) {
    accumulate_into_leaf(root, grad_output);
    return;
  }
  std::unordered_map<Node*, Tensor> pending{{root.grad_fn().get(), grad_output}};
  for (Node* node : reverse_topological_order(root.grad_fn().get())) {
    auto it = pending.find(node);
    if (it == pending.end()) continue;  // no gradient reached it
    const Tensor grad = std::move(it->second);
    pending.erase(it);
    std::vector<bool> needs(node->inputs.size());
    for (size_t i = 0; i < needs.size(); ++i)
      needs[i] = node->inputs[i].defined() && node->inputs[i].requires_grad();
    const std::vector<Tensor> input_grads = node->backward(grad, needs);
    KILN_CHECK(input_grads.size() == node->inputs.size(), "backward",
               "{} returned {} gradients for {} inputs", node->op, input_grads.size(),
               node->inputs.size());
    for (size_t i = 0; i < input_grads.size(); ++i) {
      if (!needs[i] || !input_grads[i].defined()) continue;
      check_grad_shape(*node, i, input_grads[i]);
      const Tensor& input = node->inputs[i];
      if (input.is_leaf()) {
        accumulate_into_leaf(input, input_grads[i]);
      } else {
        Tensor& slot = pending[input.grad_fn().get()];
        slot = slot.defined() ? add(slot, input_grads[i]) : input_grads[i];
      }
    }
  }
}

}  // namespace kiln

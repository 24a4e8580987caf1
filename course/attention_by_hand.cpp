// The slides' worked example of self-attention on three tokens, computed with kiln's ops:
// S = Q Kᵀ / sqrt(d_k), A = softmax(S) row by row, output = A V. With the slide's Q, K, V the
// rows of A are 0.401 0.401 0.198 / 0.198 0.401 0.401 / 0.248 0.503 0.248: t3 looks mostly at t2.
#include <fmt/core.h>

#include <cmath>

#include "core/ops.h"
#include "course/experiments.h"

namespace kiln::course {
namespace {

// "1 0; 0 1; 1 1" -> a [rows, cols] tensor.
Tensor parse_matrix(const Args& args, const std::string& name) {
  const std::string text = args.text(name);
  std::vector<float> values;
  int64_t rows = 0;
  int64_t cols = -1;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(';', start), text.size());
    std::vector<float> row;
    size_t pos = start;
    while (pos < end) {
      while (pos < end && text[pos] == ' ') ++pos;
      if (pos == end) break;
      size_t used = 0;
      double v = 0;
      try {
        v = std::stod(text.substr(pos, end - pos), &used);
      } catch (const std::exception&) {
        fail(args.op(), "--{} '{}': expected rows of numbers separated by ';'", name, text);
      }
      row.push_back(static_cast<float>(v));
      pos += used;
    }
    KILN_CHECK(!row.empty(), args.op(), "--{} '{}' has an empty row", name, text);
    KILN_CHECK(cols < 0 || cols == static_cast<int64_t>(row.size()), args.op(),
               "--{} '{}': every row needs {} numbers", name, text, cols);
    cols = static_cast<int64_t>(row.size());
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
    start = end + 1;
  }
  return from_vector(values, {rows, cols});
}

Table matrix_table(const Tensor& m, const std::string& row_prefix, const std::string& col_prefix) {
  const int64_t rows = m.shape()[0];
  const int64_t cols = m.shape()[1];
  Table table{{""}, {}};
  for (int64_t j = 0; j < cols; ++j) table.header.push_back(fmt::format("{}{}", col_prefix, j + 1));
  const auto v = m.contiguous().to_vector<float>();
  for (int64_t i = 0; i < rows; ++i) {
    std::vector<std::string> row{fmt::format("{}{}", row_prefix, i + 1)};
    for (int64_t j = 0; j < cols; ++j) row.push_back(cell(v[i * cols + j], 3));
    table.add(row);
  }
  return table;
}

void run(const Args& args, Output& out) {
  const Tensor q = parse_matrix(args, "q");
  const Tensor k = parse_matrix(args, "k");
  const Tensor v = parse_matrix(args, "v");
  KILN_CHECK(q.shape()[1] == k.shape()[1], args.op(),
             "Q has {} columns and K {}: queries and keys need the same width d_k", q.shape()[1],
             k.shape()[1]);
  KILN_CHECK(k.shape()[0] == v.shape()[0], args.op(),
             "K has {} rows and V {}: one key and one value per token", k.shape()[0], v.shape()[0]);
  const double d_k = static_cast<double>(q.shape()[1]);

  // Step 1: how well each query matches each key, scaled so that scores do not grow with d_k.
  const Tensor scores = matmul(q, k, false, true) / std::sqrt(d_k);
  // Step 2: each row becomes a probability distribution over the tokens.
  const Tensor weights = softmax(scores);
  // Step 3: each token's output is the weighted mean of the values.
  const Tensor output = matmul(weights, v);

  fmt::print("S = Q Kᵀ / sqrt({}):\n", d_k);
  const Table s = matrix_table(scores, "t", "t");
  s.print();
  fmt::print("\nA = softmax(S), row by row (each row sums to 1):\n");
  const Table a = matrix_table(weights, "t", "t");
  a.print();
  fmt::print("\nAV (each token's new representation):\n");
  const Table av = matrix_table(output, "t", "dim");
  av.print();
  out.write_csv("scores.csv", s);
  out.write_csv("weights.csv", a);
  out.write_csv("output.csv", av);
  out.plot("attention_by_hand", "attention_by_hand.png");
}

}  // namespace

Experiment attention_by_hand_experiment() {
  return {"attention-by-hand",
          "De l'attention au Transformer: mini-calcul d'attention",
          "The slides' 3-token self-attention: S = QKᵀ/√d, A = softmax(S), AV",
          {{"q", "Queries, rows separated by ';'", "1 0; 0 1; 1 1", ""},
           {"k", "Keys, rows separated by ';'", "1 0; 1 1; 0 1", ""},
           {"v", "Values, rows separated by ';'", "1 0; 0 1; 1 1", ""}},
          run};
}

}  // namespace kiln::course

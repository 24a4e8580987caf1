#include <omp.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "core/autograd.h"
#include "core/ops/attention.h"
#include "core/random.h"
#include "tests/ops/op_harness.h"
#include "tests/require_cuda.h"
#include "tests/test_util.h"

namespace kiln::testing {
namespace {

// softmax(q kᵀ · scale [+ causal mask]) v with the whole score row in hand, in double. Query head
// h reads kv head h / (H / Hkv); a query that sees no key gives 0.
RefTensor ref_attention(const RefTensor& q, const RefTensor& k, const RefTensor& v, bool causal,
                        double scale) {
  const int64_t batch = q.shape[0], heads = q.shape[1], tq = q.shape[2], dim = q.shape[3];
  const int64_t kv_heads = k.shape[1], tk = k.shape[2];
  RefTensor out(q.shape);
  std::vector<double> scores(static_cast<size_t>(tk));
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t hk = h / (heads / kv_heads);
      for (int64_t i = 0; i < tq; ++i) {
        const int64_t seen = causal ? std::min(tk, std::max<int64_t>(0, i + tk - tq + 1)) : tk;
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < seen; ++j) {
          double s = 0.0;
          for (int64_t c = 0; c < dim; ++c) s += q.at({b, h, i, c}) * k.at({b, hk, j, c});
          scores[static_cast<size_t>(j)] = s * scale;
          max = std::max(max, s * scale);
        }
        double sum = 0.0;
        for (int64_t j = 0; j < seen; ++j) sum += std::exp(scores[static_cast<size_t>(j)] - max);
        for (int64_t c = 0; c < dim; ++c) {
          double o = 0.0;
          for (int64_t j = 0; j < seen; ++j)
            o += std::exp(scores[static_cast<size_t>(j)] - max) / sum * v.at({b, hk, j, c});
          out.at({b, h, i, c}) = o;
        }
      }
    }
  return out;
}

// With one visible key a query's softmax row is exactly 1, so dS = P·(dP - D) is 0 and so are
// dq and dk for it: what a kernel returns there is the rounding residue of dP - D, two sums of
// the same products in different orders (about 1e-8 for these inputs on an H200). Gradients
// here are of order 0.1-1, so a floor of 1e-2 per element changes nothing elsewhere.
constexpr double kGradientFloor = 1e-2;

struct AttentionSpec {
  int64_t batch, heads, kv_heads, tq, tk, dim;
  bool causal;
  std::optional<double> scale;
  bool gradients = true;
  AttentionImpl impl = AttentionImpl::automatic;
};

OpCase attention_case(const AttentionSpec& s) {
  OpCase c;
  c.name = "attention_b" + std::to_string(s.batch) + "_h" + std::to_string(s.heads) + "_kv" +
           std::to_string(s.kv_heads) + "_tq" + std::to_string(s.tq) + "_tk" +
           std::to_string(s.tk) + "_d" + std::to_string(s.dim) + (s.causal ? "_causal" : "") +
           (s.scale ? "_scaled" : "") + (s.impl == AttentionImpl::naive ? "_naive" : "");
  c.inputs = {InputSpec::real({s.batch, s.heads, s.tq, s.dim}, -1.5, 1.5),
              InputSpec::real({s.batch, s.kv_heads, s.tk, s.dim}, -1.5, 1.5),
              InputSpec::real({s.batch, s.kv_heads, s.tk, s.dim})};
  c.op = [s](const std::vector<Tensor>& in) {
    return scaled_dot_product_attention(in[0], in[1], in[2],
                                        AttentionOptions{s.causal, s.scale, s.impl});
  };
  c.reference = [s](const std::vector<RefTensor>& in) {
    const double scale = s.scale.value_or(1.0 / std::sqrt(static_cast<double>(s.dim)));
    return ref_attention(in[0], in[1], in[2], s.causal, scale);
  };
  c.check_gradients = s.gradients;
  c.gradient_floor = kGradientFloor;
  return c;
}

std::vector<OpCase> attention_cases() {
  std::vector<OpCase> cases;
  for (const bool causal : {false, true}) {
    cases.push_back(attention_case({1, 1, 1, 1, 1, 8, causal, {}}));
    cases.push_back(attention_case({2, 2, 2, 7, 7, 8, causal, {}}));
    cases.push_back(attention_case({1, 1, 1, 7, 7, 16, causal, {}}));
    // 33 queries and keys: more than one query tile and key tile, neither full.
    cases.push_back(attention_case({1, 1, 1, 33, 33, 8, causal, {}}));
    // Tq < Tk: a block of queries after a cached prefix.
    cases.push_back(attention_case({1, 2, 2, 5, 9, 8, causal, {}}));
    // 70 keys: two key blocks, so the running max rescales the accumulator.
    cases.push_back(attention_case({1, 1, 1, 3, 70, 4, causal, {}}));
    // Grouped-query attention: 2 and 4 query heads per kv head.
    cases.push_back(attention_case({1, 4, 2, 7, 7, 8, causal, {}}));
    cases.push_back(attention_case({2, 4, 1, 5, 6, 4, causal, {}}));
    cases.push_back(attention_case({1, 2, 1, 6, 5, 8, causal, 0.3}));
    // Forward only: larger and uneven everywhere.
    cases.push_back(attention_case({2, 6, 3, 65, 97, 16, causal, {}, false}));
    cases.push_back(attention_case({1, 2, 2, 33, 33, 16, causal, 1.7, false}));
    // The head dims the CUDA tensor-core kernels specialise, with sequences that are below,
    // not a multiple of, and above their 64- and 128-row tiles.
    cases.push_back(attention_case({1, 2, 1, 9, 11, 32, causal, {}}));
    cases.push_back(attention_case({1, 2, 1, 130, 130, 64, causal, {}, false}));
    cases.push_back(attention_case({1, 1, 1, 33, 77, 96, causal, {}, false}));
    cases.push_back(attention_case({2, 2, 2, 65, 47, 128, causal, {}, false}));
    // The naive composition (matmul, softmax, matmul) through the same checks.
    for (const AttentionSpec& spec :
         {AttentionSpec{2, 4, 2, 7, 7, 8, causal, {}}, AttentionSpec{1, 2, 1, 5, 9, 4, causal, 0.3},
          AttentionSpec{1, 2, 1, 7, 3, 8, causal, {}}}) {
      AttentionSpec naive = spec;
      naive.impl = AttentionImpl::naive;
      cases.push_back(attention_case(naive));
    }
  }
  // Tq > Tk, causal: the first queries see no key and give 0.
  cases.push_back(attention_case({1, 2, 1, 7, 3, 8, true, {}}));
  return cases;
}

KILN_OP_CASES(Attention, attention_cases());

RefTensor to_ref(const Tensor& t) {
  RefTensor r(t.shape());
  r.data = t.to_vector<double>();
  return r;
}

TEST(Attention, LongSequenceMatchesNaiveSoftmax) {
  // T = 2048 streams over 32 key blocks and 64 query tiles without a T x T matrix; the naive
  // reference holds whole score rows.
  const Shape shape{1, 1, 2048, 16};
  const Tensor q = random_tensor(shape, 41), k = random_tensor(shape, 42),
               v = random_tensor(shape, 43);
  for (const bool causal : {false, true}) {
    const RefTensor expected = ref_attention(to_ref(q), to_ref(k), to_ref(v), causal, 0.25);
    const Tensor out = scaled_dot_product_attention(q, k, v, causal);
    EXPECT_LE(relative_error(out.to_vector<double>(), expected.data), 1e-5) << causal;
    const Tensor out64 =
        scaled_dot_product_attention(q.to(DType::f64), k.to(DType::f64), v.to(DType::f64), causal);
    EXPECT_LE(relative_error(out64.to_vector<double>(), expected.data), 1e-12) << causal;
  }
}

std::vector<std::vector<float>> attention_grads(int threads) {
  const int previous = omp_get_max_threads();
  omp_set_num_threads(threads);
  Tensor q = random_tensor({2, 4, 45, 16}, 44).set_requires_grad(true);
  Tensor k = random_tensor({2, 2, 77, 16}, 45).set_requires_grad(true);
  Tensor v = random_tensor({2, 2, 77, 16}, 46).set_requires_grad(true);
  scaled_dot_product_attention(q, k, v, true).backward(random_tensor({2, 4, 45, 16}, 47));
  omp_set_num_threads(previous);
  return {q.grad().to_vector<float>(), k.grad().to_vector<float>(), v.grad().to_vector<float>()};
}

TEST(Attention, GradientsDoNotDependOnThreadCount) {
  const auto one = attention_grads(1);
  EXPECT_EQ(one, attention_grads(3));
  EXPECT_EQ(one, attention_grads(8));
}

TEST(Attention, FullyMaskedQueriesGiveZeros) {
  Tensor q = random_tensor({1, 1, 4, 8}, 48, DType::f64).set_requires_grad(true);
  const Tensor k = random_tensor({1, 1, 2, 8}, 49, DType::f64);
  const Tensor v = random_tensor({1, 1, 2, 8}, 50, DType::f64);
  const Tensor out = scaled_dot_product_attention(q, k, v, true);
  const std::vector<double> o = out.to_vector<double>(), vv = v.to_vector<double>();
  for (size_t i = 0; i < 16; ++i) EXPECT_EQ(o[i], 0.0);  // queries 0 and 1 see no key
  for (size_t c = 0; c < 8; ++c) EXPECT_NEAR(o[16 + c], vv[c], 1e-15);  // query 2 sees key 0
  out.backward(random_tensor({1, 1, 4, 8}, 51, DType::f64));
  const std::vector<double> g = q.grad().to_vector<double>();
  for (size_t i = 0; i < 24; ++i) EXPECT_EQ(g[i], 0.0) << i;
}

struct Grads {
  std::vector<double> out, dq, dk, dv;
};

// Output and gradients for a random output gradient, inputs cast to `dtype` on `device`.
Grads run_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& dout,
                    const AttentionOptions& options, DType dtype, Device device) {
  auto leaf = [&](const Tensor& t) {
    Tensor x = t.to(dtype).to(device).detach();
    x.set_requires_grad(true);
    return x;
  };
  Tensor ql = leaf(q), kl = leaf(k), vl = leaf(v);
  const Tensor out = scaled_dot_product_attention(ql, kl, vl, options);
  out.backward(dout.to(dtype).to(device));
  return {out.to_vector<double>(), ql.grad().to_vector<double>(), kl.grad().to_vector<double>(),
          vl.grad().to_vector<double>()};
}

void expect_close(const Grads& a, const Grads& b, double tolerance, const std::string& what) {
  EXPECT_LE(relative_error(a.out, b.out), tolerance) << what << " out";
  EXPECT_LE(relative_error(a.dq, b.dq, kGradientFloor), tolerance) << what << " dq";
  EXPECT_LE(relative_error(a.dk, b.dk, kGradientFloor), tolerance) << what << " dk";
  EXPECT_LE(relative_error(a.dv, b.dv, kGradientFloor), tolerance) << what << " dv";
}

// Why the CUDA comparison needs kGradientFloor: with one key the exact dq and dk are 0, so a
// purely relative error between two implementations is a ratio of rounding residues.
TEST(Attention, OneVisibleKeyHasZeroQueryAndKeyGradients) {
  for (const bool causal : {false, true}) {
    const Tensor q = random_tensor({1, 2, 1, 32}, 90, DType::f64);
    const Tensor k = random_tensor({1, 2, 1, 32}, 91, DType::f64);
    const Tensor v = random_tensor({1, 2, 1, 32}, 92, DType::f64);
    const Tensor g = random_tensor({1, 2, 1, 32}, 93, DType::f64);
    const Grads grads =
        run_attention(q, k, v, g, AttentionOptions{causal, {}}, DType::f64, Device::cpu());
    for (const double x : grads.dq) EXPECT_NEAR(x, 0.0, 1e-15);
    for (const double x : grads.dk) EXPECT_NEAR(x, 0.0, 1e-15);
    EXPECT_EQ(grads.dv, g.to_vector<double>());  // the one key takes the whole output gradient
  }
  // A residue of 1e-8 against an exact 0 is no error under the floor, and a real one still is.
  const std::vector<double> zero(32, 0.0), residue(32, 1e-8), wrong(32, 1e-3);
  EXPECT_LE(relative_error(residue, zero, kGradientFloor), 1e-5);
  EXPECT_GT(relative_error(wrong, zero, kGradientFloor), 1e-5);
  EXPECT_GT(relative_error(residue, zero), 1e10);
}

TEST(Attention, NaiveMatchesFusedOnCpu) {
  struct Shape4 {
    int64_t batch, heads, kv_heads, tq, tk, dim;
  };
  for (const Shape4 s :
       {Shape4{2, 4, 2, 37, 37, 16}, Shape4{1, 3, 1, 5, 70, 8}, Shape4{1, 2, 2, 9, 4, 8}}) {
    for (const bool causal : {false, true}) {
      const Tensor q = random_tensor({s.batch, s.heads, s.tq, s.dim}, 60, DType::f64);
      const Tensor k = random_tensor({s.batch, s.kv_heads, s.tk, s.dim}, 61, DType::f64);
      const Tensor v = random_tensor({s.batch, s.kv_heads, s.tk, s.dim}, 62, DType::f64);
      const Tensor g = random_tensor({s.batch, s.heads, s.tq, s.dim}, 63, DType::f64);
      AttentionOptions options{causal, 0.4};
      const Grads fused = run_attention(q, k, v, g, options, DType::f64, Device::cpu());
      options.impl = AttentionImpl::naive;
      const Grads naive = run_attention(q, k, v, g, options, DType::f64, Device::cpu());
      expect_close(naive, fused, 1e-12,
                   "tq " + std::to_string(s.tq) + " causal " + std::to_string(causal));
    }
  }
}

TEST(Attention, ProbabilitiesAreTheSoftmaxRows) {
  const Tensor q = random_tensor({1, 4, 6, 8}, 64), k = random_tensor({1, 2, 4, 8}, 65),
               v = random_tensor({1, 2, 4, 8}, 66);
  const auto [out, probs] = attention_with_probabilities(q, k, v, AttentionOptions{true, {}});
  ASSERT_EQ(probs.shape(), (Shape{1, 4, 6, 4}));
  EXPECT_LE(relative_error(out.to_vector<double>(),
                           scaled_dot_product_attention(q, k, v, true).to_vector<double>()),
            1e-5);
  const std::vector<double> p = probs.to_vector<double>();
  for (int64_t row = 0; row < 4 * 6; ++row) {
    double sum = 0.0;
    for (int64_t j = 0; j < 4; ++j) sum += p[static_cast<size_t>(row * 4 + j)];
    // Queries 0 and 1 of each head see no key (6 queries, 4 keys, bottom-right aligned).
    EXPECT_NEAR(sum, row % 6 < 2 ? 0.0 : 1.0, 1e-6) << row;
  }
}

// CUDA in bf16/f16 (tensor cores for head dims 32..128, FMA otherwise) and f32 (FMA) against
// the CPU kernel in f32 on the same rounded inputs.
TEST(AttentionCuda, MatchesCpu) {
  KILN_SKIP_WITHOUT_CUDA();
  struct Case {
    int64_t batch, heads, kv_heads, tq, tk;
  };
  const Case cases[] = {{1, 1, 1, 1, 1},
                        {2, 4, 2, 77, 77},
                        {1, 2, 1, 130, 257},
                        {1, 2, 2, 200, 64},
                        {1, 1, 1, 300, 300}};
  for (const int64_t dim : {32, 64, 96, 128, 40}) {
    for (const Case& c : cases) {
      for (const bool causal : {false, true}) {
        for (const bool deterministic : {false, true}) {
          const Tensor q = random_tensor({c.batch, c.heads, c.tq, dim}, 70);
          const Tensor k = random_tensor({c.batch, c.kv_heads, c.tk, dim}, 71);
          const Tensor v = random_tensor({c.batch, c.kv_heads, c.tk, dim}, 72);
          const Tensor g = random_tensor({c.batch, c.heads, c.tq, dim}, 73);
          AttentionOptions options{causal, {}};
          options.deterministic = deterministic;
          for (const auto& [dtype, tolerance] :
               {std::pair{DType::f32, 1e-5}, std::pair{DType::bf16, 2e-2},
                std::pair{DType::f16, 5e-3}}) {
            // The CPU sees the same rounded values the GPU does.
            auto rounded = [&](const Tensor& t) { return t.to(dtype).to(DType::f32); };
            const Grads expected = run_attention(rounded(q), rounded(k), rounded(v), rounded(g),
                                                 options, DType::f32, Device::cpu());
            const Grads got = run_attention(q, k, v, g, options, dtype, Device::cuda(0));
            expect_close(got, expected, tolerance,
                         std::string(dtype_name(dtype)) + " d" + std::to_string(dim) + " tq" +
                             std::to_string(c.tq) + " tk" + std::to_string(c.tk) +
                             (causal ? " causal" : "") + (deterministic ? " deterministic" : ""));
          }
        }
      }
    }
  }
}

TEST(AttentionCuda, DeterministicGradientsAreBitwiseEqual) {
  KILN_SKIP_WITHOUT_CUDA();
  const Tensor q = random_tensor({2, 8, 333, 128}, 80), k = random_tensor({2, 2, 333, 128}, 81),
               v = random_tensor({2, 2, 333, 128}, 82), g = random_tensor({2, 8, 333, 128}, 83);
  AttentionOptions options{true, {}};
  options.deterministic = true;
  const Grads first = run_attention(q, k, v, g, options, DType::bf16, Device::cuda(0));
  for (int run = 0; run < 3; ++run) {
    const Grads again = run_attention(q, k, v, g, options, DType::bf16, Device::cuda(0));
    EXPECT_EQ(first.dq, again.dq) << run;
    EXPECT_EQ(first.dk, again.dk) << run;
    EXPECT_EQ(first.dv, again.dv) << run;
  }
  // The atomic dq sums the same terms in another order.
  options.deterministic = false;
  const Grads atomic = run_attention(q, k, v, g, options, DType::bf16, Device::cuda(0));
  expect_close(atomic, first, 2e-2, "atomic vs deterministic");
}

TEST(Attention, BadShapesNameTheOp) {
  const std::string op = "[scaled_dot_product_attention] ";
  expect_error(
      [] {
        scaled_dot_product_attention(zeros({1, 2, 3, 8}), zeros({1, 2, 3, 4}), zeros({1, 2, 3, 4}));
      },
      op + "k has shape [1, 2, 3, 4], expected head dim 8");
  expect_error(
      [] {
        scaled_dot_product_attention(zeros({1, 3, 3, 8}), zeros({1, 2, 3, 8}), zeros({1, 2, 3, 8}));
      },
      op + "q has 3 heads, expected a multiple of k's 2 kv heads");
  expect_error(
      [] {
        scaled_dot_product_attention(zeros({2, 2, 3, 8}), zeros({1, 2, 3, 8}), zeros({1, 2, 3, 8}));
      },
      op + "k has shape [1, 2, 3, 8], expected batch 2");
  expect_error(
      [] {
        scaled_dot_product_attention(zeros({1, 2, 3, 8}), zeros({1, 2, 5, 8}), zeros({1, 2, 4, 8}));
      },
      op + "v has shape [1, 2, 4, 8], expected k's shape [1, 2, 5, 8]");
  expect_error(
      [] {
        scaled_dot_product_attention(zeros({2, 3, 8}), zeros({1, 2, 3, 8}), zeros({1, 2, 3, 8}));
      },
      op + "q [B, H, Tq, D] has shape [2, 3, 8], expected 4 dims");
  expect_error(
      [] {
        scaled_dot_product_attention(zeros({1, 2, 3, 8}),
                                     zeros({1, 2, 3, 8}, TensorOptions{DType::f64}),
                                     zeros({1, 2, 3, 8}));
      },
      op + "k has dtype f64, expected f32");
}

}  // namespace
}  // namespace kiln::testing

#pragma once
// Warp reductions over shuffles, the one home of them for every CUDA kernel.
//   warp_reduce(v, op): butterfly (xor) exchange; every lane ends with the reduction of all 32
//     lanes, combined in the same order on each, so they agree bit for bit.
//   warp_sum / warp_max: warp_reduce of floats with + and fmaxf.
//   warp_reduce_down<Op>(acc): shift-down tree for accumulators that shuffle themselves
//     (Op::shuffle_down, Op::combine: a value with its index, say); only lane 0 ends with the
//     reduction.
// blockDim.x is a multiple of 32 and every lane of the warp takes part.
namespace kiln::kernels::cuda {

struct SumOp {
  template <typename V>
  __device__ V operator()(V a, V b) const {
    return a + b;
  }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <typename V, typename Op>
__device__ inline V warp_reduce(V v, Op op) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1)
    v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

__device__ inline float warp_sum(float x) {
  return warp_reduce(x, SumOp{});
}

__device__ inline float warp_max(float x) {
  return warp_reduce(x, MaxOp{});
}

template <typename Op>
__device__ inline typename Op::Acc warp_reduce_down(typename Op::Acc acc) {
#pragma unroll
  for (int delta = 16; delta > 0; delta /= 2) acc = Op::combine(acc, Op::shuffle_down(acc, delta));
  return acc;
}

}  // namespace kiln::kernels::cuda

// CPU add: an outer loop over the coalesced dimensions hands rows of the
// innermost dimension to an inner loop. Rows whose operands are all contiguous,
// or contiguous with one stride-0 (broadcast or scalar) input, run on 32-byte
// vectors (four per step); everything else runs the same element functor one
// element at a time. Operands whose dtype differs from the compute type are read
// and written with a conversion per element.
#include "kernels/cpu/binary.h"

#include <algorithm>
#include <cstdint>

#include "kernels/common/dispatch.h"
#include "kernels/cpu/loops.h"
#include "kernels/cpu/vec.h"

namespace strata::kernels::cpu {
namespace {

// Results at least this large are written with non-temporal stores (about half
// the last-level cache of the machines we measure on: with the two inputs the
// working set no longer fits).
constexpr int64_t kStreamMinBytes = int64_t{16} << 20;

// Types whose arithmetic maps onto Vec lanes. Half and BFloat16 compute in float
// and stay on the element loop (auto-vectorized where the compiler manages it).
template <typename T>
inline constexpr bool kVectorizable = !std::is_same_v<T, Half> && !std::is_same_v<T, BFloat16>;

template <typename T, bool kAlphaOne>
inline Vec<T> vec_add(Vec<T> a, Vec<T> b, Vec<T> alpha) {
  if constexpr (std::is_same_v<T, bool>) {
    return kAlphaOne ? (a | b) : (a | (alpha & b));
  } else {
    return kAlphaOne ? (a + b) : (a + alpha * b);
  }
}

// One row on vectors: kBroadcastA / kBroadcastB mark a stride-0 input. With
// kStream the output is written with non-temporal stores (see add_loop).
template <typename T, bool kAlphaOne, bool kBroadcastA, bool kBroadcastB, bool kStream = false>
void add_row_vectorized(T* out, const T* a, const T* b, int64_t n, opmath_t<T> alpha) {
  using V = Vec<T>;
  constexpr int kUnroll = 4;
  constexpr int64_t kStep = kUnroll * V::kSize;
  const AddFunctor<T, kAlphaOne> op{alpha};
  const V alpha_vec = V::broadcast(static_cast<T>(alpha));
  const V a_value = kBroadcastA ? V::broadcast(*a) : V{};
  const V b_value = kBroadcastB ? V::broadcast(*b) : V{};
  int64_t i = 0;
  if constexpr (kStream) {
    // Scalar steps up to the first 32-byte boundary of out (streamed stores
    // must be aligned; a chunk of a parallel loop may start anywhere).
    const auto misaligned = reinterpret_cast<uintptr_t>(out) % kVecBytes;
    if (misaligned % sizeof(T) != 0) return add_row_vectorized<T, kAlphaOne, kBroadcastA, kBroadcastB>(out, a, b, n, alpha);
    const int64_t head = std::min<int64_t>(n, misaligned == 0 ? 0 : (kVecBytes - misaligned) / sizeof(T));
    for (; i < head; ++i) out[i] = op(kBroadcastA ? *a : a[i], kBroadcastB ? *b : b[i]);
  }
  for (; i + kStep <= n; i += kStep) {
    V x[kUnroll];
    V y[kUnroll];
    // All loads before any store: out may be a or b (x.add_(y)).
    for (int u = 0; u < kUnroll; ++u) {
      x[u] = kBroadcastA ? a_value : V::load(a + i + u * V::kSize);
      y[u] = kBroadcastB ? b_value : V::load(b + i + u * V::kSize);
    }
    for (int u = 0; u < kUnroll; ++u) {
      const V sum = vec_add<T, kAlphaOne>(x[u], y[u], alpha_vec);
      if constexpr (kStream) {
        sum.store_stream(out + i + u * V::kSize);
      } else {
        sum.store(out + i + u * V::kSize);
      }
    }
  }
  if constexpr (kStream) stream_fence();
  for (; i < n; ++i) {
    out[i] = op(kBroadcastA ? *a : a[i], kBroadcastB ? *b : b[i]);
  }
}

// One row, all operands of the compute type T.
template <typename T, bool kAlphaOne>
void add_row_same_dtype(char* out, const char* a, const char* b, int64_t out_stride,
                        int64_t a_stride, int64_t b_stride, int64_t n, opmath_t<T> alpha) {
  constexpr int64_t kSize = sizeof(T);
  if constexpr (kVectorizable<T>) {
    if (out_stride == kSize) {
      T* o = reinterpret_cast<T*>(out);
      const T* x = reinterpret_cast<const T*>(a);
      const T* y = reinterpret_cast<const T*>(b);
      if (a_stride == kSize && b_stride == kSize) {
        return add_row_vectorized<T, kAlphaOne, false, false>(o, x, y, n, alpha);
      }
      if (a_stride == kSize && b_stride == 0) {
        return add_row_vectorized<T, kAlphaOne, false, true>(o, x, y, n, alpha);
      }
      if (a_stride == 0 && b_stride == kSize) {
        return add_row_vectorized<T, kAlphaOne, true, false>(o, x, y, n, alpha);
      }
    }
  }
  using M = opmath_t<T>;
  const AddFunctor<M, kAlphaOne> op{alpha};
  for (int64_t i = 0; i < n; ++i) {
    const M x = static_cast<M>(*reinterpret_cast<const T*>(a + i * a_stride));
    const M y = static_cast<M>(*reinterpret_cast<const T*>(b + i * b_stride));
    *reinterpret_cast<T*>(out + i * out_stride) = static_cast<T>(op(x, y));
  }
}

// Up to kCastBlock elements of a strided operand stored as `dtype`, converted
// to T, into dst (the dtype switch runs once per block, not per element).
constexpr int64_t kCastBlock = 256;

template <typename T>
void load_block(const char* p, int64_t stride, DType dtype, int64_t m, T* dst) {
  dispatch_dtype(dtype, [&](auto tag) {
    using S = typename decltype(tag)::type;
    for (int64_t k = 0; k < m; ++k) dst[k] = convert<T>(*reinterpret_cast<const S*>(p + k * stride));
  });
}

template <typename T>
void store_block(char* p, int64_t stride, DType dtype, int64_t m, const T* src) {
  dispatch_dtype(dtype, [&](auto tag) {
    using D = typename decltype(tag)::type;
    for (int64_t k = 0; k < m; ++k) *reinterpret_cast<D*>(p + k * stride) = convert<D>(src[k]);
  });
}

// One row with at least one operand of another dtype: inputs convert to T, the
// result rounds to T and then converts to the output's dtype (PyTorch computes
// in the common dtype and casts the result). Blocks of kCastBlock elements are
// converted in, added and converted out; each block reads all its inputs before
// writing, so out may be a or b (x.add_(y) with y of another dtype).
template <typename T, bool kAlphaOne>
void add_row_casting(char* out, const char* a, const char* b, int64_t out_stride,
                     int64_t a_stride, int64_t b_stride, int64_t n, opmath_t<T> alpha,
                     DType out_dtype, DType a_dtype, DType b_dtype) {
  using M = opmath_t<T>;
  const AddFunctor<M, kAlphaOne> op{alpha};
  T x[kCastBlock], y[kCastBlock], r[kCastBlock];
  for (int64_t i = 0; i < n; i += kCastBlock) {
    const int64_t m = std::min(kCastBlock, n - i);
    load_block<T>(a + i * a_stride, a_stride, a_dtype, m, x);
    load_block<T>(b + i * b_stride, b_stride, b_dtype, m, y);
    for (int64_t k = 0; k < m; ++k) r[k] = static_cast<T>(op(static_cast<M>(x[k]), static_cast<M>(y[k])));
    store_block<T>(out + i * out_stride, out_stride, out_dtype, m, r);
  }
}

template <typename T, bool kAlphaOne>
void add_loop(const ElementwiseDesc& it, opmath_t<T> alpha) {
  const DType out_dtype = it.operands[0].dtype;
  const DType a_dtype = it.operands[1].dtype;
  const DType b_dtype = it.operands[2].dtype;
  constexpr DType kCompute = dtype_of<T>;
  const bool same_dtype = out_dtype == kCompute && a_dtype == kCompute && b_dtype == kCompute;
  if (it.ndim <= 2 && it.numel < kGrainSize) {
    // Short: one thread, rows walked directly, no walker setup (it matters for
    // tiny tensors, x += row and [R,1] + [C] included).
    const Operand* op = it.operands;
    const int64_t rows = it.ndim == 2 ? it.sizes[1] : 1;
    const int64_t row = it.ndim == 2 ? it.sizes[0] : it.numel;
    for (int64_t r = 0; r < rows; ++r) {
      char* const o = op[0].data + (r == 0 ? 0 : r * op[0].byte_strides[1]);
      const char* const x = op[1].data + (r == 0 ? 0 : r * op[1].byte_strides[1]);
      const char* const y = op[2].data + (r == 0 ? 0 : r * op[2].byte_strides[1]);
      if (same_dtype) {
        add_row_same_dtype<T, kAlphaOne>(o, x, y, op[0].byte_strides[0], op[1].byte_strides[0],
                                         op[2].byte_strides[0], row, alpha);
      } else {
        add_row_casting<T, kAlphaOne>(o, x, y, op[0].byte_strides[0], op[1].byte_strides[0],
                                      op[2].byte_strides[0], row, alpha, out_dtype, a_dtype, b_dtype);
      }
    }
    return;
  }
  if constexpr (kVectorizable<T>) {
    // A large out-of-place result (bigger than the caches can hold next to its
    // inputs) is streamed to memory: a cached store first reads the line it
    // writes, a quarter of the traffic of a + b. In place (out is a or b) the
    // line is already read, and a result that fits is better left in cache.
    const Operand* op = it.operands;
    const int64_t out_bytes = it.numel * static_cast<int64_t>(sizeof(T));
    if (same_dtype && it.ndim == 1 && out_bytes >= kStreamMinBytes && op[0].data != op[1].data &&
        op[0].data != op[2].data && op[0].byte_strides[0] == static_cast<int64_t>(sizeof(T)) &&
        op[1].byte_strides[0] == static_cast<int64_t>(sizeof(T)) &&
        op[2].byte_strides[0] == static_cast<int64_t>(sizeof(T))) {
      for_each_run(it, [alpha](char* const* ptrs, const int64_t*, int64_t n) {
        add_row_vectorized<T, kAlphaOne, false, false, true>(reinterpret_cast<T*>(ptrs[0]),
                                                             reinterpret_cast<const T*>(ptrs[1]),
                                                             reinterpret_cast<const T*>(ptrs[2]), n, alpha);
      });
      return;
    }
  }
  if (same_dtype) {
    for_each_run(it, [alpha](char* const* ptrs, const int64_t* strides, int64_t n) {
      add_row_same_dtype<T, kAlphaOne>(ptrs[0], ptrs[1], ptrs[2], strides[0], strides[1], strides[2], n,
                                       alpha);
    });
  } else {
    for_each_run(it, [=](char* const* ptrs, const int64_t* strides, int64_t n) {
      add_row_casting<T, kAlphaOne>(ptrs[0], ptrs[1], ptrs[2], strides[0], strides[1], strides[2], n, alpha,
                                    out_dtype, a_dtype, b_dtype);
    });
  }
}

template <typename T, bool kAlphaOne>
void add_typed(const AddDesc& desc) {
  using M = opmath_t<T>;
  const M alpha = desc.alpha.as<M>();

  if (desc.scalar_input == 0) return add_loop<T, kAlphaOne>(desc.iter, alpha);
  // A host scalar input is read from this T through a stride-0 operand.
  const T scalar_value = static_cast<T>(desc.scalar.as<M>());
  ElementwiseDesc it = desc.iter;
  Operand& operand = it.operands[desc.scalar_input];
  operand.data = const_cast<char*>(reinterpret_cast<const char*>(&scalar_value));
  operand.dtype = dtype_of<T>;
  for (int d = 0; d < it.ndim; ++d) operand.byte_strides[d] = 0;
  add_loop<T, kAlphaOne>(it, alpha);
}

}  // namespace

void add(const AddDesc& desc) {
  if (desc.iter.numel == 0) return;
  dispatch_dtype(desc.compute_dtype, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if (desc.alpha_is_one) {
      add_typed<T, true>(desc);
    } else {
      add_typed<T, false>(desc);
    }
  });
}

}  // namespace strata::kernels::cpu

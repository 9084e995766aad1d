// A small fixed-width SIMD vector over GCC/Clang vector extensions: 32 bytes, so
// that a Release build (-march=x86-64-v3) keeps each one in a ymm register and
// other targets split it into narrower registers. Integer lanes are unsigned so
// that overflow wraps (PyTorch's integer results) without undefined behaviour;
// Bool lanes are bytes holding 0 or 1.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace strata::kernels::cpu {

inline constexpr int kVecBytes = 32;

template <typename T> struct VecLaneOf { using type = T; };
template <> struct VecLaneOf<bool> { using type = uint8_t; };
template <> struct VecLaneOf<int8_t> { using type = uint8_t; };
template <> struct VecLaneOf<int16_t> { using type = uint16_t; };
template <> struct VecLaneOf<int32_t> { using type = uint32_t; };
template <> struct VecLaneOf<int64_t> { using type = uint64_t; };

/// kSize elements of T (float, double, bool or an integer type).
template <typename T>
struct Vec {
  using Lane = typename VecLaneOf<T>::type;
  static constexpr int kSize = kVecBytes / static_cast<int>(sizeof(T));
  typedef Lane Native __attribute__((vector_size(kVecBytes)));

  Native v;

  static Vec load(const T* p) {
    Vec r;
    std::memcpy(&r.v, p, kVecBytes);  // unaligned load
    return r;
  }
  static Vec broadcast(T x) {
    Vec r;
    r.v = Native{} + static_cast<Lane>(x);
    return r;
  }
  void store(T* p) const { std::memcpy(p, &v, kVecBytes); }
  /// A non-temporal store (bypasses the caches, no read-for-ownership of the
  /// line): `p` must be kVecBytes-aligned. Follow a run of them by
  /// stream_fence() before other threads read the data.
  void store_stream(T* p) const {
#if defined(__AVX__)
    _mm256_stream_si256(reinterpret_cast<__m256i*>(p), reinterpret_cast<const __m256i&>(v));
#else
    store(p);
#endif
  }

  friend Vec operator+(Vec a, Vec b) { return {a.v + b.v}; }
  friend Vec operator*(Vec a, Vec b) { return {a.v * b.v}; }
  friend Vec operator|(Vec a, Vec b) { return {a.v | b.v}; }
  friend Vec operator&(Vec a, Vec b) { return {a.v & b.v}; }
};

/// Orders earlier non-temporal stores before later stores.
inline void stream_fence() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_sfence();
#endif
}

}  // namespace strata::kernels::cpu

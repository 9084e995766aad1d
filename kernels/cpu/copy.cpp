#include "kernels/cpu/copy.h"

#include <algorithm>
#include <cstring>
#include <type_traits>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "kernels/common/convert.h"
#include "kernels/common/dispatch.h"
#include "kernels/cpu/loops.h"

namespace strata::kernels::cpu {

namespace {

// A dense run: dst[i] = convert(src[i]). float <-> Half use the F16C
// instructions where the build targets them (round to nearest even, as the
// scalar conversion).
template <typename Dst, typename Src>
void convert_dense(Dst* dst, const Src* src, int64_t n) {
  int64_t i = 0;
#if defined(__F16C__)
  if constexpr (std::is_same_v<Dst, Half> && std::is_same_v<Src, float>) {
    for (; i + 8 <= n; i += 8) {
      const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), h);
    }
  } else if constexpr (std::is_same_v<Dst, float> && std::is_same_v<Src, Half>) {
    for (; i + 8 <= n; i += 8) {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
  }
#endif
  for (; i < n; ++i) dst[i] = convert<Dst>(src[i]);
}

template <typename Dst, typename Src>
void convert_runs(const ElementwiseDesc& desc) {
  for_each_run(desc, [](char* const* ptrs, const int64_t* strides, int64_t n) {
    char* dst = ptrs[0];
    const char* src = ptrs[1];
    const int64_t dst_stride = strides[0];
    const int64_t src_stride = strides[1];
    if (dst_stride == sizeof(Dst) && src_stride == sizeof(Src)) {
      convert_dense(reinterpret_cast<Dst*>(dst), reinterpret_cast<const Src*>(src), n);
    } else if (src_stride == 0) {
      const Dst value = convert<Dst>(*reinterpret_cast<const Src*>(src));
      for (int64_t i = 0; i < n; ++i) *reinterpret_cast<Dst*>(dst + i * dst_stride) = value;
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<Dst*>(dst + i * dst_stride) = convert<Dst>(*reinterpret_cast<const Src*>(src + i * src_stride));
      }
    }
  });
}

// Two dims where the source moves faster along the outer one (a transpose).
// Walking in the destination's order would touch a new source cache line per
// element (and, for power-of-two row pitches, the same cache set each time), so
// each tile is read along the source's rows into a small buffer and written
// from it along the destination's rows.
bool is_transposed_2d(const ElementwiseDesc& desc) {
  if (desc.ndim != 2 || desc.numel < 4096) return false;
  const int64_t s0 = desc.operands[1].byte_strides[0];
  const int64_t s1 = desc.operands[1].byte_strides[1];
  return s0 != 0 && s1 != 0 && s1 < s0;
}

template <typename Dst, typename Src>
void convert_transposed_2d(const ElementwiseDesc& desc) {
  constexpr int64_t kTile = 64;
  const int64_t n0 = desc.sizes[0];
  const int64_t n1 = desc.sizes[1];
  char* const dst = desc.operands[0].data;
  const char* const src = desc.operands[1].data;
  const int64_t d0 = desc.operands[0].byte_strides[0], d1 = desc.operands[0].byte_strides[1];
  const int64_t s0 = desc.operands[1].byte_strides[0], s1 = desc.operands[1].byte_strides[1];
  // Threads split the destination's rows (dim 1) into bands of kTile rows; each
  // band is filled left to right, so its kTile write streams stay sequential.
  const bool dense = d0 == static_cast<int64_t>(sizeof(Dst)) && s1 == static_cast<int64_t>(sizeof(Src));
  const int64_t bands = (n1 + kTile - 1) / kTile;
  const int64_t grain = std::max<int64_t>(1, kGrainSize / (kTile * n0));
  auto copy_bands = [&](int64_t begin, int64_t end) {
    Src buffer[kTile][kTile];
    for (int64_t band = begin; band < end; ++band) {
      const int64_t j_begin = band * kTile;
      const int64_t j_count = std::min(kTile, n1 - j_begin);
      for (int64_t i_begin = 0; i_begin < n0; i_begin += kTile) {
        const int64_t i_count = std::min(kTile, n0 - i_begin);
        if (dense) {  // unit steps inside the tile: loops the compiler vectorizes
          for (int64_t i = 0; i < i_count; ++i) {
            const Src* row = reinterpret_cast<const Src*>(src + (i_begin + i) * s0) + j_begin;
            for (int64_t j = 0; j < j_count; ++j) buffer[i][j] = row[j];
          }
          for (int64_t j = 0; j < j_count; ++j) {
            Dst* out = reinterpret_cast<Dst*>(dst + (j_begin + j) * d1) + i_begin;
            for (int64_t i = 0; i < i_count; ++i) out[i] = convert<Dst>(buffer[i][j]);
          }
          continue;
        }
        for (int64_t i = 0; i < i_count; ++i) {
          const char* row = src + (i_begin + i) * s0 + j_begin * s1;
          for (int64_t j = 0; j < j_count; ++j) buffer[i][j] = *reinterpret_cast<const Src*>(row + j * s1);
        }
        for (int64_t j = 0; j < j_count; ++j) {
          char* out = dst + i_begin * d0 + (j_begin + j) * d1;
          for (int64_t i = 0; i < i_count; ++i) *reinterpret_cast<Dst*>(out + i * d0) = convert<Dst>(buffer[i][j]);
        }
      }
    }
  };
  if (bands <= grain) {
    copy_bands(0, bands);
  } else {
    parallel_for(0, bands, grain, copy_bands);
  }
}

template <typename Dst, typename Src>
void convert_strided(const ElementwiseDesc& desc) {
  if (is_transposed_2d(desc)) return convert_transposed_2d<Dst, Src>(desc);
  convert_runs<Dst, Src>(desc);
}

// Same-dtype copies move bits: one instantiation per element size.
template <typename Bits>
void copy_bits(const ElementwiseDesc& desc) {
  if (desc.is_contiguous()) {
    char* dst = desc.operands[0].data;
    const char* src = desc.operands[1].data;
    parallel_range(desc.numel, [&](int64_t begin, int64_t end) {
      std::memcpy(dst + begin * sizeof(Bits), src + begin * sizeof(Bits), (end - begin) * sizeof(Bits));
    });
    return;
  }
  convert_strided<Bits, Bits>(desc);
}

}  // namespace

void copy(const ElementwiseDesc& desc) {
  if (desc.numel == 0) return;
  const DType dst_dtype = desc.operands[0].dtype;
  const DType src_dtype = desc.operands[1].dtype;
  if (dst_dtype == src_dtype) {
    switch (ElementwiseDesc::dtype_size(dst_dtype)) {
      case 1: return copy_bits<uint8_t>(desc);
      case 2: return copy_bits<uint16_t>(desc);
      case 4: return copy_bits<uint32_t>(desc);
      default: return copy_bits<uint64_t>(desc);
    }
  }
  dispatch_dtype(dst_dtype, [&](auto dst_tag) {
    using Dst = typename decltype(dst_tag)::type;
    dispatch_dtype(src_dtype, [&](auto src_tag) {
      using Src = typename decltype(src_tag)::type;
      convert_strided<Dst, Src>(desc);
    });
  });
}

}  // namespace strata::kernels::cpu

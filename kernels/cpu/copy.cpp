#include "kernels/cpu/copy.h"

#include <cstring>

#include "kernels/common/convert.h"
#include "kernels/common/dispatch.h"
#include "kernels/cpu/loops.h"

namespace strata::kernels::cpu {

namespace {

template <typename Dst, typename Src>
void convert_runs(const ElementwiseDesc& desc) {
  for_each_run(desc, [](char* const* ptrs, const int64_t* strides, int64_t n) {
    char* dst = ptrs[0];
    const char* src = ptrs[1];
    const int64_t dst_stride = strides[0];
    const int64_t src_stride = strides[1];
    if (dst_stride == sizeof(Dst) && src_stride == sizeof(Src)) {
      Dst* d = reinterpret_cast<Dst*>(dst);
      const Src* s = reinterpret_cast<const Src*>(src);
      for (int64_t i = 0; i < n; ++i) d[i] = convert<Dst>(s[i]);
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
  convert_runs<Bits, Bits>(desc);
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
      convert_runs<Dst, Src>(desc);
    });
  });
}

}  // namespace strata::kernels::cpu

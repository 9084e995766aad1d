#include "kernels/cpu/fill.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/loops.h"

namespace strata::kernels::cpu {

namespace {

// Fill writes bits: one instantiation per element size.
template <typename Bits>
void fill_bits(const ElementwiseDesc& desc, const void* value) {
  Bits bits;
  std::memcpy(&bits, value, sizeof(Bits));
  if (desc.is_contiguous()) {
    Bits* out = reinterpret_cast<Bits*>(desc.operands[0].data);
    parallel_range(desc.numel, [&](int64_t begin, int64_t end) { std::fill(out + begin, out + end, bits); });
    return;
  }
  for_each_run(desc, [bits](char* const* ptrs, const int64_t* strides, int64_t n) {
    char* out = ptrs[0];
    const int64_t stride = strides[0];
    for (int64_t i = 0; i < n; ++i) *reinterpret_cast<Bits*>(out + i * stride) = bits;
  });
}

}  // namespace

void fill(const ElementwiseDesc& desc, const void* value) {
  if (desc.numel == 0) return;
  switch (ElementwiseDesc::dtype_size(desc.operands[0].dtype)) {
    case 1: return fill_bits<uint8_t>(desc, value);
    case 2: return fill_bits<uint16_t>(desc, value);
    case 4: return fill_bits<uint32_t>(desc, value);
    default: return fill_bits<uint64_t>(desc, value);
  }
}

}  // namespace strata::kernels::cpu

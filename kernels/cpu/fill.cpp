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

template <typename Bits>
void masked_fill_bits(const ElementwiseDesc& desc, const void* value) {
  Bits bits;
  std::memcpy(&bits, value, sizeof(Bits));
  if (desc.is_contiguous()) {
    // Every element is rewritten (itself, or the value): a select the compiler
    // vectorizes. Each element's mask byte is read before the element is
    // written, so a mask that is self's own memory (b[b] = false) works.
    Bits* out = reinterpret_cast<Bits*>(desc.operands[0].data);
    const uint8_t* mask = reinterpret_cast<const uint8_t*>(desc.operands[1].data);
    parallel_range(desc.numel, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = mask[i] != 0 ? bits : out[i];
    });
    return;
  }
  for_each_run(desc, [bits](char* const* ptrs, const int64_t* strides, int64_t n) {
    char* out = ptrs[0];
    const char* mask = ptrs[1];
    for (int64_t i = 0; i < n; ++i) {
      if (*reinterpret_cast<const uint8_t*>(mask + i * strides[1]) != 0) *reinterpret_cast<Bits*>(out + i * strides[0]) = bits;
    }
  });
}

template <typename Fn>
void by_element_size(const ElementwiseDesc& desc, Fn&& fn) {
  switch (ElementwiseDesc::dtype_size(desc.operands[0].dtype)) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    default: return fn(uint64_t{});
  }
}

}  // namespace

void masked_fill(const ElementwiseDesc& desc, const void* value) {
  if (desc.numel == 0) return;
  by_element_size(desc, [&](auto bits) { masked_fill_bits<decltype(bits)>(desc, value); });
}

void fill(const ElementwiseDesc& desc, const void* value) {
  if (desc.numel == 0) return;
  by_element_size(desc, [&](auto bits) { fill_bits<decltype(bits)>(desc, value); });
}

}  // namespace strata::kernels::cpu

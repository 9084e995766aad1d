// The add front-end: add, operator+, add(Tensor, Scalar), add_out, add_, +=.
// Each call runs PyTorch's checks in TensorIterator's order (overlap, shape,
// devices, dtypes, alpha), then builds one AddDesc (broadcast, reordered and
// coalesced by the elementwise iterator), allocates the output of out-of-place
// calls from the device's caching allocator, and hands the descriptor to the CPU
// or CUDA kernel. Scalars and 0-dim CPU tensors travel to the kernel as values.
#include "src/ops/binary.h"

#include <algorithm>

#include <new>
#include <span>

#include "kernels/common/binary_functors.h"
#include "kernels/common/dispatch.h"
#include "kernels/cpu/binary.h"
#include "src/core/check.h"
#include "src/core/recycling_allocator.h"
#include "src/core/scalar_convert.h"
#include "src/core/shape_util.h"
#include "src/core/tensor_impl.h"
#include "src/ops/elementwise_iter.h"
#include "src/ops/overlap.h"
#include "src/runtime/stream_util.h"
#include "strata/factories.h"
#include "strata/ops.h"

#if STRATA_WITH_CUDA
#include "kernels/cuda/binary.h"
#endif

namespace strata::ops {
namespace {

// A promotion bucket with nothing in it yet.
constexpr int kNoDType = -1;

bool is_float_slot(int slot) { return slot != kNoDType && is_floating_point(static_cast<DType>(slot)); }

int promote_skip_undefined(int a, int b) {
  if (a == kNoDType) return b;
  if (b == kNoDType) return a;
  return static_cast<int>(promote_types(static_cast<DType>(a), static_cast<DType>(b)));
}

// The lower bucket matters only when its category is higher: a floating lower
// bucket promotes an integral or bool higher one; any lower bucket promotes Bool.
int combine_categories(int higher, int lower) {
  if (is_float_slot(higher)) return higher;
  if (higher == static_cast<int>(kBool) || is_float_slot(lower)) return promote_skip_undefined(higher, lower);
  if (higher != kNoDType) return higher;
  return lower;
}

struct PromotionState {
  int dim = kNoDType;      // tensors with dims
  int zero_dim = kNoDType;  // 0-dim tensors
  int wrapped = kNoDType;   // scalars: Bool, Int64 or the default float type
};

void add_to_state(PromotionState& state, const Tensor& t) {
  const auto& impl = TensorAccess::impl(t);
  int& slot = !impl.sizes.empty() ? state.dim : state.zero_dim;
  slot = promote_skip_undefined(slot, static_cast<int>(impl.dtype));
}

void add_to_state(PromotionState& state, const Scalar& s) {
  state.wrapped = promote_skip_undefined(state.wrapped, static_cast<int>(s.dtype()));
}

DType result_of(const PromotionState& state) {
  return static_cast<DType>(combine_categories(state.dim, combine_categories(state.zero_dim, state.wrapped)));
}

bool is_cpu_scalar(const Tensor& t) {
  const auto& impl = TensorAccess::impl(t);
  return impl.sizes.empty() && impl.storage.device().is_cpu();
}

void check_defined(const Tensor& t, const char* op_name, const char* what) {
  STRATA_CHECK(t.defined(), ValueError, "{}: expected a defined tensor for argument '{}'", op_name, what);
}

// PyTorch's device rule: the first operand (output first) not on the CPU sets
// the device; every other operand must be on it, except that one 0-dim CPU input
// may join a CUDA op (it is passed to the kernel as a value).
Device common_device(const Tensor* out, const Tensor& a, const Tensor* b) {
  const Tensor* operands[3] = {out, &a, b};
  Device devices[3] = {kCPU, kCPU, kCPU};
  Device device = kCPU;
  bool found = false;
  for (int k = 0; k < 3; ++k) {
    if (operands[k] == nullptr) continue;
    devices[k] = TensorAccess::impl(*operands[k]).storage.device();
    if (!found && !devices[k].is_cpu()) {
      device = devices[k];
      found = true;
    }
  }
  if (!found) return device;  // all on the CPU
  int cpu_scalars = 0;
  for (int k = 0; k < 3; ++k) {
    const Tensor* t = operands[k];
    if (t == nullptr) continue;
    const Device d = devices[k];
    if (k > 0 && d.is_cpu() && TensorAccess::impl(*t).sizes.empty()) {
      STRATA_CHECK(cpu_scalars == 0, DeviceError, "Trying to pass too many CPU scalars to non-CPU kernel!");
      ++cpu_scalars;
      continue;
    }
    STRATA_CHECK(d == device, DeviceError,
                 "Expected all tensors to be on the same device, but found at least two devices, {} and {}!",
                 device.str(), d.str());
  }
  return device;
}

// The written tensor may not overlap itself, nor partially overlap an input
// (x.add_(x) is a full overlap and fine).
void check_written_overlap(const Tensor& written, const Tensor* a, const Tensor* b) {
  assert_no_internal_overlap(written);
  if (a != nullptr) assert_no_partial_overlap(written, *a);
  if (b != nullptr) assert_no_partial_overlap(written, *b);
}

// Outputs are never broadcast (and never resized): the broadcast of the inputs'
// shapes must be exactly the written tensor's shape.
void check_written_shape(const Tensor& written, const Tensor& a, const Tensor* b) {
  const Shape& out_sizes = written.sizes();
  const bool a_matches = a.is_same(written) || a.sizes() == out_sizes;
  const bool b_matches = b == nullptr || b->sizes() == out_sizes;
  if (a_matches && b_matches) return;  // the common case needs no broadcast
  // Broadcast inputs (x += row): checked without building the broadcast shape.
  if (broadcasts_exactly_to({a.sizes(), b == nullptr ? a.sizes() : b->sizes()}, out_sizes)) return;
  const Shape shape = b == nullptr ? a.sizes() : broadcast_shape({a.sizes(), b->sizes()});
  STRATA_CHECK(shape == out_sizes, ShapeError, "output with shape {} doesn't match the broadcast shape {}",
               detail::shape_str(out_sizes), detail::shape_str(shape));
}

// PyTorch's fast setup: when every memory operand is row-major dense with the
// output's shape, the iteration space is one dimension and no broadcasting,
// reordering or coalescing is needed. Per-call cost matters for small tensors.
// Also taken, with two dimensions (inner, outer) split where the shapes
// differ: dense inputs whose shape is a suffix of the output's (x += row,
// [R, C] + [C]: outer stride 0) or, at the same rank, a prefix of it followed
// by 1s ([R, 1] + [C]: inner stride 0).
bool make_dense_desc(kernels::ElementwiseDesc& it, const Tensor& out, const Tensor& a, const Tensor* b,
                     int scalar_input) {
  const auto& o = TensorAccess::impl(out);
  if (o.numel == 0 || !detail::is_contiguous_layout(o.sizes, o.strides)) return false;
  const Tensor* inputs[2] = {&a, b};
  enum class Kind { Same, Suffix, Prefix };
  Kind kind[3] = {Kind::Same, Kind::Same, Kind::Same};
  int64_t inner = o.numel;  // elements of the inner dimension
  for (int k = 1; k <= 2; ++k) {
    if (k == scalar_input || inputs[k - 1]->is_same(out)) continue;
    const auto& in = TensorAccess::impl(*inputs[k - 1]);
    if (!detail::is_contiguous_layout(in.sizes, in.strides)) return false;
    if (in.sizes == o.sizes) continue;
    int64_t in_inner = 0;
    // A suffix: after its leading 1s, the input's sizes end the output's.
    size_t lead = 0;
    while (lead < in.sizes.size() && in.sizes[lead] == 1) ++lead;
    const size_t rest = in.sizes.size() - lead;
    if (rest != 0 && rest < o.sizes.size() &&
        std::equal(in.sizes.begin() + static_cast<std::ptrdiff_t>(lead), in.sizes.end(),
                   o.sizes.end() - static_cast<std::ptrdiff_t>(rest))) {
      kind[k] = Kind::Suffix;
      in_inner = in.numel;
    } else if (in.sizes.size() == o.sizes.size()) {
      // A prefix: equal to the output's sizes up to p, 1 from there on.
      size_t p = 0;
      while (p < in.sizes.size() && in.sizes[p] == o.sizes[p]) ++p;
      for (size_t d = p; d < in.sizes.size(); ++d) {
        if (in.sizes[d] != 1) return false;
      }
      kind[k] = Kind::Prefix;
      in_inner = o.numel / in.numel;
    } else {
      return false;
    }
    if (inner != o.numel && inner != in_inner) return false;  // two different splits
    inner = in_inner;
  }
  const bool two_dims = inner != o.numel;
  it.ndim = two_dims ? 2 : 1;
  it.sizes[0] = inner;
  if (two_dims) it.sizes[1] = o.numel / inner;
  it.numel = o.numel;
  it.num_operands = 3;
  const Tensor* operands[3] = {&out, &a, b};
  for (int k = 0; k < 3; ++k) {
    kernels::Operand& operand = it.operands[k];
    if (k != 0 && k == scalar_input) {  // data unused, strides 0
      operand.data = nullptr;
      operand.byte_strides[0] = 0;
      operand.byte_strides[1] = 0;
      continue;
    }
    const auto& t = TensorAccess::impl(*operands[k]);
    const auto element = static_cast<int64_t>(kernels::ElementwiseDesc::dtype_size(t.dtype));
    operand.data = static_cast<char*>(operands[k]->data_ptr());
    operand.dtype = t.dtype;
    operand.byte_strides[0] = kind[k] == Kind::Prefix ? 0 : element;
    operand.byte_strides[1] = kind[k] == Kind::Suffix ? 0 : kind[k] == Kind::Prefix ? element : inner * element;
  }
  return true;
}

// Builds the descriptor and runs the kernel; all checks have passed. `b` is null
// when the second input is the Scalar `b_scalar`.
void launch_add(const char* op_name, const Tensor& out, const Tensor& a, const Tensor* b, const Scalar* b_scalar,
                DType compute, const Scalar& alpha, const Device& device) {
  // Every field a kernel reads is set below: the dense path sets dimension 0
  // only, build_elementwise_desc dimensions [0, ndim).
  kernels::UninitializedDesc<kernels::AddDesc> storage;
  kernels::AddDesc& desc = storage.get();
  desc.compute_dtype = compute;
  desc.scalar_input = 0;
  desc.scalar = {};
  // Which input travels as a value: the Scalar, else a 0-dim CPU tensor (b
  // first; for a CUDA op it is the one CPU scalar allowed).
  const Tensor* lifted = nullptr;
  if (b == nullptr) {
    desc.scalar_input = 2;
  } else if (is_cpu_scalar(*b)) {
    desc.scalar_input = 2;
    lifted = b;
  } else if (is_cpu_scalar(a)) {
    desc.scalar_input = 1;
    lifted = &a;
  }
  if (!make_dense_desc(desc.iter, out, a, b, desc.scalar_input)) {
    StridedOperand inputs[2] = {operand_of(a), {}};
    if (b != nullptr) {
      inputs[1] = operand_of(*b);
    } else {
      inputs[1].dtype = compute;  // a 0-dim operand: stride 0 everywhere; its value travels in the desc
    }
    build_elementwise_desc(desc.iter, operand_of(out), std::span<const StridedOperand>(inputs, 2), op_name);
  }
  if (desc.iter.numel == 0) return;
  if (desc.scalar_input != 0) {
    kernels::Operand& operand = desc.iter.operands[desc.scalar_input];
    operand.dtype = compute;
    for (int d = 0; d < desc.iter.ndim; ++d) operand.byte_strides[d] = 0;
  }

  kernels::dispatch_dtype(compute, [&](auto tag) {
    using T = typename decltype(tag)::type;
    using M = kernels::opmath_t<T>;
    M alpha_value = alpha.to<M>();
    if (desc.scalar_input != 0) {
      // As PyTorch, the value is first converted to the compute type.
      const T value = lifted != nullptr ? kernels::load_as<T>(lifted->data_ptr(), lifted->dtype()) : b_scalar->to<T>();
      M math_value = static_cast<M>(value);
      if (desc.scalar_input == 2) {
        // a + alpha * s == a + (alpha * s): the product is the same for every element.
        math_value = kernels::add_scale(alpha_value, math_value);
        alpha_value = static_cast<M>(1);
      }
      desc.scalar = kernels::ScalarArg::of<M>(math_value);
    }
    desc.alpha = kernels::ScalarArg::of<M>(alpha_value);
    desc.alpha_is_one = alpha_value == static_cast<M>(1);
  });

  if (device.is_cpu()) {
    kernels::cpu::add(desc);
    return;
  }
#if STRATA_WITH_CUDA
  kernels::cuda::add(desc, device.index(), detail::current_stream_handle(device));
#else
  STRATA_FAIL(DeviceError, "{}: strata was built without CUDA; cannot run on {}", op_name, device.str());
#endif
}

// The in-place and out= forms: `out` is written, a and b (or b_scalar) are read.
void add_into(const char* op_name, const Tensor& out, const Tensor& a, const Tensor* b, const Scalar* b_scalar,
              const Scalar& alpha) {
  check_written_overlap(out, out.is_same(a) ? nullptr : &a, b);
  check_written_shape(out, a, b);
  const Device device = common_device(&out, a, b);
  const DType result = promoted_dtype(a, b, b_scalar);
  // PyTorch's texts, without the op's name (message() is PyTorch's text).
  STRATA_CHECK(can_cast(result, out.dtype()), DTypeError, "result type {} can't be cast to the desired output type {}",
               type_name(result), type_name(out.dtype()));
  check_alpha(result, alpha);
  launch_add(op_name, out, a, b, b_scalar, result, alpha, device);
}

Tensor add_new(const char* op_name, const Tensor& a, const Tensor* b, const Scalar* b_scalar, const Scalar& alpha) {
  const bool same_shape = b == nullptr || a.sizes() == b->sizes();
  Shape broadcast;  // only computed (and allocated) when the shapes differ
  if (!same_shape) broadcast = broadcast_shape({a.sizes(), b->sizes()});
  const Device device = common_device(nullptr, a, b);
  const DType result = promoted_dtype(a, b, b_scalar);
  check_alpha(result, alpha);
  Tensor out = empty(same_shape ? a.sizes() : broadcast, TensorOptions().dtype(result).device(device));
  detail::ShapeCache::give(std::move(broadcast));  // empty() copied it: the buffer serves the next tensor
  launch_add(op_name, out, a, b, b_scalar, result, alpha, device);
  return out;
}

}  // namespace

DType promoted_dtype(const Tensor& a, const Tensor* b, const Scalar* b_scalar) {
  PromotionState state;
  add_to_state(state, a);
  if (b != nullptr) add_to_state(state, *b);
  if (b_scalar != nullptr) add_to_state(state, *b_scalar);
  return result_of(state);
}

void check_alpha(DType dtype, const Scalar& alpha) {
  STRATA_CHECK(!alpha.is_boolean() || dtype == kBool, DTypeError, "Boolean alpha only supported for Boolean results.");
  STRATA_CHECK(is_floating_point(dtype) || !alpha.is_floating_point(), DTypeError,
               "For integral input tensors, argument alpha must not be a floating point number.");
  // As PyTorch, which converts alpha to the result's type with its checked
  // conversion: an int8 add with alpha 300 is refused, not wrapped to 44.
  detail::check_scalar_fits(alpha, dtype);
}

void check_can_cast_result(DType result, DType out) {
  STRATA_CHECK(can_cast(result, out), DTypeError, "result type {} can't be cast to the desired output type {}",
               type_name(result), type_name(out));
}

}  // namespace strata::ops

namespace strata {

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  ops::check_defined(a, "add", "self");
  ops::check_defined(b, "add", "other");
  return ops::add_new("add", a, &b, nullptr, alpha);
}

Tensor add(const Tensor& a, const Scalar& b, const Scalar& alpha) {
  ops::check_defined(a, "add", "self");
  return ops::add_new("add", a, nullptr, &b, alpha);
}

const Tensor& add_out(const Tensor& out, const Tensor& a, const Tensor& b, const Scalar& alpha) {
  ops::check_defined(out, "add_out", "out");
  ops::check_defined(a, "add_out", "self");
  ops::check_defined(b, "add_out", "other");
  ops::add_into("add_out", out, a, &b, nullptr, alpha);
  return out;
}

DType result_type(const Tensor& a, const Tensor& b) { return ops::promoted_dtype(a, &b, nullptr); }
DType result_type(const Tensor& a, const Scalar& b) { return ops::promoted_dtype(a, nullptr, &b); }

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, b); }
// Addition commutes for every dtype, so s + t is computed as t + s.
Tensor operator+(const Scalar& a, const Tensor& b) { return add(b, a); }

Tensor Tensor::add(const Tensor& other, const Scalar& alpha) const { return strata::add(*this, other, alpha); }
Tensor Tensor::add(const Scalar& other, const Scalar& alpha) const { return strata::add(*this, other, alpha); }

const Tensor& Tensor::add_(const Tensor& other, const Scalar& alpha) const {
  ops::check_defined(*this, "add_", "self");
  ops::check_defined(other, "add_", "other");
  ops::add_into("add_", *this, *this, &other, nullptr, alpha);
  return *this;
}

const Tensor& Tensor::add_(const Scalar& other, const Scalar& alpha) const {
  ops::check_defined(*this, "add_", "self");
  ops::add_into("add_", *this, *this, nullptr, &other, alpha);
  return *this;
}

const Tensor& Tensor::operator+=(const Tensor& other) const { return add_(other); }
const Tensor& Tensor::operator+=(const Scalar& other) const { return add_(other); }

}  // namespace strata

// Differential tests of add / add_ / add_out against ATen (libtorch's CPU tensor
// library): thousands of random cases (shapes, broadcasting, strides, dtypes,
// alpha, scalars) built identically in both libraries and compared element for
// element, and bad inputs that both must refuse. Built only when ATen is found.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ops/elementwise_test_util.h"
#include "strata/strata.h"

namespace strata {
namespace {

using testing::all_dtypes;

at::ScalarType aten_type(DType dtype) {
  switch (dtype) {
    case DType::Bool: return at::kBool;
    case DType::UInt8: return at::kByte;
    case DType::Int8: return at::kChar;
    case DType::Int16: return at::kShort;
    case DType::Int32: return at::kInt;
    case DType::Int64: return at::kLong;
    case DType::Float16: return at::kHalf;
    case DType::BFloat16: return at::kBFloat16;
    case DType::Float32: return at::kFloat;
    case DType::Float64: return at::kDouble;
  }
  return at::kFloat;
}

/// The same tensor in both libraries.
struct Pair {
  Tensor s;
  at::Tensor a;
};

at::Scalar aten_scalar(const Scalar& v) {
  if (v.is_boolean()) return at::Scalar(v.to<bool>());
  if (v.is_integral()) return at::Scalar(v.to<int64_t>());
  return at::Scalar(v.to_double());
}

std::vector<double> aten_values(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// A contiguous tensor of `shape` holding the same exactly-representable values.
Pair make_dense(const Shape& shape, DType dtype, std::mt19937& rng) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  std::vector<double> values = testing::random_values(dtype, n, rng);
  Pair p;
  p.s = from_vector(values, shape, TensorOptions().dtype(dtype).device(kCPU));
  p.a = at::from_blob(values.data(), shape, at::kDouble).to(aten_type(dtype)).clone();
  return p;
}

enum class Layout { Dense, Transposed, Sliced, Expanded };

// A tensor of `shape` laid out as `layout` (falls back to Dense where the shape
// does not allow it), built through the same view ops in both libraries.
Pair make_operand(const Shape& shape, DType dtype, Layout layout, std::mt19937& rng) {
  const int64_t ndim = static_cast<int64_t>(shape.size());
  if (layout == Layout::Transposed && ndim >= 2) {
    const int64_t i = static_cast<int64_t>(rng() % ndim);
    const int64_t j = (i + 1 + static_cast<int64_t>(rng() % (ndim - 1))) % ndim;
    Shape base = shape;
    std::swap(base[i], base[j]);
    Pair p = make_dense(base, dtype, rng);
    return {p.s.transpose(i, j), p.a.transpose(i, j)};
  }
  if (layout == Layout::Sliced && ndim >= 1) {
    const int64_t d = static_cast<int64_t>(rng() % ndim);
    Shape base = shape;
    base[d] = 2 * shape[d] + 1;
    Pair p = make_dense(base, dtype, rng);
    return {p.s.slice(d, 1, 1 + 2 * shape[d], 2), p.a.slice(d, 1, 1 + 2 * shape[d], 2)};
  }
  if (layout == Layout::Expanded && ndim >= 1) {
    const int64_t d = static_cast<int64_t>(rng() % ndim);
    Shape base = shape;
    base[d] = 1;
    Pair p = make_dense(base, dtype, rng);
    return {p.s.expand(shape), p.a.expand(shape)};
  }
  return make_dense(shape, dtype, rng);
}

Shape random_shape(std::mt19937& rng) {
  const int ndim = static_cast<int>(rng() % 5);
  Shape shape(ndim);
  for (int64_t& s : shape) s = (rng() % 12 == 0) ? 0 : 1 + static_cast<int64_t>(rng() % 5);
  return shape;
}

// An input shape that broadcasts to `out`: some leading dims dropped, some set to 1.
Shape broadcastable_from(const Shape& out, std::mt19937& rng) {
  const size_t drop = out.empty() ? 0 : rng() % (out.size() + 1);
  Shape shape(out.begin() + static_cast<int64_t>(drop), out.end());
  for (int64_t& s : shape) {
    if (rng() % 4 == 0) s = 1;
  }
  return shape;
}

// 300 and 1e39 overflow some result dtypes (int8, the 16- and 32-bit floats):
// both libraries refuse them there.
Scalar random_alpha(std::mt19937& rng) {
  switch (rng() % 9) {
    case 0: return Scalar(2);
    case 1: return Scalar(-3);
    case 2: return Scalar(0.5);
    case 3: return Scalar(-1.5);
    case 4: return Scalar(true);
    case 5: return Scalar(false);
    case 6: return Scalar(300);
    case 7: return Scalar(1e39);
    default: return Scalar(1);
  }
}

Scalar random_other(std::mt19937& rng) {
  switch (rng() % 3) {
    case 0: return Scalar(static_cast<int64_t>(rng() % 11) - 5);
    case 1: return Scalar((static_cast<int>(rng() % 41) - 20) / 4.0);
    default: return Scalar(rng() % 2 == 0);
  }
}

DType random_dtype(std::mt19937& rng) { return all_dtypes()[rng() % all_dtypes().size()]; }

Layout random_layout(std::mt19937& rng, bool allow_expanded) {
  const int n = allow_expanded ? 4 : 3;
  return static_cast<Layout>(rng() % n);
}

// Allowed difference for a result computed in `compute` and stored as `out`:
// exact, except where a 16-bit float is involved. There ATen 1.13's strided CPU
// loop rounds alpha * b to the 16-bit type before adding (strata computes in
// float and rounds once), so the difference scales with the operands (below 64
// here), not with the result.
struct Tolerance {
  double relative = 0;
  double absolute = 0;
};

Tolerance tolerance_for(DType compute, DType out) {
  auto worst = [](DType d) {
    if (d == DType::BFloat16) return Tolerance{8e-3, 0.5};
    if (d == DType::Float16) return Tolerance{1e-3, 0.07};
    return Tolerance{};
  };
  const Tolerance a = worst(compute);
  const Tolerance b = worst(out);
  return {std::max(a.relative, b.relative), std::max(a.absolute, b.absolute)};
}


::testing::AssertionResult near(const std::vector<double>& got, const std::vector<double>& want, Tolerance tol) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "sizes differ";
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;
    if (std::fabs(got[i] - want[i]) > tol.absolute + tol.relative * std::max(1.0, std::fabs(want[i]))) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", want " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// Runs one op in both libraries: both must throw, or both must give the same
// dtype, shape and values.
template <typename StrataOp, typename AtenOp>
void compare(const std::string& what, DType compute, const StrataOp& strata_op, const AtenOp& aten_op) {
  std::optional<Tensor> ours;
  std::optional<at::Tensor> theirs;
  std::string our_error;
  std::string their_error;
  try {
    ours = strata_op();
  } catch (const std::exception& e) {
    our_error = e.what();
  }
  try {
    theirs = aten_op();
  } catch (const std::exception& e) {
    their_error = e.what();
  }
  ASSERT_EQ(ours.has_value(), theirs.has_value())
      << what << "\n strata: " << (ours ? "ok" : our_error) << "\n ATen: " << (theirs ? "ok" : their_error);
  if (!ours) return;
  ASSERT_EQ(aten_type(ours->dtype()), theirs->scalar_type()) << what;
  ASSERT_EQ(ours->sizes(), theirs->sizes().vec()) << what;
  const std::vector<double> got = ours->to_vector<double>();
  const std::vector<double> want = aten_values(*theirs);
  ASSERT_TRUE(near(got, want, tolerance_for(compute, ours->dtype()))) << what;
}

std::string describe(const char* op, const Pair& x, const Pair* y, const Scalar* other, const Scalar& alpha) {
  std::string text = std::string(op) + " x" + ::testing::PrintToString(x.s.sizes()) + ":" + to_string(x.s.dtype()) +
                     " strides" + ::testing::PrintToString(x.s.strides());
  if (y) {
    text += " y" + ::testing::PrintToString(y->s.sizes()) + ":" + to_string(y->s.dtype()) + " strides" +
            ::testing::PrintToString(y->s.strides());
  }
  if (other) text += " other=" + ::testing::PrintToString(other->to_double());
  return text + " alpha=" + ::testing::PrintToString(alpha.to_double()) + (alpha.is_boolean() ? "(bool)" : "");
}

TEST(AddAten, RandomCasesMatchElementForElement) {
  std::mt19937 rng(20240601);
  constexpr int kCases = 4000;
  for (int c = 0; c < kCases; ++c) {
    const Shape out_shape = random_shape(rng);
    const Scalar alpha = random_alpha(rng);
    const int op = static_cast<int>(rng() % 5);
    Pair x = make_operand(op == 2 || op == 4 ? out_shape : broadcastable_from(out_shape, rng), random_dtype(rng),
                          random_layout(rng, true), rng);
    Pair y = make_operand(broadcastable_from(out_shape, rng), random_dtype(rng), random_layout(rng, true), rng);
    const Scalar other = random_other(rng);
    const at::Scalar a_alpha = aten_scalar(alpha);
    switch (op) {
      case 0:
        compare(describe("add", x, &y, nullptr, alpha), result_type(x.s, y.s), [&] { return add(x.s, y.s, alpha); },
                [&] { return at::add(x.a, y.a, a_alpha); });
        break;
      case 1:
        compare(describe("add(Scalar)", x, nullptr, &other, alpha), result_type(x.s, other), [&] { return add(x.s, other, alpha); },
                [&] { return at::add(x.a, aten_scalar(other), a_alpha); });
        break;
      case 2: {
        compare(describe("add_", x, &y, nullptr, alpha), result_type(x.s, y.s), [&] { return x.s.add_(y.s, alpha); },
                [&] { return x.a.add_(y.a, a_alpha); });
        // Whether it threw or not, self holds the same values in both.
        ASSERT_TRUE(near(x.s.to_vector<double>(), aten_values(x.a), tolerance_for(result_type(x.s, y.s), x.s.dtype())));
        break;
      }
      case 3: {
        // out= with the exact broadcast shape (ATen would resize another; strata refuses).
        Shape shape;
        try {
          shape = broadcast_shapes(x.s.sizes(), y.s.sizes());
        } catch (const std::exception&) {
          continue;
        }
        const DType out_dtype = random_dtype(rng);
        Pair out = make_operand(shape, out_dtype, random_layout(rng, false), rng);
        compare(describe("add_out", x, &y, nullptr, alpha), result_type(x.s, y.s), [&] { return add_out(out.s, x.s, y.s, alpha); },
                [&] { return at::add_out(out.a, x.a, y.a, a_alpha); });
        ASSERT_TRUE(near(out.s.to_vector<double>(), aten_values(out.a), tolerance_for(result_type(x.s, y.s), out_dtype)));
        break;
      }
      default:
        compare(describe("add_(Scalar)", x, nullptr, &other, alpha), result_type(x.s, other), [&] { return x.s.add_(other, alpha); },
                [&] { return x.a.add_(aten_scalar(other), a_alpha); });
        ASSERT_TRUE(near(x.s.to_vector<double>(), aten_values(x.a), tolerance_for(result_type(x.s, other), x.s.dtype())));
        break;
    }
  }
}

TEST(AddAten, EveryDTypePairAndZeroDimMatch) {
  std::mt19937 rng(77);
  for (DType da : all_dtypes()) {
    for (DType db : all_dtypes()) {
      for (const auto& [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{4, 5}, {5}}, {{4, 5}, {}}, {{}, {3}}}) {
        Pair x = make_dense(sa, da, rng);
        Pair y = make_dense(sb, db, rng);
        for (const Scalar& alpha : {Scalar(1), Scalar(3), Scalar(0.5), Scalar(true)}) {
          compare(describe("add", x, &y, nullptr, alpha), result_type(x.s, y.s), [&] { return add(x.s, y.s, alpha); },
                  [&] { return at::add(x.a, y.a, aten_scalar(alpha)); });
        }
      }
    }
  }
}

TEST(AddAten, BadInputsAreRefusedByBoth) {
  std::mt19937 rng(5);
  const Pair f23 = make_dense({2, 3}, kFloat32, rng);
  const Pair f4 = make_dense({4}, kFloat32, rng);
  const Pair f131 = make_dense({1, 3, 1}, kFloat32, rng);
  const Pair f317 = make_dense({3, 1, 7}, kFloat32, rng);
  const Pair l4 = make_dense({4}, kInt64, rng);
  const Pair b4 = make_dense({4}, kBool, rng);
  const Pair i4 = make_dense({4}, kInt32, rng);
  const Pair sq = make_dense({3, 3}, kFloat32, rng);
  const Pair row = make_dense({1, 4}, kFloat32, rng);
  const Pair v10 = make_dense({10}, kFloat32, rng);
  const Pair expanded{row.s.expand({3, 4}), row.a.expand({3, 4})};
  const Pair f34 = make_dense({3, 4}, kFloat32, rng);

  struct Case {
    const char* name;
    std::function<Tensor()> ours;
    std::function<at::Tensor()> theirs;
  };
  const std::vector<Case> cases = {
      {"incompatible shapes", [&] { return add(f23.s, f4.s); }, [&] { return at::add(f23.a, f4.a); }},
      {"in-place broadcast of self", [&] { return f131.s.add_(f317.s); }, [&] { return f131.a.add_(f317.a); }},
      {"long += float", [&] { return l4.s.add_(f4.s); }, [&] { return l4.a.add_(f4.a); }},
      {"long += 1.5", [&] { return l4.s.add_(1.5); }, [&] { return l4.a.add_(1.5); }},
      {"bool += int32", [&] { return b4.s.add_(i4.s); }, [&] { return b4.a.add_(i4.a); }},
      {"float alpha on ints", [&] { return add(i4.s, i4.s, 1.5); }, [&] { return at::add(i4.a, i4.a, 1.5); }},
      {"bool alpha on floats", [&] { return add(f4.s, f4.s, true); }, [&] { return at::add(f4.a, f4.a, true); }},
      {"expanded self", [&] { return expanded.s.add_(f34.s); }, [&] { return expanded.a.add_(f34.a); }},
      {"partial overlap", [&] { return v10.s.slice(0, 1).add_(v10.s.slice(0, 0, 9)); },
       [&] { return v10.a.slice(0, 1).add_(v10.a.slice(0, 0, 9)); }},
      {"self and its transpose", [&] { return sq.s.add_(sq.s.t()); }, [&] { return sq.a.add_(sq.a.t()); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto before = c.name == std::string("partial overlap") ? v10.s.to_vector<double>() : std::vector<double>{};
    EXPECT_ANY_THROW(c.ours());
    EXPECT_ANY_THROW(c.theirs());
    if (!before.empty()) EXPECT_EQ(v10.s.to_vector<double>(), before);
  }
}

}  // namespace
}  // namespace strata

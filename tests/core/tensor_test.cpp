// Tensor handles, accessors, storage sharing, item, conversions between devices.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>
#include <vector>

#include "src/core/tensor_impl.h"
#include "tests/core/core_test_util.h"

namespace strata {
namespace {

using testing::DeviceTest;
using testing::random_floats;
using testing::random_tensor;

class TensorOnDevice : public DeviceTest {};
STRATA_INSTANTIATE_DEVICES(TensorOnDevice);

TEST_P(TensorOnDevice, EmptyHasContiguousGeometry) {
  Tensor t = empty({2, 3, 4}, options(kFloat64));
  EXPECT_EQ(t.sizes(), (Shape{2, 3, 4}));
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dtype(), kFloat64);
  EXPECT_EQ(t.device(), device());
  EXPECT_EQ(t.storage_offset(), 0);
  EXPECT_EQ(t.element_size(), 8u);
  EXPECT_EQ(t.nbytes(), 192u);
  EXPECT_GE(t.storage().nbytes(), 192u);
  EXPECT_EQ(t.data_ptr(), t.storage().data());
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.size(-1), 4);
  EXPECT_EQ(t.stride(0), 12);
}

TEST_P(TensorOnDevice, CopiesOfTheHandleShareTheTensor) {
  Tensor a = random_tensor({5}, device(), 1);
  Tensor b = a;  // NOLINT: a copy of the handle on purpose
  EXPECT_TRUE(a.is_same(b));
  b.fill_(2.5);
  for (float v : a.to_vector<float>()) EXPECT_EQ(v, 2.5f);
  EXPECT_EQ(a.storage(), b.storage());
  EXPECT_EQ(a.storage().use_count(), 1);  // one tensor, two handles
  Tensor v = a.view({5});
  EXPECT_FALSE(v.is_same(a));
  EXPECT_EQ(a.storage().use_count(), 2);  // a view is a second tensor on the storage
}

TEST_P(TensorOnDevice, DataPtrAddsTheStorageOffset) {
  Tensor base = random_tensor({4, 5}, device(), 2);
  Tensor row = base.select(0, 2);
  EXPECT_EQ(row.storage_offset(), 10);
  EXPECT_EQ(static_cast<char*>(row.data_ptr()), static_cast<char*>(base.data_ptr()) + 40);
  EXPECT_EQ(row.data_ptr<float>(), base.data_ptr<float>() + 10);
}

TEST_P(TensorOnDevice, TypedDataPtrChecksTheDtype) {
  Tensor t = zeros({3}, options(kInt32));
  EXPECT_NE(t.data_ptr<int32_t>(), nullptr);
  try {
    (void)t.data_ptr<float>();
    ADD_FAILURE() << "expected DTypeError";
  } catch (const DTypeError& e) {
    EXPECT_EQ(e.message(), "data_ptr: expected scalar type Float but found Int");
  }
}

TEST_P(TensorOnDevice, ItemReadsTheSingleElement) {
  EXPECT_EQ(full({}, 3.25, options(kFloat64)).item<double>(), 3.25);
  EXPECT_EQ(full({1, 1}, -7, options(kInt64)).item<int64_t>(), -7);
  const Scalar s = full({}, true, options(kBool)).item();
  EXPECT_TRUE(s.is_boolean());
  EXPECT_TRUE(s.to<bool>());
  EXPECT_TRUE(full({}, 2, options(kInt16)).item().is_integral());
  EXPECT_TRUE(full({}, 2, options(kFloat16)).item().is_floating_point());
  Tensor t = random_tensor({3, 4}, device(), 3);
  const std::vector<float> host = t.to_vector<float>();
  EXPECT_EQ(t.select(0, 1).select(0, 2).item<float>(), host[6]);
  EXPECT_STRATA_ERROR(t.item(), ShapeError, "a Tensor with 12 elements cannot be converted to Scalar");
}

TEST_P(TensorOnDevice, SizeOfABadDimensionThrows) {
  Tensor t = zeros({3, 4}, options());
  EXPECT_STRATA_ERROR(t.size(2), IndexError, "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  EXPECT_STRATA_ERROR(t.stride(-3), IndexError,
                      "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
  EXPECT_STRATA_ERROR(zeros({}, options()).size(0), IndexError, "dimension specified as 0 but tensor has no dimensions");
}

TEST_P(TensorOnDevice, CloneIsARealCopy) {
  Tensor a = random_tensor({6, 7}, device(), 4);
  const std::vector<float> before = a.to_vector<float>();
  Tensor b = a.clone();
  EXPECT_NE(a.storage(), b.storage());
  EXPECT_NE(a.data_ptr(), b.data_ptr());
  EXPECT_EQ(b.to_vector<float>(), before);
  b.fill_(1);
  EXPECT_EQ(a.to_vector<float>(), before);
}

TEST_P(TensorOnDevice, ContiguousCopiesOnlyWhenNeeded) {
  Tensor a = random_tensor({4, 6}, device(), 5);
  EXPECT_TRUE(a.contiguous().is_same(a));
  Tensor t = a.t();
  EXPECT_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.storage(), a.storage());
  EXPECT_EQ(c.to_vector<float>(), t.to_vector<float>());
  const std::vector<float> host = a.to_vector<float>();
  const std::vector<float> transposed = c.to_vector<float>();
  for (int i = 0; i < 6; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(transposed[i * 4 + j], host[j * 6 + i]);
  }
}

TEST_P(TensorOnDevice, ContiguousAndCloneOfDenseNonRowMajorLayouts) {
  // A permuted 3-D tensor is dense but not row-major: contiguous() and clone()
  // give row-major copies with the permuted values (clone() does not keep the
  // permuted strides as PyTorch's preserve_format would).
  Tensor a = random_tensor({2, 3, 4}, device(), 30);
  const std::vector<float> host = a.to_vector<float>();
  Tensor p = a.permute({2, 0, 1});
  EXPECT_EQ(p.strides(), (Shape{1, 12, 4}));
  EXPECT_FALSE(p.is_contiguous());
  std::vector<float> expected;
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) expected.push_back(host[i * 12 + j * 4 + k]);
    }
  }
  for (const Tensor& copy : {p.contiguous(), p.clone()}) {
    EXPECT_EQ(copy.sizes(), (Shape{4, 2, 3}));
    EXPECT_EQ(copy.strides(), (Shape{6, 3, 1}));
    EXPECT_EQ(copy.storage_offset(), 0);
    EXPECT_TRUE(copy.is_contiguous());
    EXPECT_NE(copy.storage(), a.storage());
    EXPECT_EQ(copy.storage().nbytes(), 24 * sizeof(float));
    EXPECT_EQ(copy.to_vector<float>(), expected);
  }
  // An expanded (stride 0) tensor materializes every element.
  Tensor row = random_tensor({3}, device(), 31);
  Tensor e = row.expand({4, 3}).contiguous();
  EXPECT_EQ(e.strides(), (Shape{3, 1}));
  const std::vector<float> r = row.to_vector<float>();
  std::vector<float> tiled;
  for (int i = 0; i < 4; ++i) tiled.insert(tiled.end(), r.begin(), r.end());
  EXPECT_EQ(e.to_vector<float>(), tiled);
  // A size-1 dim with an odd stride is still row-major: no copy.
  Tensor odd = a.as_strided({1, 4}, {100, 1}, 0);
  EXPECT_TRUE(odd.is_contiguous());
  EXPECT_TRUE(odd.contiguous().is_same(odd));
}

TEST_P(TensorOnDevice, UnsqueezeOfAnEmptyTensorWithHugeSizes) {
  // Row-major strides of {2, 2^62, 4, 0} saturate; unsqueeze multiplies one.
  constexpr int64_t kBig = int64_t{1} << 62;
  Tensor t = empty({2, kBig, 4, 0}, options());
  EXPECT_EQ(t.numel(), 0);
  Tensor u = t.unsqueeze(1);
  EXPECT_EQ(u.sizes(), (Shape{2, 1, kBig, 4, 0}));
  EXPECT_EQ(u.numel(), 0);
  EXPECT_EQ(t.unsqueeze(-1).sizes(), (Shape{2, kBig, 4, 0, 1}));
}

TEST_P(TensorOnDevice, ToDTypeConvertsAndKeepsTheSameTensorWhenEqual) {
  Tensor a = random_tensor({10}, device(), 6);
  EXPECT_TRUE(a.to(kFloat32).is_same(a));
  EXPECT_TRUE(a.to(device()).is_same(a));
  Tensor i = a.to(kInt32);
  EXPECT_EQ(i.dtype(), kInt32);
  const std::vector<float> host = a.to_vector<float>();
  const std::vector<int32_t> ints = i.to_vector<int32_t>();
  for (size_t k = 0; k < host.size(); ++k) EXPECT_EQ(ints[k], static_cast<int32_t>(host[k]));
}

TEST_P(TensorOnDevice, ToVectorConvertsAndGathersNonContiguous) {
  Tensor a = random_tensor({3, 5}, device(), 7);
  const std::vector<float> host = a.to_vector<float>();
  const std::vector<double> column = a.select(1, 3).to_vector<double>();
  ASSERT_EQ(column.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(column[i], static_cast<double>(host[i * 5 + 3]));
}

TEST_P(TensorOnDevice, ConstructorFromStorageChecksBounds) {
  Tensor base = zeros({8}, options());
  Tensor v(base.storage(), {2, 2}, {1, 2}, 1, kFloat32);
  EXPECT_EQ(v.storage(), base.storage());
  EXPECT_EQ(v.storage_offset(), 1);
  EXPECT_STRATA_ERROR(Tensor(base.storage(), {4, 4}, {4, 1}, 0, kFloat32), ShapeError,
                      "setStorage: sizes [4, 4], strides [4, 1], storage offset 0, and itemsize 4 requiring a "
                      "storage size of 64 are out of bounds for storage of size " +
                          std::to_string(base.storage().nbytes()));
  EXPECT_STRATA_ERROR(Tensor(base.storage(), {2}, {1, 1}, 0, kFloat32), ShapeError,
                      "mismatch in length of strides and shape");
  EXPECT_STRATA_ERROR(Tensor(base.storage(), {2}, {-1}, 0, kFloat32), ShapeError,
                      "as_strided: Negative strides are not supported at the moment, got strides: [-1]");
  EXPECT_STRATA_ERROR(Tensor(base.storage(), {-2}, {1}, 0, kFloat32), ShapeError,
                      "Trying to create tensor with negative dimension -2: [-2]");
  EXPECT_STRATA_ERROR(Tensor(base.storage(), {2}, {1}, -1, kFloat32), ShapeError, "Tensor: invalid storage offset -1");
  // Empty views fit anywhere.
  EXPECT_EQ(Tensor(base.storage(), {0, 100}, {100, 1}, 5, kFloat32).numel(), 0);
}

TEST_P(TensorOnDevice, StorageOutlivesTheTensorThatMadeIt) {
  Tensor view;
  std::vector<float> expected;
  {
    Tensor base = random_tensor({4, 4}, device(), 8);
    expected = base.select(0, 3).to_vector<float>();
    view = base.select(0, 3);
  }
  EXPECT_EQ(view.storage().use_count(), 1);
  EXPECT_EQ(view.to_vector<float>(), expected);
}

TEST(Tensor, UndefinedHandle) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_THROW((void)t.sizes(), ValueError);
  EXPECT_EQ(t.to_string(), "tensor(undefined)");
}

TEST(TensorCUDA, RecordStreamNeedsTheTensorsDevice) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  Tensor t = zeros({4}, TensorOptions().device(kCPU));
  EXPECT_THROW(t.record_stream(cuda::current_stream()), DeviceError);
}

TEST(TensorCUDA, RecordStreamOnASideStream) {
  if (!cuda::is_available()) GTEST_SKIP() << "strata: no CUDA device";
  cuda::Stream side = cuda::Stream::create();
  Tensor t = zeros({1024}, TensorOptions().device("cuda"));
  t.record_stream(side);
  EXPECT_EQ(t.to_vector<float>(), std::vector<float>(1024, 0.f));
}

TEST(Tensor, GpuTensorsAreRefusedWithoutAGpu) {
  if (cuda::is_available()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_THROW(zeros({2}, TensorOptions().device("cuda")), DeviceError);
  EXPECT_THROW(random_tensor({2}, kCPU, 1).to(Device("cuda")), DeviceError);
}

// Handles are made and dropped on different threads, and threads exit with
// freed control blocks cached (src/core/recycling_allocator.h): every tensor
// keeps its values, and the sanitizer builds see no leak or misuse.
TEST(TensorHandles, CrossThreadLifetimesKeepValues) {
  std::vector<Tensor> made(64);
  std::thread producer([&] {
    for (size_t i = 0; i < made.size(); ++i) made[i] = full({3}, static_cast<double>(i));
    for (int k = 0; k < 100; ++k) Tensor scratch = zeros({2, 2});  // fills this thread's cache
  });
  producer.join();  // exits with cached blocks
  std::vector<std::thread> consumers;
  for (int t = 0; t < 4; ++t) {
    consumers.emplace_back([&, t] {
      for (size_t i = static_cast<size_t>(t); i < made.size(); i += 4) {
        const std::vector<float> v = made[i].to_vector<float>();
        EXPECT_EQ(v, std::vector<float>(3, static_cast<float>(i)));
        made[i] = Tensor();  // freed on another thread than the one that made it
        Tensor fresh = ones({4});
        EXPECT_EQ(fresh.to_vector<float>(), std::vector<float>(4, 1.f));
      }
    });
  }
  for (std::thread& c : consumers) c.join();
}

}  // namespace
}  // namespace strata

// The seed question, in strata: how do I update a zeros tensor with other tensors
// out of place, in place, and at chosen indices, without paying for new memory
// each time? Runs on the default device (CUDA when usable, else the CPU).
#include <strata/strata.h>

#include <cstdio>
#include <iostream>

using namespace strata;

static const char* yes_no(bool b) { return b ? "yes" : "NO"; }

int main() {
  const Device device = default_device();
  std::cout << "strata " << version() << " on " << device
            << (cuda::is_available() ? "" : " (no usable CUDA device: CPU fallback)") << "\n\n";

  Tensor z = zeros({3, 3});
  Tensor u = tensor({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}});  // Int64, like torch.tensor
  std::cout << "z = zeros({3, 3})\n" << z << "\n\nu = tensor({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}})\n" << u << "\n\n";

  // 1. Out of place: a new tensor (Float32 by promotion); z is unchanged.
  Tensor s = z + u;
  std::cout << "1. s = z + u   (dtype " << s.dtype() << ", z unchanged: "
            << yes_no(z.to_vector<float>() == std::vector<float>(9, 0.f)) << ")\n"
            << s << "\n\n";

  // 2. In place: same storage, same data pointer, before and after.
  const void* data_before = z.data_ptr();
  const void* storage_before = z.storage().data();
  z.add_(u);
  std::cout << "2. z.add_(u)   data_ptr " << data_before << " -> " << z.data_ptr()
            << " (same: " << yes_no(z.data_ptr() == data_before)
            << "), storage().data() same: " << yes_no(z.storage().data() == storage_before) << "\n"
            << z << "\n";
  z += u;
  std::cout << "   z += u      data_ptr still " << z.data_ptr() << "\n" << z << "\n\n";

  // 3. At chosen indices: t[idx[:, 0], idx[:, 1]] = [10, 20, 30].
  Tensor t = zeros({5, 5});
  Tensor idx = tensor({{1, 1}, {2, 2}, {3, 3}});
  const void* t_before = t.data_ptr();
  t.index_put_({idx.select(1, 0), idx.select(1, 1)}, tensor({10.f, 20.f, 30.f}));
  std::cout << "3. t.index_put_({idx.select(1, 0), idx.select(1, 1)}, tensor({10.f, 20.f, 30.f}))"
            << "   (data_ptr same: " << yes_no(t.data_ptr() == t_before) << ")\n"
            << t << "\n";

  // Duplicates accumulate with accumulate=true (deterministically on request).
  Tensor hits = zeros({4});
  hits.index_put_({tensor({0, 2, 2, 2})}, ones({4}), /*accumulate=*/true);
  std::cout << "   zeros(4).index_put_({[0, 2, 2, 2]}, ones(4), accumulate=true) -> " << hits << "\n";

  // Indices are checked before anything is written.
  const std::vector<float> t_values = t.to_vector<float>();
  try {
    t.index_put_({tensor({0, 7})}, tensor({1.f}));
  } catch (const IndexError& e) {
    std::cout << "   t.index_put_({[0, 7]}, 1.) -> IndexError: " << e.message()
              << "\n   t unchanged: " << yes_no(t.to_vector<float>() == t_values) << "\n";
  }
  std::cout << "\n" << memory::summary(device) << "\n";
  return 0;
}

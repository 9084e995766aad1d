// Links against the installed libstrata.so and checks the seed's first two
// answers; exits non-zero on any mismatch.
#include <strata/strata.h>

#include <cstdio>
#include <vector>

int main() {
  using namespace strata;
  Tensor z = zeros({3, 3}, kCPU);
  Tensor u = tensor({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}, kCPU);
  void* before = z.data_ptr();
  Tensor s = z + u;
  z.add_(u);
  const std::vector<float> got = z.to_vector<float>();
  const std::vector<float> sum = s.to_vector<float>();
  bool ok = z.data_ptr() == before && s.dtype() == kFloat32;
  for (int i = 0; i < 9; ++i) ok = ok && got[i] == float(i + 1) && sum[i] == float(i + 1);
  try {
    z.add_(zeros({2, 2}, kCPU));
    ok = false;
  } catch (const ShapeError&) {
  }
  std::printf("strata %s consumer: %s\n%s\n", version(), ok ? "ok" : "FAILED", z.to_string().c_str());
  return ok ? 0 : 1;
}

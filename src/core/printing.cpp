// PyTorch-style printing: the same layout, number formats, summarization and
// suffixes as torch's _tensor_str (line width 80, precision 4, 3 edge items,
// summarizing above 1000 elements).
#include <algorithm>
#include <cmath>
#include <ostream>
#include <vector>

#include "src/core/check.h"
#include "strata/factories.h"
#include "strata/tensor.h"

namespace strata {

namespace {

constexpr int kLineWidth = 80;
constexpr int kEdgeItems = 3;
constexpr int64_t kThreshold = 1000;

// The printed elements on the host in row-major order, with the shape they
// form; dims longer than 2 * kEdgeItems keep only their edges when summarized.
struct HostValues {
  Shape shape;
  std::vector<bool> elided;  // per dim: an "..." sits between the edges
  std::vector<double> floats;
  std::vector<int64_t> ints;
};

bool is_float(DType d) { return is_floating_point(d); }

HostValues gather_values(const Tensor& t, bool summarize) {
  HostValues values;
  Tensor source = t;
  if (summarize) {
    Shape kept = t.sizes();
    for (int64_t& size : kept) {
      const bool elide = size > 2 * kEdgeItems;
      values.elided.push_back(elide);
      if (elide) size = 2 * kEdgeItems;
    }
    // Copy each combination of head/tail blocks into a small host tensor.
    Tensor summary = empty(kept, TensorOptions().dtype(t.dtype()).device(kCPU));
    const int64_t ndim = t.dim();
    for (int64_t mask = 0; mask < (int64_t{1} << ndim); ++mask) {
      Tensor from = t;
      Tensor to = summary;
      bool skip = false;
      for (int64_t d = 0; d < ndim; ++d) {
        const bool tail = (mask >> d) & 1;
        if (!values.elided[d]) {
          if (tail) skip = true;
          continue;
        }
        const int64_t n = t.size(d);
        from = tail ? from.slice(d, n - kEdgeItems, n) : from.slice(d, 0, kEdgeItems);
        to = tail ? to.slice(d, kEdgeItems, 2 * kEdgeItems) : to.slice(d, 0, kEdgeItems);
      }
      if (!skip) to.copy_(from);
    }
    source = summary;
    values.shape = kept;
  } else {
    values.shape = t.sizes();
    values.elided.assign(t.sizes().size(), false);
  }
  if (is_float(t.dtype())) {
    values.floats = source.to_vector<double>();
  } else {
    values.ints = source.to_vector<int64_t>();
  }
  return values;
}

std::string format_fixed(double v, int precision) { return fmt::format("{:.{}f}", v, precision); }
std::string format_sci(double v, int precision) { return fmt::format("{:.{}e}", v, precision); }

// Decides one format for all elements, as torch's _Formatter.
class Formatter {
 public:
  Formatter(DType dtype, const HostValues& values) : dtype_(dtype) {
    if (dtype == kBool) {
      for (const int64_t v : values.ints) width_ = std::max<int>(width_, v ? 4 : 5);
      return;
    }
    if (!is_float(dtype)) {
      for (const int64_t v : values.ints) width_ = std::max<int>(width_, static_cast<int>(std::to_string(v).size()));
      return;
    }
    // As torch: floats start in int mode, which stands when no value is both
    // finite and nonzero (zeros print "0.", nan and inf bare).
    int_mode_ = true;
    std::vector<double> finite;
    for (const double v : values.floats) {
      if (std::isfinite(v) && v != 0.0) finite.push_back(v);
    }
    if (finite.empty()) return;
    double min_abs = std::abs(finite[0]), max_abs = min_abs;
    for (const double v : finite) {
      min_abs = std::min(min_abs, std::abs(v));
      max_abs = std::max(max_abs, std::abs(v));
      if (v != std::ceil(v)) int_mode_ = false;
    }
    if (int_mode_) {
      sci_mode_ = max_abs / min_abs > 1000.0 || max_abs > 1.0e8;
    } else {
      sci_mode_ = max_abs / min_abs > 1000.0 || max_abs > 1.0e8 || min_abs < 1.0e-4;
    }
    for (const double v : finite) {
      const int length = sci_mode_  ? static_cast<int>(format_sci(v, 4).size())
                         : int_mode_ ? static_cast<int>(format_fixed(v, 0).size()) + 1
                                     : static_cast<int>(format_fixed(v, 4).size());
      width_ = std::max(width_, length);
    }
  }

  int width() const { return width_; }

  std::string format_float(double v) const {
    std::string text;
    if (std::isnan(v)) {
      text = "nan";
    } else if (std::isinf(v)) {
      text = v > 0 ? "inf" : "-inf";
    } else if (sci_mode_) {
      text = format_sci(v, 4);
    } else if (int_mode_) {
      text = format_fixed(v, 0) + ".";
    } else {
      text = format_fixed(v, 4);
    }
    return pad(text);
  }

  std::string format_int(int64_t v) const {
    if (dtype_ == kBool) return pad(v ? "True" : "False");
    return pad(std::to_string(v));
  }

 private:
  std::string pad(const std::string& text) const {
    const int missing = width_ - static_cast<int>(text.size());
    return missing > 0 ? std::string(missing, ' ') + text : text;
  }

  DType dtype_;
  int width_ = 1;
  bool int_mode_ = false;
  bool sci_mode_ = false;
};

struct Printer {
  const HostValues& values;
  const Formatter& formatter;
  bool floating;
  Shape strides;  // row-major strides of values.shape

  std::string element(int64_t flat) const {
    return floating ? formatter.format_float(values.floats[flat]) : formatter.format_int(values.ints[flat]);
  }

  std::string vector_str(int64_t base, int64_t indent) const {
    const int64_t n = values.shape.back();
    const bool elide = values.elided.back();
    const int element_length = formatter.width() + 2;
    const int64_t per_line = std::max<int64_t>(1, (kLineWidth - indent) / element_length);
    std::vector<std::string> data;
    for (int64_t i = 0; i < n; ++i) {
      if (elide && i == kEdgeItems) data.emplace_back(" ...");
      data.push_back(element(base + i));
    }
    std::string out = "[";
    for (size_t i = 0; i < data.size(); ++i) {
      if (i > 0) {
        out += i % per_line == 0 ? ",\n" + std::string(indent + 1, ' ') : ", ";
      }
      out += data[i];
    }
    return out + "]";
  }

  std::string tensor_str(size_t dim, int64_t base, int64_t indent) const {
    const size_t ndim = values.shape.size();
    if (dim + 1 == ndim) return vector_str(base, indent);
    std::vector<std::string> slices;
    for (int64_t i = 0; i < values.shape[dim]; ++i) {
      if (values.elided[dim] && i == kEdgeItems) slices.emplace_back("...");
      slices.push_back(tensor_str(dim + 1, base + i * strides[dim], indent + 1));
    }
    const std::string separator = "," + std::string(ndim - dim - 1, '\n') + std::string(indent + 1, ' ');
    std::string out = "[";
    for (size_t i = 0; i < slices.size(); ++i) {
      if (i > 0) out += separator;
      out += slices[i];
    }
    return out + "]";
  }
};

std::string add_suffixes(std::string text, const std::vector<std::string>& suffixes, int indent) {
  // As torch: the distance from the last newline (or from -1 without one), plus 1.
  const size_t newline = text.rfind('\n');
  const int64_t newline_pos = newline == std::string::npos ? -1 : static_cast<int64_t>(newline);
  int64_t last_line = static_cast<int64_t>(text.size()) - newline_pos + 1;
  for (const std::string& suffix : suffixes) {
    const int64_t length = static_cast<int64_t>(suffix.size());
    if (last_line + length + 2 > kLineWidth) {
      text += ",\n" + std::string(indent, ' ') + suffix;
      last_line = indent + length;
    } else {
      text += ", " + suffix;
      last_line += length + 2;
    }
  }
  return text + ")";
}

}  // namespace

std::string Tensor::to_string() const {
  if (!defined()) return "tensor(undefined)";
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  if (is_cuda()) suffixes.push_back(fmt::format("device='{}'", device().str()));
  std::string body;
  if (numel() == 0) {
    body = "[]";
    if (dim() != 1) suffixes.push_back(fmt::format("size=({})", fmt::join(sizes(), ", ")));
    // Empty tensors name every dtype but the default float.
    if (dtype() != kFloat32) suffixes.push_back("dtype=strata." + strata::to_string(dtype()));
  } else {
    const bool summarize = numel() > kThreshold;
    const HostValues values = gather_values(*this, summarize);
    const Formatter formatter(dtype(), values);
    if (dim() == 0) {
      body = is_float(dtype()) ? formatter.format_float(values.floats[0]) : formatter.format_int(values.ints[0]);
    } else {
      Shape strides(values.shape.size(), 1);
      for (size_t i = values.shape.size() - 1; i-- > 0;) strides[i] = strides[i + 1] * values.shape[i + 1];
      const Printer printer{values, formatter, is_float(dtype()), strides};
      body = printer.tensor_str(0, 0, indent);
    }
    if (dtype() != kFloat32 && dtype() != kInt64 && dtype() != kBool) {
      suffixes.push_back("dtype=strata." + strata::to_string(dtype()));
    }
  }
  return add_suffixes(prefix + body, suffixes, indent);
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace strata

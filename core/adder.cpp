#include "core/adder.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/adder_kernels.h"

namespace apot {

namespace adder_detail {

extern const AdderKernels kAdderScalar = kernels_for<ScalarVec>();

int64_t row_stride(int64_t L) {
  const int64_t padded = (L + 15) / 16 * 16;  // whole 64-byte lines
  return padded % 1024 == 0 ? padded + 16 : padded;
}

}  // namespace adder_detail

namespace {

using adder_detail::AdderKernels;

const AdderKernels& kernels(Isa isa) {
  constexpr Isa kWritten[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni};
  switch (highest_written(kWritten, isa)) {
    case Isa::Avx512Vnni: return adder_detail::kAdderAvx512;
    case Isa::Avx2: return adder_detail::kAdderAvx2;
    case Isa::Scalar: break;
  }
  return adder_detail::kAdderScalar;
}

int64_t image_elements(const AdderShape& s) { return s.in_channels * s.height * s.width; }

// Calls f(at, image_row, shift, lo, hi) for every tap k = (c * kernel + i) * kernel + j and output row
// oy, in that order: `at` is where that tap's row for that output row starts in the matrix (im2col, row
// stride ld), `image_row` the input row it reads (nullptr where that is padding), and its outputs
// lo..hi read image_row[ox * stride + shift]; the others read padding.
template <class T, class F>
void for_each_tap_row(const AdderShape& s, T* image, int64_t ld, F&& f) {
  const int64_t oh = s.out_height(), ow = s.out_width();
  int64_t k = 0;
  for (int64_t c = 0; c < s.in_channels; ++c) {
    for (int64_t i = 0; i < s.kernel; ++i) {
      for (int64_t j = 0; j < s.kernel; ++j, ++k) {
        const int64_t before = s.padding - j, after = s.width - 1 + s.padding - j;  // ox * stride within them
        const int64_t lo = before > 0 ? (before + s.stride - 1) / s.stride : 0;
        const int64_t hi = after < 0 ? -1 : std::min(ow - 1, after / s.stride);
        for (int64_t oy = 0; oy < oh; ++oy) {
          const int64_t y = oy * s.stride - s.padding + i;
          const bool inside = y >= 0 && y < s.height;
          f(k * ld + oy * ow, inside ? image + (c * s.height + y) * s.width : nullptr, j - s.padding, lo, hi);
        }
      }
    }
  }
}

// The patches of one image as a K x L matrix of row stride ld (im2col); padding reads 0.
void patches(const AdderShape& s, const float* image, int64_t ld, float* matrix) {
  const int64_t ow = s.out_width(), stride = s.stride;
  for_each_tap_row(s, image, ld, [&](int64_t at, const float* in, int64_t shift, int64_t lo, int64_t hi) {
    float* row = matrix + at;
    if (in == nullptr) {
      std::fill(row, row + ow, 0.0f);
      return;
    }
    std::fill(row, row + std::min(lo, ow), 0.0f);
    if (stride == 1) {
      if (lo <= hi) std::copy(in + lo + shift, in + hi + 1 + shift, row + lo);
    } else {
      for (int64_t ox = lo; ox <= hi; ++ox) row[ox] = in[ox * stride + shift];
    }
    std::fill(row + std::max(hi + 1, lo), row + ow, 0.0f);
  });
}

// The inverse on gradients: each patch element added back to the input element it read, tap by tap, row
// by row (a fixed order), padding dropped. `image` is overwritten.
void add_patches(const AdderShape& s, const float* matrix, int64_t ld, float* image) {
  std::fill(image, image + image_elements(s), 0.0f);
  const int64_t stride = s.stride;
  for_each_tap_row(s, image, ld, [&](int64_t at, float* out, int64_t shift, int64_t lo, int64_t hi) {
    if (out == nullptr) return;
    if (stride == 1) {
      for (int64_t ox = lo; ox <= hi; ++ox) out[ox + shift] += matrix[at + ox];
    } else {
      for (int64_t ox = lo; ox <= hi; ++ox) out[ox * stride + shift] += matrix[at + ox];
    }
  });
}

void check_range(const char* what, int64_t begin, int64_t end, int64_t size) {
  if (begin < 0 || begin > end || end > size) {
    throw std::invalid_argument(fmt::format("adder: {} range [{}, {}) outside [0, {})", what, begin, end, size));
  }
}

}  // namespace

void AdderShape::check() const {
  const std::pair<const char*, int64_t> positive[] = {{"batch", batch},        {"in_channels", in_channels},
                                                      {"height", height},      {"width", width},
                                                      {"out_channels", out_channels}, {"kernel", kernel},
                                                      {"stride", stride}};
  for (const auto& [name, value] : positive) {
    if (value < 1) throw std::invalid_argument(fmt::format("adder: {} = {}, expected >= 1", name, value));
  }
  if (padding < 0) throw std::invalid_argument(fmt::format("adder: padding = {}, expected >= 0", padding));
  if (kernel > height + 2 * padding || kernel > width + 2 * padding) {
    throw std::invalid_argument(fmt::format("adder: kernel {} is larger than the padded input {}x{}", kernel,
                                            height + 2 * padding, width + 2 * padding));
  }
}

void adder_forward(const AdderShape& s, const float* x, const float* w, float* y, int64_t begin, int64_t end, Isa isa) {
  s.check();
  check_range("image", begin, end, s.batch);
  const AdderKernels& k = kernels(isa);
  const int64_t K = s.taps(), L = s.positions(), ld = adder_detail::row_stride(L);
  std::vector<float> cols(static_cast<size_t>(K * ld));
  for (int64_t n = begin; n < end; ++n) {
    patches(s, x + n * image_elements(s), ld, cols.data());
    k.forward(s, cols.data(), ld, w, y + n * s.out_channels * L);
  }
}

void adder_backward(const AdderShape& s, const float* x, const float* w, const float* g, float* grad_x,
                    AdderWeightPartial* partial, int64_t begin, int64_t end, Isa isa) {
  s.check();
  check_range("image", begin, end, s.batch);
  if (begin == end) throw std::invalid_argument("adder: an empty image range has no gradient");
  const AdderKernels& k = kernels(isa);
  const int64_t K = s.taps(), L = s.positions(), C = s.out_channels, ld = adder_detail::row_stride(L);
  std::vector<float> cols(static_cast<size_t>(K * ld)), grad_cols(cols.size()), g_rows(static_cast<size_t>(C * ld));
  std::vector<float> g_t(static_cast<size_t>(L * C));
  if (partial) {
    partial->sums.resize(static_cast<size_t>(K * C));
    partial->g_sums.assign(static_cast<size_t>(C), 0.0f);
  }
  for (int64_t n = begin; n < end; ++n) {
    const float* g_image = g + n * C * L;
    patches(s, x + n * image_elements(s), ld, cols.data());
    if (grad_x) {
      for (int64_t t = 0; t < C; ++t) std::copy(g_image + t * L, g_image + (t + 1) * L, g_rows.data() + t * ld);
      k.input_cols(s, cols.data(), ld, w, g_rows.data(), grad_cols.data());
      add_patches(s, grad_cols.data(), ld, grad_x + n * image_elements(s));
    }
    if (partial) {
      for (int64_t t = 0; t < C; ++t) {
        for (int64_t p = 0; p < L; ++p) {
          g_t[static_cast<size_t>(p * C + t)] = g_image[t * L + p];
          partial->g_sums[static_cast<size_t>(t)] += g_image[t * L + p];
        }
      }
      k.weight_grad(s, cols.data(), ld, g_t.data(), partial->sums.data(), 0, C, n == begin);
    }
  }
}

void adder_weight_grad(const AdderShape& s, const float* w, const AdderWeightPartial* partials, size_t count,
                       float* grad_w) {
  s.check();
  const int64_t K = s.taps(), C = s.out_channels;
  if (count == 0) throw std::invalid_argument("adder: no partial weight gradients to add");
  std::vector<float> sums(static_cast<size_t>(K * C), 0.0f), g_sums(static_cast<size_t>(C), 0.0f);
  for (size_t i = 0; i < count; ++i) {
    if (partials[i].sums.size() != sums.size() || partials[i].g_sums.size() != g_sums.size()) {
      throw std::invalid_argument(fmt::format("adder: partial {} holds {} sums, expected {} (another shape?)", i,
                                              partials[i].sums.size(), sums.size()));
    }
    for (size_t j = 0; j < sums.size(); ++j) sums[j] += partials[i].sums[j];
    for (size_t t = 0; t < g_sums.size(); ++t) g_sums[t] += partials[i].g_sums[t];
  }
  for (int64_t t = 0; t < C; ++t) {
    for (int64_t j = 0; j < K; ++j) {
      grad_w[t * K + j] = std::fma(-w[t * K + j], g_sums[static_cast<size_t>(t)], sums[static_cast<size_t>(j * C + t)]);
    }
  }
}

void adder_scale_weight_grad(float* grad_w, size_t n, double eta) {
  double squares = 0;
  for (size_t i = 0; i < n; ++i) squares += static_cast<double>(grad_w[i]) * grad_w[i];
  const double scale = eta * std::sqrt(static_cast<double>(n)) / std::max(std::sqrt(squares), 1e-12);
  for (size_t i = 0; i < n; ++i) grad_w[i] = static_cast<float>(grad_w[i] * scale);
}

}  // namespace apot

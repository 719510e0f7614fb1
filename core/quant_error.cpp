#include "core/quant_error.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "core/project.h"

namespace apot {

namespace {

void require_data(size_t n, const char* what) {
  if (n == 0) throw std::invalid_argument(fmt::format("{}: the data is empty", what));
}

// The projection runs in float, so alpha is rounded to float once and used as such throughout.
QuantError error_with(const Projector& projector, bool is_signed, const float* data, size_t n, double alpha) {
  const float alpha_f = static_cast<float>(alpha);
  alpha = alpha_f;
  constexpr size_t kChunk = 4096;
  float quantized[kChunk];
  const double lower = is_signed ? -alpha : 0.0;
  QuantError e;
  for (size_t start = 0; start < n; start += kChunk) {
    const size_t count = std::min(kChunk, n - start);
    projector.project(data + start, quantized, count, alpha_f);
    for (size_t i = 0; i < count; ++i) {
      const double x = data[start + i];
      const double clipped = std::clamp(x, lower, alpha);
      if (clipped != x) {
        e.clip += (x - clipped) * (x - clipped);
      } else {
        const double d = x - quantized[i];
        e.projection += d * d;
      }
    }
  }
  e.clip /= static_cast<double>(n);
  e.projection /= static_cast<double>(n);
  return e;
}

}  // namespace

QuantError quantization_error(const LevelSet& set, const float* data, size_t n, double alpha) {
  require_data(n, "quantization error");
  return error_with(Projector(set), set.is_signed(), data, n, alpha);
}

QemResult qem_alpha(const LevelSet& set, const float* data, size_t n, const QemOptions& options) {
  require_data(n, "QEM");
  if (options.grid_points < 2 || options.refine_iterations < 0) {
    throw std::invalid_argument("QEM options: expected grid_points >= 2 and refine_iterations >= 0");
  }
  double top = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = data[i];
    if (std::isnan(x)) throw std::domain_error(fmt::format("QEM: NaN at element {} of {}", i, n));
    top = std::max(top, set.is_signed() ? std::fabs(x) : x);
  }
  if (!(top > 0) || !std::isfinite(top)) {
    throw std::invalid_argument(fmt::format(
        "QEM: the data's largest {} is {}; expected a finite value > 0", set.is_signed() ? "|x|" : "x", top));
  }
  const Projector projector(set);
  auto total = [&](double alpha) { return error_with(projector, set.is_signed(), data, n, alpha).total(); };

  const int g = options.grid_points;
  int best = g;
  double best_error = total(top);
  for (int j = 1; j < g; ++j) {
    const double e = total(top * j / g);
    if (e < best_error) {
      best_error = e;
      best = j;
    }
  }
  // Golden-section search inside the neighbouring grid cells.
  double lo = top * (best - 1) / g, hi = top * std::min(best + 1, g) / g;
  const double inv_phi = (std::sqrt(5.0) - 1) / 2;
  double a = hi - inv_phi * (hi - lo), b = lo + inv_phi * (hi - lo);
  double ea = a > 0 ? total(a) : INFINITY, eb = total(b);
  for (int it = 0; it < options.refine_iterations; ++it) {
    if (ea < eb) {
      hi = b, b = a, eb = ea;
      a = hi - inv_phi * (hi - lo);
      ea = a > 0 ? total(a) : INFINITY;
    } else {
      lo = a, a = b, ea = eb;
      b = lo + inv_phi * (hi - lo);
      eb = total(b);
    }
  }
  QemResult result;
  result.alpha = top * best / g;
  for (double candidate : {a, b}) {
    if (candidate <= 0) continue;
    const double e = total(candidate);
    if (e < best_error) {
      best_error = e;
      result.alpha = candidate;
    }
  }
  result.error = error_with(projector, set.is_signed(), data, n, result.alpha);
  return result;
}

}  // namespace apot

#include "core/sawb.h"

#include <cmath>
#include <functional>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "core/quant_error.h"

namespace apot {

namespace {

struct Moments {
  double rms = 0;
  double mean_abs = 0;
};

Moments moments_of(const float* w, size_t n) {
  double sq = 0, abs = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = w[i];
    if (std::isnan(x)) throw std::domain_error(fmt::format("SAWB: NaN at element {} of {}", i, n));
    sq += x * x;
    abs += std::fabs(x);
  }
  return {std::sqrt(sq / static_cast<double>(n)), abs / static_cast<double>(n)};
}

// Inverse CDFs of the fit's shapes (unit scale, zero mean), from a uniform u in (0, 1).
struct Shape {
  const char* name;
  std::function<double(double)> quantile;
};

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {
      {"gaussian", nullptr},  // Box-Muller below: no closed-form quantile
      {"laplace", [](double u) { return u < 0.5 ? std::log(2 * u) : -std::log(2 - 2 * u); }},
      {"logistic", [](double u) { return std::log(u / (1 - u)); }},
      {"hyperbolic-secant", [](double u) { return 2 / M_PI * std::log(std::tan(M_PI / 2 * u)); }},
  };
  return all;
}

std::vector<float> sample(const Shape& shape, size_t n, std::mt19937_64& rng) {
  // Uniform in (0, 1) from 53 random bits, never 0 or 1.
  auto uniform = [&rng] { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; };
  std::vector<float> w(n);
  for (size_t i = 0; i < n; ++i) {
    if (shape.quantile) {
      w[i] = static_cast<float>(shape.quantile(uniform()));
    } else {
      w[i] = static_cast<float>(std::sqrt(-2 * std::log(uniform())) * std::cos(2 * M_PI * uniform()));
    }
  }
  return w;
}

}  // namespace

SawbFit fit_sawb(const LevelSet& set, size_t samples) {
  if (!set.is_signed()) throw std::invalid_argument("SAWB is for weights: it needs a signed level set");
  if (samples < 1000) throw std::invalid_argument(fmt::format("SAWB fit: {} samples is too few (>= 1000)", samples));
  SawbFit fit;
  std::mt19937_64 rng(20180718);
  for (const Shape& shape : shapes()) {
    const std::vector<float> w = sample(shape, samples, rng);
    const Moments m = moments_of(w.data(), w.size());
    fit.points.push_back({shape.name, m.rms, m.mean_abs, qem_alpha(set, w.data(), w.size()).alpha});
  }
  // Normal equations of alpha ~ c1 * rms + c2' * mean_abs, with c2 = -c2'.
  double srr = 0, sra = 0, saa = 0, sry = 0, say = 0;
  for (const SawbFitPoint& p : fit.points) {
    srr += p.rms * p.rms;
    sra += p.rms * p.mean_abs;
    saa += p.mean_abs * p.mean_abs;
    sry += p.rms * p.qem_alpha;
    say += p.mean_abs * p.qem_alpha;
  }
  const double det = srr * saa - sra * sra;
  fit.coefficients.c1 = (sry * saa - say * sra) / det;
  fit.coefficients.c2 = -(srr * say - sra * sry) / det;
  for (const SawbFitPoint& p : fit.points) {
    const double predicted = fit.coefficients.c1 * p.rms - fit.coefficients.c2 * p.mean_abs;
    fit.max_relative_residual = std::max(fit.max_relative_residual, std::fabs(predicted - p.qem_alpha) / p.qem_alpha);
  }
  return fit;
}

double sawb_alpha(const SawbCoefficients& c, const float* weights, size_t n) {
  if (n == 0) throw std::invalid_argument("SAWB: the weights are empty");
  const Moments m = moments_of(weights, n);
  const double alpha = c.c1 * m.rms - c.c2 * m.mean_abs;
  if (!(alpha > 0) || !std::isfinite(alpha)) {
    throw std::domain_error(fmt::format("SAWB: alpha = {} for weights with sqrt(E[w^2]) = {}, E[|w|] = {}; "
                                        "expected finite > 0 (all-zero weights?)",
                                        alpha, m.rms, m.mean_abs));
  }
  return alpha;
}

}  // namespace apot

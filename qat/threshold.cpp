#include "qat/threshold.h"

#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>

#include "core/sawb.h"
#include "qat/gradient.h"

namespace apot::qat {

namespace {

// SAWB coefficients depend only on the level set: fit once per bit-width per process.
SawbCoefficients sawb_coefficients(const LevelSet& set) {
  static std::mutex mutex;
  static std::map<int, SawbCoefficients> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(set.bits());
  if (it == cache.end()) it = cache.emplace(set.bits(), fit_sawb(set).coefficients).first;
  return it->second;
}

}  // namespace

torch::Tensor computed_threshold(Threshold t, const torch::Tensor& x, const LevelSet& levels, bool reference_compat) {
  torch::NoGradGuard no_grad;
  switch (t) {
    case Threshold::MaxAbs: {
      const torch::Tensor max = reference_compat ? x.max() : x.abs().max();
      return max.clamp_min(std::numeric_limits<float>::min());
    }
    case Threshold::Sawb: {
      const torch::Tensor c = x.to(torch::kFloat).contiguous();
      const double alpha = sawb_alpha(sawb_coefficients(levels), c.data_ptr<float>(), static_cast<size_t>(c.numel()));
      return torch::tensor(static_cast<float>(alpha));
    }
    case Threshold::Unit:
      return torch::tensor(1.0f);
    case Threshold::Learned:
    case Threshold::LsqStep:
      break;
  }
  throw std::logic_error("a learned threshold is a parameter of the layer, not computed");
}

double initial_threshold(const Pieces& pieces, const torch::Tensor& w, const LevelSet& levels, const QuantConfig& config) {
  torch::NoGradGuard no_grad;
  switch (pieces.threshold) {
    case Threshold::Learned:
      return pieces.normalization == Normalization::WeightNorm ? config.weight_alpha_init : 3.0 * w.std().item<double>();
    case Threshold::LsqStep:
      return 2.0 * w.abs().mean().item<double>() * std::sqrt(lsq_qp(levels));
    case Threshold::MaxAbs:
    case Threshold::Sawb:
    case Threshold::Unit:
      break;
  }
  throw std::logic_error("a computed threshold has no initial value");
}

}  // namespace apot::qat

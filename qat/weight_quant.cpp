#include "qat/weight_quant.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#include "core/lloyd.h"
#include "qat/clip_project.h"
#include "qat/grad_scale.h"
#include "qat/qem_fit.h"

namespace apot::qat {

namespace {

constexpr ClipGradRule kRcfWeights{/*is_signed=*/true, InputGrad::PassAll, AlphaGrad::Rcf};

// SAWB coefficients depend only on the level set: fit once per bit-width per process.
SawbCoefficients sawb_coefficients(const LevelSet& set) {
  static std::mutex mutex;
  static std::map<int, SawbCoefficients> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(set.bits());
  if (it == cache.end()) it = cache.emplace(set.bits(), fit_sawb(set).coefficients).first;
  return it->second;
}

// Largest level index of a symmetric uniform set: LSQ's Qp.
double lsq_qp(const LevelSet& set) { return static_cast<double>(set.magnitudes().size() - 1); }

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor d = t.detach().to(torch::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

}  // namespace

WeightQuantImpl::WeightQuantImpl(const QuantConfig& config, int64_t out_channels) : config_(config) {
  const int bits = config.weight_bits;
  const int magnitude_bits = bits - 1;
  switch (config.weight_quantizer) {
    case WeightQuantizer::Rcf:
    case WeightQuantizer::MaxAbs:
      if (config.scheme == Scheme::Lloyd) {
        // Uniform until init_from fits the levels to the weights.
        set_levels(LevelSet::uniform(bits, true));
        lloyd_levels = register_buffer("lloyd_levels", torch::zeros({int64_t{1} << magnitude_bits}));
      } else {
        set_levels(LevelSet::make(config.scheme, bits, std::min(config.k, magnitude_bits), true));
      }
      break;
    case WeightQuantizer::Sawb:
      set_levels(LevelSet::uniform(bits, true));
      sawb_ = sawb_coefficients(levels());
      break;
    case WeightQuantizer::Dorefa:
      set_levels(LevelSet::uniform(bits, false));
      break;
    case WeightQuantizer::Lsq:
      set_levels(LevelSet::uniform(bits, true));
      break;
  }
  if (config.weight_quantizer == WeightQuantizer::Rcf || config.weight_quantizer == WeightQuantizer::Lsq) {
    const bool per_channel = config.per_channel && config.weight_quantizer == WeightQuantizer::Rcf;
    wgt_alpha = register_parameter(
        "wgt_alpha", per_channel ? torch::full({out_channels}, config.weight_alpha_init) : torch::tensor(config.weight_alpha_init));
  }
}

void WeightQuantImpl::set_levels(const LevelSet& set) {
  levels_ = set;
  projector_ = std::make_unique<Projector>(set, midpoints(config_));
}

torch::Tensor WeightQuantImpl::normalize(const torch::Tensor& w) const {
  const bool uses_wn = config_.weight_norm && (config_.weight_quantizer == WeightQuantizer::Rcf ||
                                               config_.weight_quantizer == WeightQuantizer::MaxAbs);
  if (!uses_wn) return w;
  if (config_.reference_compat) {
    // The reference: statistics as constants, unbiased std, no eps.
    const torch::Tensor d = w.detach();
    return (w - d.mean()) / d.std(/*unbiased=*/true);
  }
  // Eq. 9: the population std of the layer's weights, plus eps; gradients flow through both statistics.
  return (w - w.mean()) / (w.std(/*unbiased=*/false) + config_.wn_eps);
}

torch::Tensor WeightQuantImpl::alpha_for(const torch::Tensor& w) const {
  torch::NoGradGuard no_grad;
  switch (config_.weight_quantizer) {
    case WeightQuantizer::Rcf:
    case WeightQuantizer::Lsq:
      return wgt_alpha.detach().clone();
    case WeightQuantizer::MaxAbs: {
      const torch::Tensor x = normalize(w);
      // The reference's 8-bit layers scale by max W, not max |W|.
      torch::Tensor a = config_.reference_compat ? x.max() : x.abs().max();
      return a.clamp_min(std::numeric_limits<float>::min());
    }
    case WeightQuantizer::Sawb: {
      const torch::Tensor c = w.detach().to(torch::kFloat).contiguous();
      return torch::tensor(static_cast<float>(sawb_alpha(sawb_, c.data_ptr<float>(), static_cast<size_t>(c.numel()))));
    }
    case WeightQuantizer::Dorefa:
      return torch::tensor(1.0f);
  }
  return {};
}

void WeightQuantImpl::sync_lloyd_levels() {
  if (!lloyd_levels.defined()) return;
  std::vector<double> mags = to_vector(lloyd_levels);
  if (mags == lloyd_in_use_) return;
  if (std::all_of(mags.begin(), mags.end(), [](double v) { return v == 0; })) {
    throw std::logic_error("Lloyd levels were never fitted: call init_from(weights) first");
  }
  set_levels(LevelSet::lloyd(mags, config_.weight_bits, true));
  lloyd_in_use_ = std::move(mags);
}

void WeightQuantImpl::init_from(const torch::Tensor& w) {
  torch::NoGradGuard no_grad;
  if (config_.weight_quantizer == WeightQuantizer::Rcf) {
    // WN makes the weights' scale 1, so the paper's constant fits; without it, the same clipping ratio.
    wgt_alpha.fill_(config_.weight_norm ? config_.weight_alpha_init : 3.0 * w.std().item<double>());
  } else if (config_.weight_quantizer == WeightQuantizer::Lsq) {
    // LSQ's step initialisation 2 E|w| / sqrt(Qp), as a threshold alpha = step * Qp.
    wgt_alpha.fill_(2.0 * w.abs().mean().item<double>() * std::sqrt(lsq_qp(levels())));
  }
  if (lloyd_levels.defined()) {
    const torch::Tensor x = normalize(w).detach().contiguous();
    const double alpha = alpha_for(w).mean().item<double>();
    const std::vector<double> mags = lloyd_max_magnitudes(x.data_ptr<float>(), static_cast<size_t>(x.numel()),
                                                          config_.weight_bits - 1, true, alpha);
    lloyd_levels.copy_(torch::tensor(std::vector<float>(mags.begin(), mags.end())));
    sync_lloyd_levels();
  }
}

bool WeightQuantImpl::fit_threshold(const torch::Tensor& w) {
  if (config_.weight_quantizer != WeightQuantizer::Rcf) return false;
  torch::NoGradGuard no_grad;
  sync_lloyd_levels();
  const torch::Tensor x = normalize(w).detach();
  if (wgt_alpha.dim() == 0) {
    if (const auto alpha = qem_threshold(levels(), x)) wgt_alpha.fill_(*alpha);
    return true;
  }
  for (int64_t c = 0; c < wgt_alpha.size(0); ++c) {
    if (const auto alpha = qem_threshold(levels(), x[c])) wgt_alpha[c].fill_(*alpha);
  }
  return true;
}

torch::Tensor WeightQuantImpl::forward(const torch::Tensor& w) {
  switch (config_.weight_quantizer) {
    case WeightQuantizer::Rcf:
      sync_lloyd_levels();
      return clip_project(normalize(w), wgt_alpha, *projector_, kRcfWeights);
    case WeightQuantizer::MaxAbs: {
      sync_lloyd_levels();
      const torch::Tensor x = normalize(w);
      if (config_.reference_compat) {
        // The reference's 8-bit layers, operation for operation: round half to even, no clamp.
        const torch::Tensor max = x.detach().max();
        const double steps = static_cast<double>(levels().magnitudes().size() - 1);
        const torch::Tensor q = x.div(max).mul(steps).round().div(steps).mul(max);
        return (q - x).detach() + x;
      }
      return clip_project(x, alpha_for(w), *projector_, kRcfWeights);
    }
    case WeightQuantizer::Sawb:
      return clip_project(w, alpha_for(w), *projector_, kRcfWeights);
    case WeightQuantizer::Dorefa: {
      // DoReFa: tanh, scaled into [0, 1], uniform with 2^b levels, mapped back to [-1, 1].
      const torch::Tensor t = torch::tanh(w);
      const torch::Tensor unit = t / (2 * t.detach().abs().max().clamp_min(std::numeric_limits<float>::min())) + 0.5;
      const ClipGradRule ste{/*is_signed=*/false, InputGrad::PassAll, AlphaGrad::Rcf};
      return 2 * clip_project(unit, torch::tensor(1.0f), *projector_, ste) - 1;
    }
    case WeightQuantizer::Lsq: {
      // LSQ learns its step s with gradient scale 1 / sqrt(N Qp); as alpha = s Qp, SGD on alpha matches
      // SGD on s when alpha's gradient is scaled by Qp^2 / sqrt(N Qp).
      const double qp = lsq_qp(levels());
      const torch::Tensor alpha = scale_grad(wgt_alpha, qp * qp / std::sqrt(static_cast<double>(w.numel()) * qp));
      const ClipGradRule lsq{/*is_signed=*/true, InputGrad::PassInRange, AlphaGrad::Rcf};
      return clip_project(w, alpha, *projector_, lsq);
    }
  }
  throw std::logic_error("unknown weight quantizer");
}

}  // namespace apot::qat

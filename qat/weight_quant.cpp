#include "qat/weight_quant.h"

#include <algorithm>
#include <stdexcept>

#include "core/lloyd.h"
#include "qat/clip_project.h"
#include "qat/gradient.h"
#include "qat/normalization.h"
#include "qat/qem_fit.h"
#include "qat/threshold.h"

namespace apot::qat {

namespace {

std::vector<double> to_vector(const torch::Tensor& t) {
  const torch::Tensor d = t.detach().to(torch::kDouble).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// The reference's 8-bit layers, operation for operation: x / max(x) rounded half to even onto the
// uniform steps, no clamp, straight through.
torch::Tensor reference_round(const torch::Tensor& x, const LevelSet& levels) {
  const torch::Tensor max = x.detach().max();
  const double steps = static_cast<double>(levels.magnitudes().size() - 1);
  const torch::Tensor q = x.div(max).mul(steps).round().div(steps).mul(max);
  return (q - x).detach() + x;
}

}  // namespace

WeightQuantImpl::WeightQuantImpl(const QuantConfig& config, int64_t out_channels)
    : config_(config),
      pieces_(config.weight_pieces()),
      rule_(clip_grad_rule(Side::Weights, pieces_, config.reference_compat)) {
  set_levels(config.weight_levels());
  if (config.weight_scheme() == Scheme::Lloyd) {
    // Uniform until init_from fits the levels to the weights.
    lloyd_levels = register_buffer("lloyd_levels", torch::zeros({int64_t{1} << levels().magnitude_bits()}));
  }
  if (is_learned(pieces_.threshold)) {
    const bool per_channel = config.per_channel && pieces_.threshold == Threshold::Learned;
    wgt_alpha = register_parameter(
        "wgt_alpha", per_channel ? torch::full({out_channels}, config.weight_alpha_init) : torch::tensor(config.weight_alpha_init));
  }
}

void WeightQuantImpl::set_levels(const LevelSet& set) {
  levels_ = set;
  projector_ = std::make_unique<Projector>(set, midpoints(config_));
}

torch::Tensor WeightQuantImpl::normalize(const torch::Tensor& w) const { return qat::normalize(pieces_.normalization, w, config_); }

torch::Tensor WeightQuantImpl::threshold(const torch::Tensor& x) const {
  return is_learned(pieces_.threshold) ? wgt_alpha : computed_threshold(pieces_.threshold, x, levels(), config_.reference_compat);
}

torch::Tensor WeightQuantImpl::alpha_for(const torch::Tensor& w) const {
  torch::NoGradGuard no_grad;
  return threshold(normalize(w)).detach().clone();
}

void WeightQuantImpl::sync_lloyd_levels() {
  if (!lloyd_levels.defined()) return;
  std::vector<double> mags = to_vector(lloyd_levels);
  if (mags == lloyd_in_use_) return;
  if (std::all_of(mags.begin(), mags.end(), [](double v) { return v == 0; })) {
    throw std::logic_error("Lloyd levels were never fitted: call init_from(weights) first");
  }
  set_levels(LevelSet::lloyd(mags, config_.weight_bits, levels().is_signed()));
  lloyd_in_use_ = std::move(mags);
}

void WeightQuantImpl::init_from(const torch::Tensor& w) {
  torch::NoGradGuard no_grad;
  if (is_learned(pieces_.threshold)) wgt_alpha.fill_(initial_threshold(pieces_, w, levels(), config_));
  if (lloyd_levels.defined()) {
    const torch::Tensor x = normalize(w).detach().contiguous();
    const double alpha = alpha_for(w).mean().item<double>();
    const std::vector<double> mags = lloyd_max_magnitudes(x.data_ptr<float>(), static_cast<size_t>(x.numel()),
                                                          levels().magnitude_bits(), levels().is_signed(), alpha);
    lloyd_levels.copy_(torch::tensor(std::vector<float>(mags.begin(), mags.end())));
    sync_lloyd_levels();
  }
}

bool WeightQuantImpl::fit_threshold(const torch::Tensor& w) {
  if (pieces_.threshold != Threshold::Learned) return false;
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
  sync_lloyd_levels();
  const torch::Tensor x = normalize(w);
  if (config_.reference_compat && pieces_.threshold == Threshold::MaxAbs) return reference_round(x, levels());
  const torch::Tensor alpha = threshold_for_projection(Side::Weights, pieces_.gradient, threshold(x), x, levels());
  return denormalize(pieces_.normalization, clip_project(x, alpha, *projector_, rule_));
}

}  // namespace apot::qat

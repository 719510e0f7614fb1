#include "qat/act_quant.h"

#include <cmath>

#include "qat/clip_project.h"
#include "qat/grad_scale.h"
#include "qat/qem_fit.h"

namespace apot::qat {

ActQuant::ActQuant(const QuantConfig& config) : config_(config) {
  const int bits = config.act_bits;
  levels_ = LevelSet::make(config.act_scheme(), bits, std::min(config.k, bits), /*is_signed=*/false);
  projector_ = std::make_shared<const Projector>(*levels_, midpoints(config));
}

torch::Tensor ActQuant::operator()(const torch::Tensor& x, const torch::Tensor& alpha) const {
  ClipGradRule rule{/*is_signed=*/false, InputGrad::PassInRange, AlphaGrad::Rcf};
  switch (config_.act_quantizer) {
    case ActQuantizer::Rcf:
      if (config_.reference_compat) rule.input = InputGrad::PassBelowAlpha;
      return clip_project(x, alpha, *projector_, rule);
    case ActQuantizer::Pact:
      rule.alpha = AlphaGrad::Pact;
      return clip_project(x, alpha, *projector_, rule);
    case ActQuantizer::Dorefa:
      return clip_project(x, torch::tensor(1.0f), *projector_, rule);
    case ActQuantizer::Lsq: {
      const double qp = static_cast<double>(levels_->magnitudes().size() - 1);
      const double features = x.dim() > 0 && x.size(0) > 0 ? static_cast<double>(x.numel() / x.size(0)) : 1.0;
      return clip_project(x, scale_grad(alpha, qp * qp / std::sqrt(features * qp)), *projector_, rule);
    }
  }
  throw std::logic_error("unknown activation quantizer");
}

std::optional<double> ActQuant::fit_threshold(const torch::Tensor& x) const { return qem_threshold(*levels_, x); }

}  // namespace apot::qat

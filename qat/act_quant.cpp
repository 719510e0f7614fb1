#include "qat/act_quant.h"

#include "qat/clip_project.h"
#include "qat/gradient.h"
#include "qat/qem_fit.h"
#include "qat/threshold.h"

namespace apot::qat {

ActQuant::ActQuant(const QuantConfig& config)
    : config_(config),
      pieces_(config.act_pieces()),
      rule_(clip_grad_rule(Side::Activations, pieces_, config.reference_compat)),
      levels_(config.act_levels()),
      projector_(std::make_shared<const Projector>(*levels_, midpoints(config))) {}

torch::Tensor ActQuant::operator()(const torch::Tensor& x, const torch::Tensor& alpha) const {
  const torch::Tensor threshold =
      is_learned(pieces_.threshold) ? alpha : computed_threshold(pieces_.threshold, x, *levels_, config_.reference_compat);
  return clip_project(x, threshold_for_projection(Side::Activations, pieces_.gradient, threshold, x, *levels_), *projector_, rule_);
}

std::optional<double> ActQuant::fit_threshold(const torch::Tensor& x) const { return qem_threshold(*levels_, x); }

}  // namespace apot::qat

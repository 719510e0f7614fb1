#include "qat/gradient.h"

#include <cmath>
#include <stdexcept>

#include "qat/grad_scale.h"

namespace apot::qat {

namespace {

// LSQ's N: the weights of the layer, or the activations of one example.
double lsq_count(Side side, const torch::Tensor& x) {
  if (side == Side::Weights) return static_cast<double>(x.numel());
  return x.dim() > 0 && x.size(0) > 0 ? static_cast<double>(x.numel() / x.size(0)) : 1.0;
}

}  // namespace

ClipGradRule clip_grad_rule(Side side, const Pieces& pieces, bool reference_compat) {
  ClipGradRule rule;
  rule.is_signed = pieces.sign == Sign::Signed;
  rule.alpha = pieces.gradient == Gradient::Pact ? AlphaGrad::Pact : AlphaGrad::Rcf;
  if (pieces.gradient == Gradient::Lsq) {
    rule.input = InputGrad::PassInRange;
  } else if (side == Side::Weights) {
    rule.input = InputGrad::PassAll;
  } else {
    rule.input = reference_compat ? InputGrad::PassBelowAlpha : InputGrad::PassInRange;
  }
  return rule;
}

double lsq_qp(const LevelSet& levels) { return static_cast<double>(levels.magnitudes().size() - 1); }

torch::Tensor threshold_for_projection(Side side, Gradient gradient, const torch::Tensor& alpha, const torch::Tensor& x,
                                       const LevelSet& levels) {
  switch (gradient) {
    case Gradient::Rcf:
    case Gradient::Pact:
      return alpha;
    case Gradient::Ste:
      return alpha.detach();
    case Gradient::Lsq: {
      const double qp = lsq_qp(levels);
      return scale_grad(alpha, qp * qp / std::sqrt(lsq_count(side, x) * qp));
    }
  }
  throw std::logic_error("unknown gradient rule");
}

}  // namespace apot::qat

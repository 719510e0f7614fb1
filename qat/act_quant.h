// Activation quantisers: unsigned levels (activations follow a ReLU) with a clipping threshold that the
// owning layer registers as its parameter `act_alpha`, as the reference names it. One class for every
// activation quantiser: it composes the pieces of the configured one (QuantConfig::act_pieces).
#pragma once

#include <memory>
#include <optional>

#include <torch/torch.h>

#include "core/clip_project_backward.h"
#include "core/levels.h"
#include "core/project.h"
#include "qat/quant_config.h"

namespace apot::qat {

class ActQuant {
 public:
  explicit ActQuant(const QuantConfig& config);

  // Whether the layer learns a threshold (all but DoReFa, which clips to [0, 1]).
  bool has_alpha() const { return is_learned(pieces_.threshold); }
  float alpha_init() const { return config_.act_alpha_init; }

  // x quantised to alpha * levels: clipped to [0, alpha] (the reference: from above only), alpha's
  // gradient by the pieces' rule (RCF Eq. 8, PACT Eq. 11, LSQ's scaled). alpha is the layer's learned
  // threshold; unused where the threshold is computed.
  torch::Tensor operator()(const torch::Tensor& x, const torch::Tensor& alpha) const;

  const LevelSet& levels() const { return *levels_; }

  // The QEM threshold (qat/qem_fit.h) for inputs like x; nullopt when x is all <= 0.
  std::optional<double> fit_threshold(const torch::Tensor& x) const;

 private:
  QuantConfig config_;
  Pieces pieces_;
  ClipGradRule rule_;
  std::optional<LevelSet> levels_;
  std::shared_ptr<const Projector> projector_;
};

}  // namespace apot::qat

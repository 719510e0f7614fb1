// Weight quantisers as a module, registered as `weight_quant` inside a layer, as the reference names it
// (its learned threshold is `weight_quant.wgt_alpha`). One class for every weight quantiser: it composes
// the pieces of the configured one (QuantConfig::weight_pieces, qat/pieces.h).
#pragma once

#include <memory>
#include <optional>

#include <torch/torch.h>

#include "core/clip_project_backward.h"
#include "core/levels.h"
#include "core/project.h"
#include "qat/quant_config.h"

namespace apot::qat {

class WeightQuantImpl : public torch::nn::Module {
 public:
  // out_channels sizes the per-channel threshold.
  WeightQuantImpl(const QuantConfig& config, int64_t out_channels);

  // The quantised weights, differentiable (by the pieces' gradient rule: STE for the weights, Eq. 8 for
  // alpha under RCF). For quantisers whose threshold is learned, w must be the tensor the layer learns.
  torch::Tensor forward(const torch::Tensor& w);

  // Sets what depends on the weights: the learned threshold where it is not a constant (no WN: 3 std;
  // LSQ: its initialisation 2 E|w| sqrt(Qp)) and Lloyd levels. Called when a layer is created and when
  // weights arrive without their thresholds (progressive initialisation from a higher precision).
  void init_from(const torch::Tensor& w);
  // Sets a learned RCF threshold to the QEM one (qat/qem_fit.h) of w's normalised weights, per output
  // channel where alpha is: for a threshold carried over from another bit width. Returns whether it did
  // (other quantisers derive their threshold from the weights or start from their own rule).
  bool fit_threshold(const torch::Tensor& w);

  // The tensor the levels are applied to: w after its normalisation (qat/normalization.h), if any.
  torch::Tensor normalize(const torch::Tensor& w) const;
  // The threshold(s) the forward pass uses for w, detached: one value, or one per output channel.
  torch::Tensor alpha_for(const torch::Tensor& w) const;
  // The level set, alpha = 1 (Lloyd: as fitted).
  const LevelSet& levels() const { return *levels_; }
  const QuantConfig& config() const { return config_; }

  torch::Tensor wgt_alpha;      // a learned threshold (Rcf, Lsq): scalar or [out_channels]
  torch::Tensor lloyd_levels;   // Lloyd: the fitted magnitudes, a buffer so checkpoints keep them

 private:
  void set_levels(const LevelSet& set);
  void sync_lloyd_levels();
  // alpha for x, the normalised weights: the learned parameter, or computed from x.
  torch::Tensor threshold(const torch::Tensor& x) const;

  QuantConfig config_;
  Pieces pieces_;
  ClipGradRule rule_;
  std::optional<LevelSet> levels_;
  std::unique_ptr<Projector> projector_;
  std::vector<double> lloyd_in_use_;
};
TORCH_MODULE(WeightQuant);

}  // namespace apot::qat

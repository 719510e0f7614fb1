#include "qat/qem_fit.h"

#include "core/quant_error.h"

namespace apot::qat {

std::optional<double> qem_threshold(const LevelSet& set, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  torch::Tensor flat = x.detach().to(torch::kFloat).reshape({-1});
  if (flat.numel() > kQemSampleLimit) {
    // A stride, not a prefix: a prefix of NCHW data would hold only the first images' first channels.
    const int64_t stride = (flat.numel() + kQemSampleLimit - 1) / kQemSampleLimit;
    flat = flat.slice(0, 0, flat.numel(), stride);
  }
  flat = flat.contiguous();
  if (flat.numel() == 0) return std::nullopt;
  if (torch::isnan(flat).any().item<bool>()) throw std::domain_error("QEM threshold: the data holds NaN");
  const double top = (set.is_signed() ? flat.abs().max() : flat.max()).item<double>();
  if (!(top > 0)) return std::nullopt;
  return qem_alpha(set, flat.data_ptr<float>(), static_cast<size_t>(flat.numel())).alpha;
}

}  // namespace apot::qat

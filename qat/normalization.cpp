#include "qat/normalization.h"

#include <limits>
#include <stdexcept>

namespace apot::qat {

torch::Tensor normalize(Normalization n, const torch::Tensor& w, const QuantConfig& config) {
  switch (n) {
    case Normalization::None:
      return w;
    case Normalization::WeightNorm:
      if (config.reference_compat) {
        const torch::Tensor d = w.detach();
        return (w - d.mean()) / d.std(/*unbiased=*/true);
      }
      return (w - w.mean()) / (w.std(/*unbiased=*/false) + config.wn_eps);
    case Normalization::Tanh: {
      const torch::Tensor t = torch::tanh(w);
      return t / (2 * t.detach().abs().max().clamp_min(std::numeric_limits<float>::min())) + 0.5;
    }
  }
  throw std::logic_error("unknown normalization");
}

torch::Tensor denormalize(Normalization n, const torch::Tensor& q) { return n == Normalization::Tanh ? 2 * q - 1 : q; }

}  // namespace apot::qat

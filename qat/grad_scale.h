// Gradient scaling (LSQ, Esser et al. 2020, section 2.2): the value of x, the gradient times `scale`.
#pragma once

#include <torch/torch.h>

namespace apot::qat {

inline torch::Tensor scale_grad(const torch::Tensor& x, double scale) {
  const torch::Tensor scaled = x * scale;
  return (x - scaled).detach() + scaled;
}

}  // namespace apot::qat

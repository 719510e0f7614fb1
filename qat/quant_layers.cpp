#include "qat/quant_layers.h"

#include <cmath>

namespace apot::qat {

QuantConv2dImpl::QuantConv2dImpl(const ConvShape& shape, const QuantConfig& config) : shape_(shape), config_(config) {
  // He initialisation, fan-out, as the reference's ResNet and torchvision's.
  const double fan_out = static_cast<double>(shape.kernel * shape.kernel * shape.out_channels);
  weight = register_parameter("weight", torch::randn({shape.out_channels, shape.in_channels, shape.kernel, shape.kernel}) *
                                            std::sqrt(2.0 / fan_out));
  if (shape.bias) bias = register_parameter("bias", torch::zeros({shape.out_channels}));
  if (config.quantizes_acts()) {
    act_quant_.emplace(config);
    if (act_quant_->has_alpha()) act_alpha = register_parameter("act_alpha", torch::tensor(act_quant_->alpha_init()));
  }
  if (config.quantizes_weights()) {
    weight_quant = register_module("weight_quant", WeightQuant(config, shape.out_channels));
    weight_quant->init_from(weight);
  }
}

torch::Tensor QuantConv2dImpl::effective_weight() { return weight_quant ? weight_quant->forward(weight) : weight; }

torch::Tensor QuantConv2dImpl::effective_input(const torch::Tensor& x) {
  if (calibrating_ && act_alpha.defined()) {
    torch::NoGradGuard no_grad;
    if (const auto alpha = act_quant_->fit_threshold(x)) act_alpha.fill_(*alpha);
  }
  return act_quant_ ? (*act_quant_)(x, act_alpha.defined() ? act_alpha : torch::tensor(1.0f)) : x;
}

torch::Tensor QuantConv2dImpl::forward(const torch::Tensor& x) {
  return torch::conv2d(effective_input(x), effective_weight(), bias, shape_.stride, shape_.padding);
}

void QuantConv2dImpl::init_quantizers() {
  if (weight_quant) weight_quant->init_from(weight);
  if (act_alpha.defined()) {
    torch::NoGradGuard no_grad;
    act_alpha.fill_(act_quant_->alpha_init());
  }
}

QuantLinearImpl::QuantLinearImpl(int64_t in_features, int64_t out_features, const QuantConfig& config) {
  // torch.nn.Linear's default initialisation.
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
  weight = register_parameter("weight", torch::empty({out_features, in_features}).uniform_(-bound, bound));
  bias = register_parameter("bias", torch::empty({out_features}).uniform_(-bound, bound));
  if (config.quantizes_weights()) {
    weight_quant = register_module("weight_quant", WeightQuant(config, out_features));
    weight_quant->init_from(weight);
  }
}

torch::Tensor QuantLinearImpl::effective_weight() { return weight_quant ? weight_quant->forward(weight) : weight; }

torch::Tensor QuantLinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, effective_weight(), bias); }

void QuantLinearImpl::init_quantizers() {
  if (weight_quant) weight_quant->init_from(weight);
}

}  // namespace apot::qat

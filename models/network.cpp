#include "models/network.h"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/resnet.h"

namespace apot::models {

std::vector<std::pair<std::string, qat::QuantConv2d>> Network::quant_convs() {
  std::vector<std::pair<std::string, qat::QuantConv2d>> convs;
  for (const auto& item : named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    if (auto conv = std::dynamic_pointer_cast<qat::QuantConv2dImpl>(item.value())) {
      convs.emplace_back(item.key(), qat::QuantConv2d(conv));
    }
  }
  return convs;
}

void Network::init_quantizers() {
  for (const auto& item : modules(/*include_self=*/false)) {
    if (auto conv = std::dynamic_pointer_cast<qat::QuantConv2dImpl>(item)) conv->init_quantizers();
    if (auto linear = std::dynamic_pointer_cast<qat::QuantLinearImpl>(item)) linear->init_quantizers();
  }
}

std::vector<std::string> Network::fit_thresholds(const torch::Tensor& batch) {
  std::vector<std::string> fitted;
  const auto prefixed = [](const std::string& prefix, const char* name) { return prefix + "." + name; };
  std::vector<qat::QuantConv2d> calibrating;
  for (const auto& item : named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    if (auto conv = std::dynamic_pointer_cast<qat::QuantConv2dImpl>(item.value())) {
      if (conv->weight_quant && conv->weight_quant->fit_threshold(conv->weight)) {
        fitted.push_back(prefixed(item.key(), "weight_quant.wgt_alpha"));
      }
      if (conv->act_alpha.defined()) {
        calibrating.emplace_back(conv);
        fitted.push_back(prefixed(item.key(), "act_alpha"));
      }
    }
    if (auto linear = std::dynamic_pointer_cast<qat::QuantLinearImpl>(item.value())) {
      if (linear->weight_quant && linear->weight_quant->fit_threshold(linear->weight)) {
        fitted.push_back(prefixed(item.key(), "weight_quant.wgt_alpha"));
      }
    }
  }
  // Training mode: batch norm normalises with the batch's statistics, as the training that follows will
  // (the running statistics of a network trained briefly can be far off). Those running statistics are
  // put back afterwards: the calibration batch is not training data.
  std::vector<std::pair<torch::Tensor, torch::Tensor>> buffers;
  for (auto& b : this->buffers()) buffers.emplace_back(b, b.clone());
  struct Restore {
    Network& net;
    std::vector<qat::QuantConv2d>& convs;
    std::vector<std::pair<torch::Tensor, torch::Tensor>>& buffers;
    bool was_training;
    ~Restore() {
      torch::NoGradGuard no_grad;
      for (auto& conv : convs) conv->set_calibrating(false);
      for (auto& [buffer, saved] : buffers) buffer.copy_(saved);
      net.train(was_training);
    }
  } restore{*this, calibrating, buffers, is_training()};
  for (auto& conv : calibrating) conv->set_calibrating(true);
  train();
  torch::NoGradGuard no_grad;
  if (!calibrating.empty()) forward(batch);
  return fitted;
}

std::vector<std::string> known_architectures() {
  return {"resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet18", "resnet34", "resnet50"};
}

std::shared_ptr<Network> make_network(const std::string& arch, const NetworkOptions& options) {
  options.quant.validate();
  if (options.in_channels < 1 || options.num_classes < 1) {
    throw std::invalid_argument(fmt::format("network needs >= 1 input channel and class, got {} and {}",
                                            options.in_channels, options.num_classes));
  }
  for (int depth : {20, 32, 44, 56, 110}) {
    if (arch == fmt::format("resnet{}", depth)) return make_cifar_resnet(arch, depth, options);
  }
  if (arch == "resnet18") return make_imagenet_resnet(arch, {2, 2, 2, 2}, false, options);
  if (arch == "resnet34") return make_imagenet_resnet(arch, {3, 4, 6, 3}, false, options);
  if (arch == "resnet50") return make_imagenet_resnet(arch, {3, 4, 6, 3}, true, options);
  throw std::invalid_argument(fmt::format("unknown architecture '{}': expected one of {}", arch,
                                          fmt::join(known_architectures(), ", ")));
}

}  // namespace apot::models

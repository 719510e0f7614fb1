#include "models/network.h"

#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "models/adder_resnet.h"
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

namespace {

// Every architecture make_network builds, in the order the help lists them.
struct Architecture {
  const char* name;
  std::shared_ptr<Network> (*make)(const std::string& arch, const NetworkOptions& options);
};

const Architecture kArchitectures[] = {
    {"resnet20", [](const std::string& a, const NetworkOptions& o) { return make_cifar_resnet(a, 20, o); }},
    {"resnet32", [](const std::string& a, const NetworkOptions& o) { return make_cifar_resnet(a, 32, o); }},
    {"resnet44", [](const std::string& a, const NetworkOptions& o) { return make_cifar_resnet(a, 44, o); }},
    {"resnet56", [](const std::string& a, const NetworkOptions& o) { return make_cifar_resnet(a, 56, o); }},
    {"resnet110", [](const std::string& a, const NetworkOptions& o) { return make_cifar_resnet(a, 110, o); }},
    {"resnet18", [](const std::string& a, const NetworkOptions& o) { return make_imagenet_resnet(a, {2, 2, 2, 2}, false, o); }},
    {"resnet34", [](const std::string& a, const NetworkOptions& o) { return make_imagenet_resnet(a, {3, 4, 6, 3}, false, o); }},
    {"resnet50", [](const std::string& a, const NetworkOptions& o) { return make_imagenet_resnet(a, {3, 4, 6, 3}, true, o); }},
    {"adder-resnet20", [](const std::string& a, const NetworkOptions& o) { return make_adder_resnet(a, 20, o); }},
    {"adder-resnet32", [](const std::string& a, const NetworkOptions& o) { return make_adder_resnet(a, 32, o); }},
    {"adder-resnet56", [](const std::string& a, const NetworkOptions& o) { return make_adder_resnet(a, 56, o); }},
};

}  // namespace

std::vector<std::string> known_architectures() {
  std::vector<std::string> names;
  for (const Architecture& a : kArchitectures) names.emplace_back(a.name);
  return names;
}

std::shared_ptr<Network> make_network(const std::string& arch, const NetworkOptions& options) {
  options.quant.validate();
  if (options.in_channels < 1 || options.num_classes < 1) {
    throw std::invalid_argument(fmt::format("network needs >= 1 input channel and class, got {} and {}",
                                            options.in_channels, options.num_classes));
  }
  for (const Architecture& a : kArchitectures) {
    if (arch == a.name) return a.make(arch, options);
  }
  throw std::invalid_argument(fmt::format("unknown architecture '{}': expected one of {}", arch,
                                          fmt::join(known_architectures(), ", ")));
}

}  // namespace apot::models

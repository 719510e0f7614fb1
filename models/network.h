// A quantised network: the interface the trainer, the CLI and the exporter use, whatever the
// architecture. State_dict names follow the reference (CIFAR ResNets) and torchvision (ImageNet ResNets).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "qat/quant_config.h"
#include "qat/quant_layers.h"

namespace apot::models {

struct NetworkOptions {
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  qat::QuantConfig quant;
};

class Network : public torch::nn::Module {
 public:
  Network(std::string arch, NetworkOptions options) : arch_(std::move(arch)), options_(std::move(options)) {}
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;

  const std::string& arch() const { return arch_; }
  const NetworkOptions& options() const { return options_; }
  // Every quantised conv, in forward order, with its state_dict prefix.
  std::vector<std::pair<std::string, qat::QuantConv2d>> quant_convs();
  // Re-derives the quantisers' data-dependent state from the current weights (after loading weights of
  // another precision: progressive initialisation).
  void init_quantizers();
  // Sets every learned RCF threshold to its QEM value (Eq. 14 minimised, qat/qem_fit.h): weight
  // thresholds from the weights, activation thresholds from the inputs each layer sees when `batch` runs
  // through the network (batch norm on the batch's statistics, as in training; the running statistics
  // are left as they were), layer after layer, so each layer's threshold is fitted to inputs its
  // predecessors already quantise with theirs. For thresholds carried over from another bit width
  // (progressive initialisation); beyond the paper, which keeps them and trains for long enough to move
  // them. Returns the fitted thresholds' state_dict names.
  std::vector<std::string> fit_thresholds(const torch::Tensor& batch);

 private:
  std::string arch_;
  NetworkOptions options_;
};

// "resnet20", "resnet32", "resnet44", "resnet56", "resnet110" (CIFAR, the reference's layout),
// "resnet18", "resnet34", "resnet50" (torchvision's layout) and "adder-resnet20", "adder-resnet32",
// "adder-resnet56" (AdderNet's CIFAR layout, models/adder_resnet.h). Throws std::invalid_argument listing them.
std::shared_ptr<Network> make_network(const std::string& arch, const NetworkOptions& options);
std::vector<std::string> known_architectures();

}  // namespace apot::models

// Your own network from apot's quantised layers: a small VGG-style CNN with 4-bit APoT weights and
// activations, trained on Fashion-MNIST with LibTorch's SGD, then evaluated on the test set.
//
//   own_model [--steps N] [--threads N]
#include <algorithm>
#include <cstdio>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "data/batches.h"
#include "data/datasets.h"
#include "qat/quant_config.h"
#include "qat/quant_layers.h"

using apot::qat::ConvShape;
using apot::qat::QuantConfig;
using apot::qat::QuantConv2d;
using apot::qat::QuantLinear;

// conv-conv-pool-conv-conv-pool-fc on 1x28x28 images. A QuantConv2d quantises its input and its
// weights; the first conv and the last fc use 8-bit weights and a float input (paper section 4.1).
torch::nn::Sequential make_small_vgg(const QuantConfig& quant) {
  const QuantConfig edge = quant.edge_config();
  auto conv3x3 = [](int64_t in, int64_t out, const QuantConfig& config) {
    return QuantConv2d(ConvShape{in, out, /*kernel=*/3, /*stride=*/1, /*padding=*/1}, config);
  };
  return torch::nn::Sequential(
      conv3x3(1, 32, edge), torch::nn::BatchNorm2d(32), torch::nn::ReLU(),
      conv3x3(32, 32, quant), torch::nn::BatchNorm2d(32), torch::nn::ReLU(),
      torch::nn::MaxPool2d(2),  // 14x14
      conv3x3(32, 64, quant), torch::nn::BatchNorm2d(64), torch::nn::ReLU(),
      conv3x3(64, 64, quant), torch::nn::BatchNorm2d(64), torch::nn::ReLU(),
      torch::nn::MaxPool2d(2),  // 7x7
      torch::nn::Flatten(),
      QuantLinear(64 * 7 * 7, 10, edge));
}

// Images order[begin .. begin + count) of `set` as a normalised N x 1 x 28 x 28 batch and its labels.
std::pair<torch::Tensor, torch::Tensor> batch(const apot::data::ImageSet& set, const std::vector<size_t>& order,
                                              size_t begin, size_t count) {
  const auto n = static_cast<int64_t>(count);
  torch::Tensor images = torch::empty({n, set.channels, set.height, set.width});
  torch::Tensor labels = torch::empty({n}, torch::kLong);
  apot::data::fill_batch(set, order, begin, count, apot::data::default_normalization("fashion-mnist"),
                         /*augment=*/{}, /*augment_seed=*/0, images.data_ptr<float>(), labels.data_ptr<int64_t>());
  return {images, labels};
}

int main(int argc, char** argv) try {
  int steps = 300;
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 < argc && flag == "--steps") {
      steps = std::stoi(argv[++i]);
    } else if (i + 1 < argc && flag == "--threads") {
      threads = std::stoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--steps N] [--threads N]\n", argv[0]);
      return 2;
    }
  }
  torch::set_num_threads(threads);  // LibTorch may start with one thread
  torch::manual_seed(0);

  QuantConfig quant;
  quant.weight_bits = 4;  // a sign and 3 magnitude bits
  quant.act_bits = 4;
  quant.scheme = apot::Scheme::APoT;
  torch::nn::Sequential net = make_small_vgg(quant);

  // The clipping thresholds (act_alpha, weight_quant.wgt_alpha) learn more slowly than the weights,
  // as in the paper's recipe.
  std::vector<torch::Tensor> weights, thresholds;
  for (const auto& p : net->named_parameters()) {
    (p.key().find("alpha") != std::string::npos ? thresholds : weights).push_back(p.value());
  }
  torch::optim::SGD sgd(weights, torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(1e-4));
  sgd.add_param_group({thresholds, std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(0.01).momentum(0.9))});

  // Debian's dataset-fashion-mnist installs the files in /usr/share/datasets/fashion-mnist.
  const apot::data::ImageSet train = apot::data::load_dataset("fashion-mnist", /*dir=*/"", /*train=*/true);
  const apot::data::ImageSet test = apot::data::load_dataset("fashion-mnist", /*dir=*/"", /*train=*/false);
  const size_t batch_size = 64;
  const apot::data::BatchSampler sampler(train.size(), batch_size, /*shuffle=*/true, /*seed=*/0);

  net->train();
  int step = 0;
  for (int epoch = 0; step < steps; ++epoch) {
    const std::vector<size_t> order = sampler.epoch_indices(epoch);
    for (size_t begin = 0; begin < order.size() && step < steps; begin += batch_size) {
      const auto [images, labels] = batch(train, order, begin, std::min(batch_size, order.size() - begin));
      torch::Tensor loss = torch::nn::functional::cross_entropy(net->forward(images), labels);
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      if (++step % 50 == 0 || step == steps) std::printf("step %d  loss %.4f\n", step, loss.item<float>());
    }
  }

  net->eval();
  torch::NoGradGuard no_grad;
  std::vector<size_t> all(test.size());
  std::iota(all.begin(), all.end(), size_t{0});
  int64_t correct = 0;
  for (size_t begin = 0; begin < all.size(); begin += 500) {
    const auto [images, labels] = batch(test, all, begin, std::min<size_t>(500, all.size() - begin));
    correct += net->forward(images).argmax(1).eq(labels).sum().item<int64_t>();
  }
  std::printf("test accuracy %.2f%% (%zu images, 4-bit APoT, %d steps)\n",
              100.0 * static_cast<double>(correct) / static_cast<double>(all.size()), all.size(), steps);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "own_model: %s\n", e.what());
  return 1;
}

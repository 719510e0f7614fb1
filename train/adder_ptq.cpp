#include "train/adder_ptq.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "qat/adder2d.h"
#include "train/batch.h"

namespace apot::train {

namespace {

// Runs the calibration images through `net` once, in batches, with the augmentation drawn from `seed`.
void run_images(models::Network& net, const data::ImageSet& set, const std::vector<size_t>& order, const data::Normalization& norm,
                const AdderPtqOptions& o, uint64_t seed) {
  torch::NoGradGuard no_grad;
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(o.batch_size)) {
    const size_t count = std::min(order.size() - begin, static_cast<size_t>(o.batch_size));
    net.forward(make_batch(set, order, begin, count, norm, o.augment, seed).images);
  }
}

}  // namespace

qat::QuantConfig adder_ptq_config(int bits) {
  qat::QuantConfig c;
  c.weight_bits = c.act_bits = bits;
  c.scheme = Scheme::Uniform;
  c.weight_quantizer = qat::WeightQuantizer::MaxAbs;
  c.weight_norm = false;
  c.validate();
  return c;
}

AdderPtqResult quantize_adder_network(models::Network& net, const data::ImageSet& train_set, const data::Normalization& norm,
                                      const AdderPtqOptions& o, const std::function<void(const std::string&)>& log) {
  std::vector<std::pair<std::string, qat::Adder2d>> layers;
  for (const auto& item : net.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    if (auto adder = std::dynamic_pointer_cast<qat::Adder2dImpl>(item.value()); adder && adder->quantized()) {
      layers.emplace_back(item.key(), qat::Adder2d(adder));
    }
  }
  if (layers.empty()) throw std::invalid_argument(fmt::format("{} has no quantised adder layers to calibrate", net.arch()));
  if (o.calibration_images == 0 || train_set.size() == 0) throw std::invalid_argument("adder quantisation: no calibration images");
  if (o.batch_size < 1) throw std::invalid_argument(fmt::format("adder quantisation: batch size {}, expected >= 1", o.batch_size));
  if (!(o.act_percentile > 0 && o.act_percentile <= 1)) {
    throw std::invalid_argument(fmt::format("adder quantisation: percentile {}, expected in (0, 1]", o.act_percentile));
  }
  if (o.groups < 1) throw std::invalid_argument(fmt::format("adder quantisation: {} groups, expected >= 1", o.groups));

  const data::BatchSampler sampler(train_set.size(), static_cast<size_t>(o.batch_size), /*shuffle=*/true, o.seed);
  std::vector<size_t> order = sampler.epoch_indices(0);
  order.resize(std::min(order.size(), o.calibration_images));
  AdderPtqResult result;
  result.calibration_images = order.size();

  // Section b, step 2: each layer's input range from the full-precision network (eval mode), the running
  // maximum over batches of a high percentile of |x|.
  net.eval();
  for (auto& [name, layer] : layers) layer->observe_inputs(o.act_percentile);
  run_images(net, train_set, order, norm, o, data::mix_seed(o.seed, 1));
  // Steps 3-5: groups, scales, clamp constants, per layer.
  for (size_t i = 0; i < layers.size(); ++i) {
    auto& [name, layer] = layers[i];
    const float range = std::max(layer->stop_observing().value_or(kMinAdderInputRange), kMinAdderInputRange);
    const torch::Tensor w = layer->adder.detach().contiguous();
    const AdderLayerQuant q = plan_adder_quant(w.data_ptr<float>(), w.size(0), w.numel() / w.size(0), range,
                                               layer->options().bits, o.method, o.groups, data::mix_seed(o.seed, 2 + i));
    layer->set_quantization(q);
    result.layers.emplace_back(name, q);
  }
  log(fmt::format("calibrated {} adder layers on {} images", layers.size(), order.size()));
  // Step 7: batch norm's running statistics re-estimated on the quantised network (train mode, the
  // momentum the network's batch norms have).
  if (o.reestimate_batch_norm) {
    net.train();
    run_images(net, train_set, order, norm, o, data::mix_seed(o.seed, 2 + layers.size()));
    log("re-estimated batch norm statistics on the quantised network");
  }
  net.eval();
  return result;
}

}  // namespace apot::train

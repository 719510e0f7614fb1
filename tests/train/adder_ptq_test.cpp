// The adder network's post-training quantisation: input ranges calibrated on the full-precision
// network, each method's groups and scales within them, batch norm re-estimated (or kept), the same
// result for the same seed, and bad input.
#include "train/adder_ptq.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "models/state_dict.h"
#include "models/sync_batch_norm.h"
#include "qat/adder2d.h"
#include "train/batch.h"

namespace apot::train {
namespace {

data::ImageSet random_images(size_t count) {
  data::ImageSet set;
  set.channels = 1;
  set.height = set.width = 12;
  set.num_classes = 10;
  std::mt19937 rng(4);
  set.pixels.resize(count * set.image_bytes());
  for (auto& p : set.pixels) p = static_cast<uint8_t>(rng() % 256);
  for (size_t i = 0; i < count; ++i) set.labels.push_back(static_cast<uint8_t>(i % 10));
  return set;
}

const data::Normalization kNorm{{0.5f}, {0.25f}};

models::NetworkOptions options(int bits) {
  models::NetworkOptions o;
  o.in_channels = 1;
  o.quant = bits == 32 ? qat::QuantConfig{} : adder_ptq_config(bits);
  return o;
}

// A full-precision adder ResNet-20 with spread-out weights and batch norm statistics, and a copy at `bits`.
struct Pair {
  std::shared_ptr<models::Network> full, quantised;
};
Pair networks(int bits) {
  torch::manual_seed(12);
  Pair p{models::make_network("adder-resnet20", options(32)), models::make_network("adder-resnet20", options(bits))};
  {
    torch::NoGradGuard no_grad;
    for (auto& b : p.full->named_buffers()) {
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(50, 400);
    }
  }
  models::load_state_dict(*p.quantised, models::state_dict_of(*p.full), "test", models::MissingEntries::AllowQuantizerState);
  return p;
}

AdderPtqOptions small_options() {
  AdderPtqOptions o;
  o.calibration_images = 24;
  o.batch_size = 8;
  return o;
}

void quiet(const std::string&) {}

TEST(AdderPtq, CalibratesOnTheFullPrecisionNetworkAndStaysWithinTheRange) {
  Pair p = networks(4);
  const data::ImageSet images = random_images(40);
  AdderPtqOptions o = small_options();
  o.act_percentile = 1.0;  // the plain maximum, checked below
  o.reestimate_batch_norm = false;
  const AdderPtqResult r = quantize_adder_network(*p.quantised, images, kNorm, o, quiet);
  ASSERT_EQ(r.layers.size(), 20u);
  EXPECT_EQ(r.calibration_images, 24u);
  EXPECT_EQ(r.layers[0].first, "layer1.0.conv1");
  // The first adder layer's input: relu(bn1(conv1(x))) of the full-precision network, over the images
  // the sampler drew.
  const std::vector<size_t> order = data::BatchSampler(images.size(), 8, true, o.seed).epoch_indices(0);
  const Batch b = make_batch(images, order, 0, 24, kNorm, {}, 0);
  p.full->eval();
  torch::NoGradGuard no_grad;
  auto modules = p.full->named_modules();
  const torch::Tensor conv = modules["conv1"]->as<torch::nn::Conv2dImpl>()->forward(b.images);
  const torch::Tensor first = torch::relu(modules["bn1"]->as<models::SyncBatchNorm2dImpl>()->forward(conv));
  EXPECT_NEAR(r.layers[0].second.input_range, first.max().item<float>(), 1e-5 * first.max().item<float>());
  for (const auto& [name, q] : r.layers) {
    SCOPED_TRACE(name);
    EXPECT_GE(q.groups(), 1);
    EXPECT_LE(q.groups(), 4);
    for (float s : q.group_scale) EXPECT_LE(s, q.input_range);
    EXPECT_EQ(q.bits, 4);
  }
  // Batch norm kept its trained statistics.
  const auto full_state = models::state_dict_of(*p.full), quantised_state = models::state_dict_of(*p.quantised);
  for (const auto& [name, value] : full_state) {
    if (name.find("running_mean") != std::string::npos) {
      const auto it = std::find_if(quantised_state.begin(), quantised_state.end(), [&](const auto& e) { return e.first == name; });
      EXPECT_TRUE(it->second.equal(value)) << name;
    }
  }
}

TEST(AdderPtq, SharedScaleCoversEveryWeightWithOneScale) {
  Pair p = networks(6);
  AdderPtqOptions o = small_options();
  o.method = AdderPtqMethod::SharedScale;
  const AdderPtqResult r = quantize_adder_network(*p.quantised, random_images(40), kNorm, o, quiet);
  for (const auto& [name, q] : r.layers) {
    ASSERT_EQ(q.groups(), 1) << name;
    EXPECT_GE(q.group_scale[0], q.input_range) << name;
    for (float b : q.bias) EXPECT_EQ(b, 0.0f) << name;
  }
}

TEST(AdderPtq, ReestimatesBatchNormAndRepeatsForASeed) {
  const data::ImageSet images = random_images(40);
  std::vector<models::StateDict> states;
  for (int run = 0; run < 2; ++run) {
    Pair p = networks(4);
    quantize_adder_network(*p.quantised, images, kNorm, small_options(), quiet);
    states.push_back(models::state_dict_of(*p.quantised));
    if (run == 0) {
      const auto full = models::state_dict_of(*p.full);
      size_t moved = 0;
      for (size_t i = 0; i < full.size(); ++i) {
        if (full[i].first.find("running_mean") != std::string::npos) moved += !full[i].second.equal(states[0][i].second);
      }
      EXPECT_EQ(moved, 20u + 2u);  // every batch norm: after each adder layer, the first conv and the logits
    }
  }
  ASSERT_EQ(states[0].size(), states[1].size());
  for (size_t i = 0; i < states[0].size(); ++i) EXPECT_TRUE(states[0][i].second.equal(states[1][i].second)) << states[0][i].first;
}

TEST(AdderPtq, BadInputIsNamed) {
  Pair p = networks(4);
  const data::ImageSet images = random_images(8);
  try {
    quantize_adder_network(*p.full, images, kNorm, small_options(), quiet);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "adder-resnet20 has no quantised adder layers to calibrate");
  }
  AdderPtqOptions o = small_options();
  o.act_percentile = 0;
  EXPECT_THROW(quantize_adder_network(*p.quantised, images, kNorm, o, quiet), std::invalid_argument);
  o = small_options();
  o.calibration_images = 0;
  EXPECT_THROW(quantize_adder_network(*p.quantised, images, kNorm, o, quiet), std::invalid_argument);
  o = small_options();
  o.groups = 0;
  EXPECT_THROW(quantize_adder_network(*p.quantised, images, kNorm, o, quiet), std::invalid_argument);
}

}  // namespace
}  // namespace apot::train

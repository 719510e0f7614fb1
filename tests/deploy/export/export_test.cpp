// Export of trained (here: random, with batch-norm statistics from a few batches) networks: the codes
// reproduce the fake-quant weights, the integer engine agrees with the fake-quant network, and the
// reference implementation's networks keep their top-1 through real integer arithmetic.
#include "deploy/export/export.h"

#include <cmath>
#include <iostream>
#include <tuple>

#include <gtest/gtest.h>

#include "core/codec.h"
#include "data/dataset.h"
#include "deploy/analysis/agreement.h"
#include "deploy/engine/engine.h"
#include "deploy/engine/input_quant.h"
#include "deploy/export/calibrate.h"
#include "deploy/format/model_file.h"
#include "deploy/format/validate.h"
#include "models/network_layout.h"
#include "models/state_dict.h"
#include "models/torch_io.h"
#include "tests/deploy/export/torch_networks.h"

namespace apot::deploy {
namespace {

using test::network;
using test::pixel_images;

const std::string kReferenceDir = std::string(APOT_TESTDATA_DIR) + "/reference-resnet20/";

ExportOptions fashion_mnist_shape() {
  ExportOptions o;
  o.in_channels = 1;
  o.height = o.width = 28;
  o.mean = {0.2860};
  o.std = {0.3530};
  return o;
}

// Engine and fake-quant logits on the same normalised inputs.
std::pair<torch::Tensor, torch::Tensor> both_logits(models::Network& net, const IntegerModel& model, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  const torch::Tensor fake = net.forward(x);
  Engine engine(model);
  const torch::Tensor xc = x.contiguous();
  const std::vector<float> logits = engine.run(xc.data_ptr<float>(), x.size(0));
  return {fake, torch::tensor(logits).reshape(fake.sizes())};
}

TEST(Export, CodesReproduceTheFakeQuantWeights) {
  auto net = network(4);
  const IntegerModel model = export_model(*net, fashion_mnist_shape());
  const models::NetworkLayout layout = models::network_layout(*net);
  std::map<std::string, torch::Tensor> effective;
  for (auto& [name, conv] : net->quant_convs()) effective[name] = conv->effective_weight().detach();
  int convs = 0;
  for (const Op& op : model.ops) {
    const auto* conv = std::get_if<ConvOp>(&op);
    if (!conv) continue;
    ++convs;
    const LevelSet set = conv->levels.make();
    const torch::Tensor w = effective.at(conv->name).reshape({-1});
    const size_t per_channel = conv->codes.size() / static_cast<size_t>(conv->out_channels);
    for (size_t i = 0; i < conv->codes.size(); ++i) {
      const double alpha = conv->weight_alpha[conv->weight_alpha.size() == 1 ? 0 : i / per_channel];
      const double value = alpha * decode(set, conv->codes[i]).value;
      ASSERT_NEAR(value, w[static_cast<int64_t>(i)].item<double>(), 1e-6 * alpha) << conv->name << " weight " << i;
    }
  }
  EXPECT_EQ(convs, 21);  // the first conv, 2 in each of 9 blocks, 2 shortcuts
}

// The program cut after its first conv, with an identity average-pool "classifier": the engine's stream
// there is conv1 -> BN -> ReLU of the quantised input, pooled, before any activation quantiser could
// round two close values apart.
IntegerModel stem_only(const IntegerModel& full) {
  IntegerModel m = full;
  m.arch = full.arch + "-stem";  // no longer the architecture it was cut from
  m.ops.resize(1);
  const ConvOp& stem = std::get<ConvOp>(m.ops[0]);
  const LevelSet u8 = LevelSet::uniform(8, true);
  AvgPoolLinearOp pool;
  pool.input = stem.output;
  pool.in_features = pool.out_features = stem.out_channels;
  pool.levels = {Scheme::Uniform, 8, 1, true};
  pool.codes.assign(static_cast<size_t>(stem.out_channels * stem.out_channels), static_cast<WeightCode>(encode(u8, 0.0)));
  for (int c = 0; c < stem.out_channels; ++c) {
    pool.codes[static_cast<size_t>(c * stem.out_channels + c)] = static_cast<WeightCode>(encode(u8, 1.0));
    pool.scale.push_back(std::ldexp(1.0, -m.frac_bits) / (m.height * m.width) / 127.0);  // integer 127 is 1.0
    pool.bias.push_back(0);
  }
  m.num_classes = stem.out_channels;
  m.buffer_count = stem.output + 1;
  m.ops.push_back(pool);
  return m;
}

TEST(Export, TheStemMatchesTheFakeQuantNetworkToRounding) {
  auto net = network(4);
  const IntegerModel model = stem_only(export_model(*net, fashion_mnist_shape()));
  const torch::Tensor x = pixel_images(8, 5);
  torch::NoGradGuard no_grad;
  const models::NetworkLayout layout = models::network_layout(*net);
  const torch::Tensor expected = torch::relu(layout.stem.bn.ptr()->forward(layout.stem.conv.ptr()->forward(x))).mean({2, 3});
  Engine engine(model);
  const torch::Tensor got = torch::tensor(engine.run(x.data_ptr<float>(), 8)).reshape(expected.sizes());
  // Pixels land on the input codes exactly (pixel_input_grid): what is left is the streams' 2^-20 steps
  // and float32's rounding (measured 1.3e-6; 3e-5 with the finest input grid).
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5 * expected.abs().max().item<double>());
}

// Past the stem, the fake-quant network is discontinuous: a value within rounding of a level midpoint
// rounds either way, and the flip spreads. With the input on its pixel lattice and the streams'
// fraction bits calibrated (deploy/export/calibrate.h), what is left is float32's rounding against exact
// integers; these random networks are far more sensitive to it than trained ones (docs/integer-engine.md).
TEST(Export, TheEngineAgreesWithTheFakeQuantNetwork) {
  for (int bits : {2, 3, 4}) {
    auto net = network(bits);
    Agreement agreement;
    for (uint64_t seed : {11, 12, 13}) {
      const torch::Tensor x = pixel_images(64, seed);
      ExportOptions options = fashion_mnist_shape();
      options.frac_bits = frac_bits_for(stream_range(*net, x).largest, kCalibrationHeadroom);
      const auto [fake, integer] = both_logits(*net, export_model(*net, options), x);
      agreement.add(fake.data_ptr<float>(), integer.data_ptr<float>(), x.size(0), 10);
    }
    std::cout << bits << " bits: same top-1 on " << agreement.same_top1 << " of " << agreement.images
              << ", largest logit difference " << agreement.max_logit_diff << "\n";
    // Measured: 192, 192 and 189 of 192 at 2, 3 and 4 bits; 192, 191 and 172 with the finest input grid
    // and 20 fraction bits.
    EXPECT_GE(agreement.same_top1, 186) << bits << " bits";
    EXPECT_LT(agreement.max_logit_diff, 0.25 * agreement.max_abs_logit) << bits << " bits";
  }
}

// Models exported with --reference-compat keep the reference's top-1.
TEST(Export, ReferenceNetworksKeepTheirTop1InIntegers) {
  const torch::Tensor x = models::read_tensor(kReferenceDir + "input.pt");
  for (int bits : {2, 3, 4}) {
    models::NetworkOptions options;
    options.quant.weight_bits = options.quant.act_bits = bits;
    options.quant.reference_compat = true;
    auto net = models::make_network("resnet20", options);
    const std::string prefix = kReferenceDir + "res20_" + std::to_string(bits) + "bit";
    models::load_state_dict(*net, models::read_state_dict(prefix + ".pt"), prefix + ".pt");
    ExportOptions o;
    o.in_channels = 3;
    o.height = o.width = 32;
    o.input_range = x.abs().max().item<double>();
    std::vector<std::string> warnings;
    const IntegerModel model = export_model(*net, o, &warnings);
    const auto [fake, integer] = both_logits(*net, model, x);
    const torch::Tensor reference = models::read_tensor(prefix + "_logits.pt");
    EXPECT_TRUE(integer.argmax(1).equal(reference.argmax(1))) << bits << " bits\n" << integer << "\n" << reference;
    // These random-weight networks are far more sensitive than trained ones: the fake-quant network's own
    // logits move as much when its input moves by one int16 input step. Printed for the record.
    torch::NoGradGuard no_grad;
    const torch::Tensor xq = (x / model.input.scale).round() * model.input.scale;
    std::cout << bits << " bits: max |engine - reference| " << (integer - reference).abs().max().item<double>()
              << ", max |fake-quant(x) - fake-quant(x on the int16 grid)| " << (fake - net->forward(xq)).abs().max().item<double>()
              << ", max |reference| " << reference.abs().max().item<double>() << ", " << warnings.size() << " export warnings\n";
  }
}

// The reference's 8-bit layers round W / max W without a clamp: a weight below -max W is kept, on the
// narrowest wider uniform grid that reaches it, and the codes still give the fake-quant weights.
TEST(Export, ReferenceWeightsBeyondMaxWMoveToAWiderGrid) {
  models::NetworkOptions options;
  options.quant.weight_bits = options.quant.act_bits = 4;
  options.quant.reference_compat = true;
  options.in_channels = 1;
  auto net = models::make_network("resnet20", options);
  const models::NetworkLayout layout = models::network_layout(*net);
  {
    torch::NoGradGuard no_grad;
    auto& w = layout.stem.conv.ptr()->weight;
    const float max_w = w.max().item<float>();
    w.clamp_(-max_w, max_w);
    w[0][0][0][0] = -1.4f * max_w;  // 178 steps of max W / 127: 9 bits
  }
  std::vector<std::string> notes;
  const IntegerModel model = export_model(*net, fashion_mnist_shape(), &notes);
  ASSERT_FALSE(notes.empty());  // the fc's random weights may reach beyond -max W too
  EXPECT_EQ(notes[0], "conv1: 1 weights reach up to 1.4016 x max W (the reference rounds without a clamp): stored as "
                      "9-bit uniform codes on the same grid");
  const auto& stem = std::get<ConvOp>(model.ops[0]);
  EXPECT_EQ(stem.levels.bits, 9);
  const LevelSet set = stem.levels.make();
  const torch::Tensor effective = layout.stem.conv.ptr()->effective_weight().detach().reshape({-1});
  for (size_t i = 0; i < stem.codes.size(); ++i) {
    const double value = stem.weight_alpha[0] * decode(set, stem.codes[i]).value;
    ASSERT_NEAR(value, effective[static_cast<int64_t>(i)].item<double>(), 1e-6 * stem.weight_alpha[0]) << i;
  }
  EXPECT_EQ(decode(set, stem.codes[0]).integer, -178);
  // Through the file and the engine, as any other model.
  const IntegerModel loaded = deserialize(serialize(model), "the exported model");
  EXPECT_EQ(std::get<ConvOp>(loaded.ops[0]).codes, stem.codes);
}

TEST(Export, RefusesWhatHasNoIntegerForm) {
  auto fp = network(32);
  EXPECT_THROW(
      {
        try {
          export_model(*fp, fashion_mnist_shape());
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("conv1"), std::string::npos) << e.what();
          throw;
        }
      },
      std::invalid_argument);
  auto net = network(4);
  ExportOptions no_range = fashion_mnist_shape();
  no_range.mean.clear();
  EXPECT_THROW(export_model(*net, no_range), std::invalid_argument);
  ExportOptions bad_bits = fashion_mnist_shape();
  bad_bits.frac_bits = 31;
  EXPECT_THROW(export_model(*net, bad_bits), std::invalid_argument);
}

TEST(Export, InputRangeCoversNormalisedPixels) {
  EXPECT_NEAR(normalised_input_range({0.2860}, {0.3530}), (1 - 0.2860) / 0.3530, 1e-12);
  EXPECT_NEAR(normalised_input_range({0.9, 0.1}, {0.5, 0.5}), 1.8, 1e-12);
}

// The input quantiser's codes of every normalised pixel value, through the engine's own quantiser;
// returns the largest |x - code x step|.
double input_grid_error(const std::vector<double>& mean, const std::vector<double>& std, double step) {
  const int channels = static_cast<int>(mean.size());
  const CodesLayout layout = CodesLayout::make(CodeType::S16, channels, 1, 256, 0);
  std::vector<float> image(static_cast<size_t>(channels) * 256);
  for (int c = 0; c < channels; ++c) {
    for (int p = 0; p < 256; ++p) {
      image[c * 256 + p] = data::normalise_pixel(p, static_cast<float>(mean[c]), static_cast<float>(std[c]));
    }
  }
  std::vector<int16_t> codes(layout.image_elements());
  quantize_input(image.data(), 0, step, layout, codes.data());  // throws for a value beyond its limit
  double worst = 0;
  for (int c = 0; c < channels; ++c) {
    for (int p = 0; p < 256; ++p) {
      worst = std::max(worst, std::abs(image[c * 256 + p] - codes[layout.pixel(0, p) + c] * step));
    }
  }
  return worst;
}

// Fashion-MNIST's pixels land on a lattice of the input codes: within float32's rounding of their
// values, where the finest grid that covers the range misses them by up to half a step (3e-5).
TEST(Export, InputGridPutsFashionMnistPixelsOnIntegers) {
  const std::vector<double> mean = {0.2860}, std = {0.3530};
  const InputGrid grid = pixel_input_grid(mean, std);
  EXPECT_LT(grid.max_error, 2e-7);
  EXPECT_DOUBLE_EQ(input_grid_error(mean, std, grid.step), grid.max_error);
  const double lattice = 1 / (255 * grid.step * static_cast<float>(std[0]));
  EXPECT_NEAR(lattice, std::round(lattice), 1e-6) << "codes per pixel step";
  const double finest = normalised_input_range(mean, std) / 32767;
  EXPECT_GT(input_grid_error(mean, std, finest), 1e-5);
  EXPECT_DOUBLE_EQ(pixel_input_error(mean, std, finest), input_grid_error(mean, std, finest));
  EXPECT_TRUE(std::isinf(pixel_input_error(mean, std, finest / 2))) << "codes beyond int16";

  const IntegerModel model = export_model(*network(4), fashion_mnist_shape());
  EXPECT_EQ(model.input.scale, grid.step);
}

// With a std per channel no lattice serves every channel: the grid is the best candidate, never worse
// than the finest one, and every pixel value is inside the quantiser's limit.
TEST(Export, InputGridOfSeveralChannelsIsNoWorseThanTheFinest) {
  const std::vector<double> mean = {0.4914, 0.4822, 0.4465}, std = {0.2470, 0.2435, 0.2616};
  const InputGrid grid = pixel_input_grid(mean, std);
  const double finest = normalised_input_range(mean, std) / 32767;
  EXPECT_LE(grid.max_error, finest / 2 + 1e-12);
  EXPECT_DOUBLE_EQ(input_grid_error(mean, std, grid.step), grid.max_error);
  // A common std gives every channel the lattice again.
  EXPECT_LT(pixel_input_grid({0.25, 0.5}, {0.5, 0.5}).max_error, 2e-7);
}

TEST(Export, InputGridRefusesABadNormalisation) {
  for (const auto& [mean, std, expected] : std::vector<std::tuple<std::vector<double>, std::vector<double>, std::string>>{
           {{0.5}, {0.0}, "channel 0: mean 0.5, std 0"},
           {{0.5, 0.5}, {0.5, -1.0}, "channel 1: mean 0.5, std -1"},
           {{NAN}, {0.5}, "channel 0: mean nan"},
           {{0.5}, {}, "1 means and 0 stds"},
       }) {
    try {
      pixel_input_grid(mean, std);
      ADD_FAILURE() << "accepted " << expected;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace apot::deploy

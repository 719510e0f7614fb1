// Export of trained (here: random, with batch-norm statistics from a few batches) networks: the codes
// reproduce the fake-quant weights, the integer engine agrees with the fake-quant network, and the
// reference implementation's networks keep their top-1 through real integer arithmetic.
#include "deploy/export.h"

#include <cmath>
#include <iostream>

#include <gtest/gtest.h>

#include "core/codec.h"
#include "deploy/agreement.h"
#include "deploy/engine.h"
#include "deploy/validate.h"
#include "models/network_layout.h"
#include "models/state_dict.h"
#include "models/torch_io.h"

namespace apot::deploy {
namespace {

const std::string kReferenceDir = std::string(APOT_TESTDATA_DIR) + "/reference-resnet20/";

ExportOptions fashion_mnist_shape() {
  ExportOptions o;
  o.in_channels = 1;
  o.height = o.width = 28;
  o.mean = {0.2860};
  o.std = {0.3530};
  return o;
}

// A network whose batch norms have seen data, so the folded requant is not the identity.
std::shared_ptr<models::Network> network(int bits, int64_t in_channels = 1, const std::string& arch = "resnet20") {
  torch::manual_seed(3);
  models::NetworkOptions options;
  options.in_channels = in_channels;
  options.quant.weight_bits = bits;
  options.quant.act_bits = bits;
  auto net = models::make_network(arch, options);
  net->train();
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 3; ++i) net->forward(torch::randn({16, in_channels, 28, 28}));
  net->eval();
  return net;
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
  m.ops.resize(1);
  const ConvOp& stem = std::get<ConvOp>(m.ops[0]);
  const LevelSet u8 = LevelSet::uniform(8, true);
  AvgPoolLinearOp pool;
  pool.input = stem.output;
  pool.in_features = pool.out_features = stem.out_channels;
  pool.levels = {Scheme::Uniform, 8, 1, true};
  pool.codes.assign(static_cast<size_t>(stem.out_channels * stem.out_channels), static_cast<uint8_t>(encode(u8, 0.0)));
  for (int c = 0; c < stem.out_channels; ++c) {
    pool.codes[static_cast<size_t>(c * stem.out_channels + c)] = static_cast<uint8_t>(encode(u8, 1.0));
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
  torch::manual_seed(5);
  const torch::Tensor x = torch::rand({8, 1, 28, 28}).sub(0.2860).div(0.3530).contiguous();
  torch::NoGradGuard no_grad;
  const models::NetworkLayout layout = models::network_layout(*net);
  const torch::Tensor expected = torch::relu(layout.stem.bn.ptr()->forward(layout.stem.conv.ptr()->forward(x))).mean({2, 3});
  Engine engine(model);
  const torch::Tensor got = torch::tensor(engine.run(x.data_ptr<float>(), 8)).reshape(expected.sizes());
  // The int16 input quantiser (2.02 / 32767 per step) dominates what is left.
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-4 * expected.abs().max().item<double>());
}

// Past the stem, the fake-quant network is discontinuous: a value within rounding of a level midpoint
// rounds either way, and the flip spreads. The engine agrees with it about as well as the network
// agrees with itself when its input moves by one int16 input step (docs/integer-engine.md).
TEST(Export, TheEngineAgreesWithTheFakeQuantNetwork) {
  for (int bits : {2, 3, 4}) {
    auto net = network(bits);
    const IntegerModel model = export_model(*net, fashion_mnist_shape());
    torch::manual_seed(11);
    const torch::Tensor x = torch::rand({64, 1, 28, 28}).sub(0.2860).div(0.3530);
    const auto [fake, integer] = both_logits(*net, model, x);
    Agreement agreement;
    agreement.add(fake.data_ptr<float>(), integer.data_ptr<float>(), x.size(0), 10);
    EXPECT_GE(agreement.same_top1, 61) << bits << " bits";
    EXPECT_LT(agreement.max_logit_diff, 0.25 * agreement.max_abs_logit) << bits << " bits";
  }
}

// Issue 4: models exported with --reference-compat keep the reference's top-1.
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

}  // namespace
}  // namespace apot::deploy

// The op-by-op comparison of the engine with the fake-quant network: one entry per op, agreement where
// the program is exact, the first op named where a model was changed, and a refusal for a model of
// another network.
#include "deploy/export/trace.h"

#include <gtest/gtest.h>

#include <variant>

#include "deploy/export/calibrate.h"
#include "deploy/export/export.h"
#include "tests/deploy/export/torch_networks.h"

namespace apot::deploy {
namespace {

ExportOptions fashion_mnist(models::Network& net, const torch::Tensor& x) {
  ExportOptions o = export_options_for("fashion-mnist");
  o.frac_bits = frac_bits_for(stream_range(net, x).largest, kCalibrationHeadroom);
  return o;
}

TEST(Trace, OneEntryPerOpAndTheStemAgrees) {
  auto net = test::network(4);
  const torch::Tensor x = test::pixel_images(40, 21);  // more than one of the trace's batches
  const IntegerModel model = export_model(*net, fashion_mnist(*net, x));
  const std::vector<OpTrace> trace = trace_program(*net, model, x);
  ASSERT_EQ(trace.size(), model.ops.size());
  for (size_t i = 0; i < trace.size(); ++i) {
    EXPECT_EQ(trace[i].op, i);
    EXPECT_GT(trace[i].elements, 0) << i;
    EXPECT_EQ(trace[i].kind, std::holds_alternative<ActQuantOp>(model.ops[i]) ? "codes"
                             : std::holds_alternative<AvgPoolLinearOp>(model.ops[i]) ? "logits" : "stream");
  }
  EXPECT_EQ(trace[0].name, "conv1");
  EXPECT_EQ(trace[0].elements, 40 * 16 * 28 * 28);
  EXPECT_EQ(trace[0].differing, 0);
  EXPECT_LT(trace[0].max_diff, 1e-5 * trace[0].max_abs);
  EXPECT_EQ(trace.back().kind, "logits");
  EXPECT_EQ(trace.back().elements, 40 * 10);
}

TEST(Trace, NamesTheOpAModelChangeMoves) {
  auto net = test::network(4);
  const torch::Tensor x = test::pixel_images(8, 22);
  IntegerModel model = export_model(*net, fashion_mnist(*net, x));
  auto& stem = std::get<ConvOp>(model.ops[0]);
  stem.requant.bias[3] += 1 << model.frac_bits;  // channel 3 moved by 1.0
  const std::vector<OpTrace> trace = trace_program(*net, model, x);
  const OpTrace* first = first_difference(trace);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->op, 0u);
  EXPECT_GT(first->differing, 0);
  EXPECT_LE(first->differing, 8 * 28 * 28);  // channel 3 alone
  EXPECT_NEAR(first->max_diff, 1.0, 1e-3);   // where the ReLU passes both
}

TEST(Trace, RefusesTheModelOfAnotherNetwork) {
  auto net = test::network(4);
  auto deeper = test::network(4, 1, "resnet32");
  const torch::Tensor x = test::pixel_images(2, 23);
  const IntegerModel model = export_model(*net, fashion_mnist(*net, x));
  try {
    trace_program(*deeper, model, x);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("was not exported from this network"), std::string::npos) << e.what();
  }
  EXPECT_THROW(trace_program(*net, model, x.reshape({2, 28, 28, 1})), std::invalid_argument);
}

}  // namespace
}  // namespace apot::deploy

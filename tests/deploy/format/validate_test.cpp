#include "deploy/format/validate.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/integer_model_builder.h"
#include "tests/support/resnet20_model.h"
#include "tests/support/tiny_model.h"

namespace apot::deploy {
namespace {

using test::tiny_model;

// tiny_model's program: 0 conv 'conv1' -> 1, 1 act_quant -> 2, 2 conv 'layer1.0.conv1' (+ residual 1) -> 3,
// 3 max_pool -> 4, 4 act_quant -> 5, 5 conv 'layer2.0.downsample.0' -> 6, 6 avg_pool_linear 'fc'.
template <class T>
T& op(IntegerModel& model, size_t index) {
  return std::get<T>(model.ops[index]);
}

std::string validation_error(const IntegerModel& model) {
  try {
    validate(model);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(Validate, AcceptsTheTestModels) {
  EXPECT_EQ(validation_error(tiny_model()), "");
  for (int bits : {2, 3, 4, 5}) EXPECT_EQ(validation_error(test::resnet20_model(bits)), "") << bits << " bits";
}

TEST(Validate, ReturnsEachBuffersKindAndShape) {
  const std::vector<BufferShape> shapes = validate(tiny_model());
  ASSERT_EQ(shapes.size(), 7u);
  const int32_t a4 = static_cast<int32_t>(LevelSet::apot(4, 2, false).levels().back().integer);
  const int32_t a3 = static_cast<int32_t>(LevelSet::apot(3, 2, false).levels().back().integer);
  EXPECT_EQ(a4, 48);  // 2^5 + 2^4: p0 = 1 and p1 = 2^-1 at shift 5
  const int32_t stream = std::numeric_limits<int32_t>::max();
  const std::vector<BufferShape> expected = {
      {BufferKind::Codes, 1, 8, 8, 32767}, {BufferKind::Stream, 4, 8, 8, stream}, {BufferKind::Codes, 4, 8, 8, a4},
      {BufferKind::Stream, 4, 8, 8, stream}, {BufferKind::Stream, 4, 4, 4, stream}, {BufferKind::Codes, 4, 4, 4, a3},
      {BufferKind::Stream, 8, 2, 2, stream}};
  for (size_t b = 0; b < expected.size(); ++b) {
    SCOPED_TRACE(b);
    EXPECT_EQ(shapes[b].kind, expected[b].kind);
    EXPECT_EQ(shapes[b].channels, expected[b].channels);
    EXPECT_EQ(shapes[b].height, expected[b].height);
    EXPECT_EQ(shapes[b].width, expected[b].width);
    EXPECT_EQ(shapes[b].max_abs, expected[b].max_abs);
  }
}

struct BadModel {
  std::string what;
  std::function<void(IntegerModel&)> mutate;
  std::vector<std::string> message;  // each must appear in the error
};

// One field broken at a time; the error must name the op, the field, what was found and what was expected.
std::vector<BadModel> bad_models() {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  return {
      // Metadata.
      {"in_channels 0", [](IntegerModel& m) { m.in_channels = 0; }, {"model: in_channels = 0, expected 1..65536"}},
      {"height too large", [](IntegerModel& m) { m.height = 70000; }, {"height = 70000"}},
      {"width negative", [](IntegerModel& m) { m.width = -1; }, {"width = -1"}},
      {"input too large", [](IntegerModel& m) { m.in_channels = m.height = m.width = 65536; }, {"the input has", "elements"}},
      {"num_classes 0", [](IntegerModel& m) { m.num_classes = 0; }, {"num_classes = 0"}},
      {"frac_bits 31", [](IntegerModel& m) { m.frac_bits = 31; }, {"frac_bits = 31, expected 0..30"}},
      {"frac_bits negative", [](IntegerModel& m) { m.frac_bits = -1; }, {"frac_bits = -1"}},
      {"weight_bits", [](IntegerModel& m) { m.weight_bits = 99; }, {"weight_bits = 99"}},
      {"scale 0", [](IntegerModel& m) { m.input.scale = 0; }, {"input.scale = 0, expected a finite number > 0"}},
      {"scale nan", [nan](IntegerModel& m) { m.input.scale = nan; }, {"input.scale = nan"}},
      {"scale inf", [inf](IntegerModel& m) { m.input.scale = inf; }, {"input.scale = inf"}},
      {"mean size", [](IntegerModel& m) { m.input.mean = {0.1, 0.2}; }, {"input.mean has 2 entries, expected 0 or in_channels = 1"}},
      {"mean nan", [nan](IntegerModel& m) { m.input.mean = {nan}; }, {"input.mean[0] = nan"}},
      {"std 0", [](IntegerModel& m) { m.input.std = {0.0}; }, {"input.std[0] = 0, expected a finite number > 0"}},
      {"std without mean", [](IntegerModel& m) { m.input.mean.clear(); }, {"expected both or neither"}},
      {"buffer_count 0", [](IntegerModel& m) { m.buffer_count = 0; }, {"buffer_count = 0"}},
      {"buffer never written", [](IntegerModel& m) { m.buffer_count = 8; }, {"buffer 7 is never written"}},
      {"no ops", [](IntegerModel& m) { m.ops.clear(); }, {"has 0 ops and does not end in an avg_pool_linear op"}},
      {"no final layer", [](IntegerModel& m) { m.ops.pop_back(); }, {"does not end in an avg_pool_linear op"}},
      {"final layer twice", [](IntegerModel& m) { m.ops.push_back(m.ops.back()); }, {"op 6 (avg_pool_linear 'fc'): is op 6 of 8, expected the last op"}},

      // Conv.
      {"conv kernel 0", [](IntegerModel& m) { op<ConvOp>(m, 0).kernel = 0; }, {"op 0 (conv 'conv1'): kernel = 0, expected 1..65536"}},
      {"conv stride 0", [](IntegerModel& m) { op<ConvOp>(m, 0).stride = 0; }, {"op 0 (conv 'conv1'): stride = 0"}},
      {"conv padding -1", [](IntegerModel& m) { op<ConvOp>(m, 0).padding = -1; }, {"op 0 (conv 'conv1'): padding = -1"}},
      {"conv in_channels", [](IntegerModel& m) { op<ConvOp>(m, 0).in_channels = 2; }, {"op 0 (conv 'conv1'): in_channels = 2, expected 1"}},
      {"conv out_channels 0", [](IntegerModel& m) { op<ConvOp>(m, 0).out_channels = 0; }, {"out_channels = 0"}},
      {"conv codes short", [](IntegerModel& m) { op<ConvOp>(m, 0).codes.pop_back(); },
       {"op 0 (conv 'conv1'): codes has 35 entries, expected 36 (4 x 1 x 3 x 3)"}},
      {"conv negative zero code", [](IntegerModel& m) { op<ConvOp>(m, 2).codes[5] = 8; },
       {"op 2 (conv 'layer1.0.conv1'): codes[5] = 8 is not a code of 'apot, 4 bits"}},
      {"conv code too wide", [](IntegerModel& m) { op<ConvOp>(m, 2).codes[0] = 16; }, {"codes[0] = 16 is not a code"}},
      {"conv multiplier size", [](IntegerModel& m) { op<ConvOp>(m, 2).requant.multiplier.pop_back(); },
       {"op 2 (conv 'layer1.0.conv1'): requant.multiplier has 3 entries, expected 4 (out_channels = 4)"}},
      {"conv shift size", [](IntegerModel& m) { op<ConvOp>(m, 2).requant.shift.push_back(1); }, {"requant.shift has 5 entries"}},
      {"conv bias size", [](IntegerModel& m) { op<ConvOp>(m, 2).requant.bias.clear(); }, {"requant.bias has 0 entries"}},
      {"conv shift 63", [](IntegerModel& m) { op<ConvOp>(m, 2).requant.shift[2] = 63; }, {"requant.shift[2] = 63, expected 0..62"}},
      {"conv weight_alpha size", [](IntegerModel& m) { op<ConvOp>(m, 2).weight_alpha = {1, 2}; },
       {"weight_alpha has 2 entries, expected 0, 1 or out_channels = 4"}},
      {"conv weight_alpha nan", [nan](IntegerModel& m) { op<ConvOp>(m, 5).weight_alpha[3] = nan; }, {"weight_alpha[3] = nan"}},
      {"conv bits 9", [](IntegerModel& m) { op<ConvOp>(m, 2).levels.bits = 9; }, {"op 2 (conv 'layer1.0.conv1'): levels.bits = 9, expected 2..8"}},
      {"conv bits 1", [](IntegerModel& m) { op<ConvOp>(m, 2).levels.bits = 1; }, {"levels.bits = 1"}},
      {"uniform bits 17", [](IntegerModel& m) { op<ConvOp>(m, 0).levels.bits = 17; }, {"levels.bits = 17, expected 2..16"}},
      {"conv k 9", [](IntegerModel& m) { op<ConvOp>(m, 2).levels.k = 9; }, {"levels.k = 9, expected 0..8"}},
      {"conv k too large for the bits", [](IntegerModel& m) { op<ConvOp>(m, 2).levels.k = 5; }, {"levels: base bit-width k = 5 is impossible"}},
      {"conv lloyd", [](IntegerModel& m) { op<ConvOp>(m, 2).levels.scheme = Scheme::Lloyd; }, {"Lloyd levels have no integer form"}},
      {"conv unknown scheme", [](IntegerModel& m) { op<ConvOp>(m, 2).levels.scheme = static_cast<Scheme>(7); }, {"levels.scheme = 7"}},
      {"conv no integer form", [](IntegerModel& m) { op<ConvOp>(m, 2).levels = {Scheme::PoT, 8, 0, true}; }, {"has no integer form"}},
      {"conv integers beyond int16", [](IntegerModel& m) { op<ConvOp>(m, 2).levels = {Scheme::PoT, 5, 0, false}; },
       {"expected |integer| <= 32767 (int16)"}},
      {"conv input is a stream", [](IntegerModel& m) { op<ConvOp>(m, 2).input = 1; }, {"op 2 (conv 'layer1.0.conv1'): input = 1 is a stream, expected codes"}},
      {"conv input out of range", [](IntegerModel& m) { op<ConvOp>(m, 2).input = 9; }, {"input = 9, expected 0..6"}},
      {"conv input read before written", [](IntegerModel& m) { op<ConvOp>(m, 2).input = 5; }, {"input = 5 reads buffer 5 before any op writes it"}},
      {"conv output written twice", [](IntegerModel& m) { op<ConvOp>(m, 2).output = 1; }, {"output = 1 is already written (by an earlier op)"}},
      {"conv output is the input", [](IntegerModel& m) { op<ConvOp>(m, 0).output = 0; }, {"output = 0 is already written (it holds the input)"}},
      {"conv output out of range", [](IntegerModel& m) { op<ConvOp>(m, 0).output = -3; }, {"output = -3"}},
      {"conv residual shape", [](IntegerModel& m) { op<ConvOp>(m, 5).residual = 4; },
       {"op 5 (conv 'layer2.0.downsample.0'): residual = 4 is 4x4x4, expected the output's shape 8x2x2"}},
      {"conv residual codes", [](IntegerModel& m) { op<ConvOp>(m, 2).residual = 2; }, {"residual = 2 is codes, expected a stream"}},
      {"conv residual -2", [](IntegerModel& m) { op<ConvOp>(m, 2).residual = -2; }, {"residual = -2, expected -1..6"}},
      {"conv residual unwritten", [](IntegerModel& m) { op<ConvOp>(m, 2).residual = 3; }, {"residual = 3 reads buffer 3 before"}},
      {"conv output empty", [](IntegerModel& m) { op<ConvOp>(m, 5).kernel = 9; },
       {"op 5 (conv 'layer2.0.downsample.0'): kernel = 9 is larger than the padded input height = 4 + 2 x 0"}},

      // Activation quantiser.
      {"act input codes", [](IntegerModel& m) { op<ActQuantOp>(m, 4).input = 2; }, {"op 4 (act_quant): input = 2 is codes, expected a stream"}},
      {"act thresholds size", [](IntegerModel& m) { op<ActQuantOp>(m, 1).thresholds.pop_back(); },
       {"op 1 (act_quant): thresholds has 14 entries, expected 15 (one fewer than the values)"}},
      {"act thresholds not ascending", [](IntegerModel& m) { auto& t = op<ActQuantOp>(m, 1).thresholds; t[4] = t[3]; },
       {"thresholds[4]", "expected strictly ascending thresholds"}},
      {"act values[0]", [](IntegerModel& m) { op<ActQuantOp>(m, 1).values[0] = 1; }, {"values[0] = 1, expected 0"}},
      {"act values descending", [](IntegerModel& m) { op<ActQuantOp>(m, 1).values[3] = 0; }, {"values[3] = 0 after 2, expected ascending values"}},
      {"act values negative", [](IntegerModel& m) { op<ActQuantOp>(m, 1).values[2] = -5; }, {"values[2] = -5"}},
      {"act one value", [](IntegerModel& m) { auto& a = op<ActQuantOp>(m, 1); a.values = {0}; a.thresholds.clear(); },
       {"the number of values = 1, expected 2..256"}},
      {"act alpha nan", [nan](IntegerModel& m) { op<ActQuantOp>(m, 1).alpha = nan; }, {"alpha = nan"}},
      {"act levels", [](IntegerModel& m) { op<ActQuantOp>(m, 1).levels.bits = 0; }, {"op 1 (act_quant): levels.bits = 0"}},

      // Max pool.
      {"pool kernel 0", [](IntegerModel& m) { op<MaxPoolOp>(m, 3).kernel = 0; }, {"op 3 (max_pool): kernel = 0"}},
      {"pool stride 0", [](IntegerModel& m) { op<MaxPoolOp>(m, 3).stride = 0; }, {"op 3 (max_pool): stride = 0"}},
      {"pool padding = kernel", [](IntegerModel& m) { op<MaxPoolOp>(m, 3).padding = 3; }, {"op 3 (max_pool): padding = 3, expected 0..2"}},
      {"pool input codes", [](IntegerModel& m) { op<MaxPoolOp>(m, 3).input = 2; }, {"op 3 (max_pool): input = 2 is codes"}},

      // Final layer.
      {"fc in_features", [](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).in_features = 5; },
       {"op 6 (avg_pool_linear 'fc'): in_features = 5, expected 8"}},
      {"fc out_features", [](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).out_features = 4; }, {"out_features = 4, expected num_classes = 3"}},
      {"fc input codes", [](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).input = 5; }, {"input = 5 is codes"}},
      {"fc codes size", [](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).codes.push_back(0); }, {"codes has 25 entries, expected 24 (3 x 8)"}},
      {"fc code", [](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).codes[7] = 128; }, {"codes[7] = 128 is not a code of 'uniform, 8 bits"}},
      {"fc scale size", [](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).scale.pop_back(); }, {"scale has 2 entries, expected 3"}},
      {"fc bias nan", [nan](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).bias[1] = nan; }, {"bias[1] = nan, expected a finite number"}},
      {"fc scale inf", [inf](IntegerModel& m) { op<AvgPoolLinearOp>(m, 6).scale[0] = inf; }, {"scale[0] = inf"}},
  };
}

TEST(Validate, RejectsEachBadFieldWithAMessageNamingIt) {
  for (const BadModel& bad : bad_models()) {
    SCOPED_TRACE(bad.what);
    IntegerModel model = tiny_model();
    bad.mutate(model);
    const std::string error = validation_error(model);
    ASSERT_NE(error, "") << "accepted";
    for (const std::string& part : bad.message) EXPECT_NE(error.find(part), std::string::npos) << error;
  }
}

// A model of one conv and the final layer on an input of the given shape, for the range checks.
IntegerModel one_conv(int channels, int size, int out_channels, int kernel, int padding, const LevelSetSpec& levels) {
  test::ModelBuilder b(channels, size, size, 1);
  const test::Tensor x = b.conv("conv", b.input(), out_channels, kernel, 1, padding, levels, -1, true, false);
  b.avg_pool_linear("fc", x, 2, levels);
  return b.take();
}

TEST(Validate, BoundsTheInt32Accumulation) {
  // 64 x 3 x 3 products of |x| <= 32767 (the input) and |w| <= 127: 2.4e9 >= 2^31.
  const LevelSetSpec w8{Scheme::Uniform, 8, 1, true};
  IntegerModel model = one_conv(64, 4, 1, 3, 1, w8);
  auto& conv = std::get<ConvOp>(model.ops[0]);
  std::fill(conv.codes.begin(), conv.codes.end(), WeightCode{127});
  EXPECT_NE(validation_error(model).find("op 0 (conv 'conv'): the int32 accumulator can overflow: 576 terms x max|x| "
                                         "32767 x max|w| 127"),
            std::string::npos)
      << validation_error(model);
  // The bound uses the weights present: smaller ones pass.
  std::fill(conv.codes.begin(), conv.codes.end(), WeightCode{100});
  EXPECT_EQ(validation_error(model), "");
}

TEST(Validate, BoundsTheFinalInt64Accumulation) {
  // 8192 x 8192 stream values of up to 2^31 times |w| = 127, summed: over 2^63.
  const LevelSetSpec w8{Scheme::Uniform, 8, 1, true};
  IntegerModel model = one_conv(1, 8192, 1, 1, 0, w8);
  auto& fc = std::get<AvgPoolLinearOp>(model.ops[1]);
  std::fill(fc.codes.begin(), fc.codes.end(), WeightCode{127});
  EXPECT_NE(validation_error(model).find("op 1 (avg_pool_linear 'fc'): the int64 accumulator can overflow"), std::string::npos)
      << validation_error(model);
}

TEST(Validate, BoundsBufferSizes) {
  const LevelSetSpec w4{Scheme::APoT, 4, 2, true};
  // An output side over 65536.
  EXPECT_NE(validation_error(one_conv(1, 1, 1, 1, 40000, w4)).find("the output height = (1 + 2 x 40000 - 1) / 1 + 1 = 80001"),
            std::string::npos);
  // 65536 x 101 x 101 elements in one buffer.
  EXPECT_NE(validation_error(one_conv(1, 1, 65536, 1, 50, w4)).find("op 0 (conv 'conv'): output = 1 is 65536x101x101"),
            std::string::npos);
  // Five buffers of 2^28 elements.
  test::ModelBuilder b(1, 16384, 16384, 1);
  const test::Tensor x = b.conv("conv", b.input(), 1, 1, 1, 0, w4, -1, true, false);
  const test::Tensor y = b.conv("conv2", b.act_quant(x, {Scheme::APoT, 4, 2, false}, 8.0), 1, 1, 1, 0, w4, -1, true, false);
  b.avg_pool_linear("fc", b.max_pool(y, 1, 1, 0), 2, w4);
  EXPECT_NE(validation_error(b.take()).find("model: the buffers hold 1342177280 elements together"), std::string::npos);
}

// Metadata that claims another network than the program holds: bits or architecture.
TEST(Validate, MetadataMustDescribeTheBody) {
  IntegerModel model = test::resnet20_model(4);
  model.weight_bits = 2;
  EXPECT_EQ(validation_error(model), "model: weight_bits = 2, but the weights of the convolutions after the first have 4 bits");
  model = test::resnet20_model(4);
  model.act_bits = 8;
  EXPECT_EQ(validation_error(model), "model: act_bits = 8, but the activation quantisers' levels have 4 bits");
  model = test::resnet20_model(4);
  model.arch = "resnet56";
  EXPECT_EQ(validation_error(model), "model: arch = 'resnet56', which has 57 convolutions, but the program has 21");
}

}  // namespace
}  // namespace apot::deploy

// The input quantiser (deploy/engine/input_quant.h): rounding half away from zero, the limit, refused inputs
// with messages that name the element, its value and the limit, and the layout it writes.
#include "deploy/engine/input_quant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace apot::deploy {
namespace {

std::vector<int16_t> quantize(const std::vector<float>& x, double scale, const CodesLayout& layout) {
  std::vector<int16_t> codes(layout.image_elements(), -5);
  quantize_input(x.data(), 3, scale, layout, codes.data());
  return codes;
}

TEST(InputQuant, RoundsHalfAwayFromZero) {
  const CodesLayout layout = CodesLayout::make(CodeType::S16, 1, 1, 8, 0);
  const std::vector<float> x = {0.5f, -0.5f, 1.5f, -1.5f, 2.49f, -2.51f, 0.0f, -0.0f};
  const std::vector<int16_t> codes = quantize(x, 1.0, layout);
  const std::vector<int16_t> expected = {1, -1, 2, -2, 2, -3, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(codes[i * layout.stride], expected[i]) << x[i];
}

// Against std::round of the double quotient, the formula the header states: at every half-integer
// quotient, the floats next to it, and random inputs, over the whole code range and both signs.
TEST(InputQuant, EqualsStdRoundOfTheQuotient) {
  std::vector<float> x;
  for (int k = -32766; k <= 32765; k += 97) {
    const float half = static_cast<float>(k) + 0.5f;  // exact in float for |k| < 2^23
    x.insert(x.end(), {half, std::nextafter(half, -1e9f), std::nextafter(half, 1e9f), static_cast<float>(k)});
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-32766.0f, 32766.0f);
  for (int i = 0; i < 4000; ++i) x.push_back(uniform(rng));
  for (const double scale : {1.0, 1.0 / 4096, 0.37}) {
    std::vector<float> scaled(x.size());
    for (size_t i = 0; i < x.size(); ++i) scaled[i] = static_cast<float>(x[i] * scale);
    const CodesLayout layout = CodesLayout::make(CodeType::S16, 1, 1, static_cast<int>(x.size()), 0);
    const std::vector<int16_t> codes = quantize(scaled, scale, layout);
    for (size_t i = 0; i < x.size(); ++i) {
      const double q = std::clamp(std::round(double{scaled[i]} / scale), -32767.0, 32767.0);
      ASSERT_EQ(codes[i * layout.stride], static_cast<int16_t>(q)) << scaled[i] << " scale " << scale;
    }
  }
}

TEST(InputQuant, ScaleAndTheLimit) {
  const double scale = 1.0 / 4096;
  const CodesLayout layout = CodesLayout::make(CodeType::S16, 1, 1, 4, 0);
  const float limit = static_cast<float>(32767 * scale);  // 7.99976 exactly representable
  const std::vector<int16_t> codes = quantize({limit, -limit, 1.0f, -0.25f}, scale, layout);
  EXPECT_EQ(codes[0], 32767);
  EXPECT_EQ(codes[1 * layout.stride], -32767);
  EXPECT_EQ(codes[2 * layout.stride], 4096);
  EXPECT_EQ(codes[3 * layout.stride], -1024);
}

TEST(InputQuant, WritesNhwcInsideTheBorder) {
  const CodesLayout layout = CodesLayout::make(CodeType::S16, 3, 2, 2, 1);
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[i] = static_cast<float>(i);
  const std::vector<int16_t> codes = quantize(x, 1.0, layout);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 2; ++y)
      for (int xx = 0; xx < 2; ++xx) EXPECT_EQ(codes[layout.pixel(y, xx) + c], (c * 2 + y) * 2 + xx);
  EXPECT_EQ(codes[layout.pixel(-1, -1)], -5);    // the border is left alone
  EXPECT_EQ(codes[layout.pixel(0, 0) + 3], -5);  // so is the channel padding
}

void expect_refused(float value, const std::string& what) {
  const CodesLayout layout = CodesLayout::make(CodeType::S16, 2, 2, 3, 0);
  std::vector<float> x(12, 0.0f);
  x[1 * 6 + 1 * 3 + 2] = value;  // channel 1, y 1, x 2
  try {
    quantize(x, 0.5, layout);
    ADD_FAILURE() << "accepted " << value;
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("input[3][1][1][2]"), std::string::npos) << message;
    EXPECT_NE(message.find(what), std::string::npos) << message;
    EXPECT_NE(message.find("16383.5"), std::string::npos) << message;  // 32767 x 0.5
  }
}

TEST(InputQuant, RefusesWhatItWouldClip) {
  expect_refused(16384.0f, "16384 is out of range");
  expect_refused(-20000.0f, "-20000 is out of range");
  expect_refused(std::numeric_limits<float>::infinity(), "inf is out of range");
  expect_refused(std::nanf(""), "is not a number");
}

}  // namespace
}  // namespace apot::deploy

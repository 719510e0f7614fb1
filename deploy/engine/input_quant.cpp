#include "deploy/engine/input_quant.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace apot::deploy {

namespace {

// std::round(x) (half away from zero) for |x| < 2^31 without its libm call, which with the division
// took most of the quantiser's time: the truncation t is exact, and so is x - t (same sign, |t| <= |x|).
inline int64_t round_half_away(double x) {
  const auto t = static_cast<int64_t>(x);
  const double rest = x - static_cast<double>(t);
  return t + (rest >= 0.5) - (rest <= -0.5);
}

}  // namespace

void quantize_input(const float* image_nchw, int64_t image, double scale, const CodesLayout& out, int16_t* codes) {
  const double limit = kInputCodeLimit * scale;
  for (int c = 0; c < out.channels; ++c) {
    for (int y = 0; y < out.height; ++y) {
      const float* row = image_nchw + (int64_t{c} * out.height + y) * out.width;
      for (int x = 0; x < out.width; ++x) {
        const double v = row[x];
        if (!(std::abs(v) <= limit)) {
          throw std::invalid_argument(fmt::format(
              "input[{}][{}][{}][{}] = {} {}: the model's input quantiser takes |x| <= 32767 x scale = {} (scale {})",
              image, c, y, x, row[x], std::isnan(v) ? "is not a number" : "is out of range", limit, scale));
        }
        // The clamp catches v / scale a rounding above the limit.
        const int64_t q = round_half_away(v / scale);
        codes[out.pixel(y, x) + c] = static_cast<int16_t>(q > kInputCodeLimit    ? kInputCodeLimit
                                                          : q < -kInputCodeLimit ? -kInputCodeLimit
                                                                                 : q);
      }
    }
  }
}

}  // namespace apot::deploy

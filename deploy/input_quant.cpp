#include "deploy/input_quant.h"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

namespace apot::deploy {

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
        // std::round rounds half away from zero; the clamp catches v / scale a rounding above the limit.
        const double q = std::round(v / scale);
        codes[out.pixel(y, x) + c] = static_cast<int16_t>(q > kInputCodeLimit    ? kInputCodeLimit
                                                          : q < -kInputCodeLimit ? -kInputCodeLimit
                                                                                 : q);
      }
    }
  }
}

}  // namespace apot::deploy

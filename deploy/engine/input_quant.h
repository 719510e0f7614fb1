// The input quantiser (deploy/format/integer_model.h, InputQuant): the one float step at the start of the
// integer program. x is the network's input, already normalised like its training input:
//   code = round_half_away(x / scale), |code| <= 32767 (int16 codes, buffer 0).
// An input beyond 32767 x scale would be clipped, so it is refused, and so are NaN and infinities.
#pragma once

#include <cstdint>

#include "deploy/kernels/layout.h"

namespace apot::deploy {

inline constexpr int32_t kInputCodeLimit = 32767;

// One NCHW image into the codes layout `out` (int16, interior pixels only: the border stays as it is).
// Throws std::invalid_argument naming the element (input[image][c][y][x]), its value and the limit.
void quantize_input(const float* image_nchw, int64_t image, double scale, const CodesLayout& out, int16_t* codes);

}  // namespace apot::deploy

// Everything the integer engine relies on, checked once: an IntegerModel that passes runs without
// overflow of its int32 accumulators, out-of-range reads or undefined behaviour, whatever file it came from.
#pragma once

#include <cstdint>
#include <vector>

#include "deploy/format/integer_model.h"

namespace apot::deploy {

enum class BufferKind { Codes, Stream };

struct BufferShape {
  BufferKind kind = BufferKind::Codes;
  int channels = 0, height = 0, width = 0;
  int32_t max_abs = 0;  // codes: the largest |value| the buffer can hold; streams: INT32_MAX
};

// Checks the metadata, every op's fields (sizes, ranges, level sets with an integer form that fits int16,
// valid codes, ascending thresholds, requant shifts), the data flow (each buffer written once before it
// is read, with the kind and shape its reader expects), that every convolution's int32 accumulation
// cannot overflow (K * max|x| * max|w| < 2^31), and that the program ends in its one AvgPoolLinearOp.
// Returns each buffer's kind and shape for the model's input shape. Throws std::invalid_argument whose
// message names the op (index and name), the field, the value found and the value expected.
std::vector<BufferShape> validate(const IntegerModel& model);

}  // namespace apot::deploy

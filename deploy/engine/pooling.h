// The pooling ops of the integer model (deploy/format/integer_model.h) on NHWC int32 streams (deploy/kernels/layout.h):
// max pooling, and the last layer's global average pooling with its linear layer in int64 and the
// logits' dequantisation. Plain C++ with the channels innermost (the compiler vectorises them); each
// call covers a range of rows or images so that threads can split the work.
#pragma once

#include <cstdint>

#include "deploy/kernels/layout.h"

namespace apot::deploy {

// Output rows [row_begin, row_end) of the batch (row = image x out.height + y): the maximum over each
// window's taps inside the input (padding never wins).
struct MaxPoolShape {
  StreamLayout in, out;
  int kernel = 3, stride = 2, padding = 1;
  // The output from the input and the window.
  static MaxPoolShape make(const StreamLayout& in, int kernel, int stride, int padding);
};
void max_pool(const MaxPoolShape& s, const int32_t* in, int32_t* out, int64_t row_begin, int64_t row_end);

// One image: acc[o] = sum_c (sum_hw in[c, h, w]) * weights[o][c] in int64, logits[o] = float(acc[o] *
// scale[o] + bias[o]) (the 1 / (H x W) of the average folded into scale).
struct AvgPoolLinear {
  StreamLayout in;
  int out_features = 0;
  const int32_t* weights = nullptr;  // integer form, [out_features][in.channels]
  const double* scale = nullptr;
  const double* bias = nullptr;
};
void avg_pool_linear(const AvgPoolLinear& op, const int32_t* image, float* logits);

}  // namespace apot::deploy

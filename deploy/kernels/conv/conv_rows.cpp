#include "deploy/kernels/conv/conv_rows.h"

#include <vector>

namespace apot::deploy {

RowConv::RowConv(const ConvLayer& layer)
    : shape_(layer.shape),
      requant_(layer.multiplier.data(), layer.shift.data(), layer.bias.data(), layer.shape.out.channels,
               layer.shape.out.stride),
      relu_(layer.relu) {}

void RowConv::run(const ConvCall& call, int64_t begin, int64_t end, ShiftAddCounts* counts) const {
  const StreamLayout& out = shape_.out;
  const int64_t in_image_bytes = shape_.in.image_elements() * shape_.in.element_bytes();
  const size_t row_elements = static_cast<size_t>(out.width) * out.stride;
  // Kept between calls: no allocation per op once a thread has run the widest row. `scratch` is where
  // the requantised row goes when the stream itself is not kept (only fused quantisers read it).
  thread_local std::vector<int32_t> acc, scratch;
  acc.resize(row_elements);
  scratch.resize(row_elements);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t n = item / out.height;
    const int oy = static_cast<int>(item % out.height);
    accumulate(static_cast<const char*>(call.input) + n * in_image_bytes, oy, acc.data(), counts);
    const int64_t row = n * out.image_elements() + int64_t{oy} * out.width * out.stride;
    RequantRows r;
    r.acc = acc.data();
    r.acc_stride = out.stride;
    r.residual = call.residual != nullptr ? call.residual + row : nullptr;
    r.residual_stride = out.stride;
    r.out = call.output != nullptr ? call.output + row : scratch.data();
    r.out_stride = out.stride;
    r.rows = out.width;
    r.channels = out.channels;
    r.relu = relu_;
    requant_rows_scalar(requant_.view(), r);
    for (int q = 0; q < call.quantizer_count; ++q) {
      const FusedActQuant& fused = call.quantizers[q];
      act_quantize_scalar(*fused.table, fused_rows(fused, n, oy, 0, out.width, 0, out.channels, r.out, out.stride));
    }
  }
}

}  // namespace apot::deploy

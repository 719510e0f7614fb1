// The frame the plain C++ convolutions (shift-add, scalar) share: one output row of one image at a time
// into int32 accumulators, then the scalar requantisation (deploy/kernels/requant/requant.h) of that row.
#pragma once

#include <cstdint>

#include "deploy/kernels/conv/conv_kernel.h"
#include "deploy/kernels/requant/requant.h"

namespace apot::deploy {

class RowConv : public ConvKernel {
 public:
  explicit RowConv(const ConvLayer& layer);
  int64_t work_items(int64_t batch) const override { return batch * shape_.out.height; }
  void run(const ConvCall& call, int64_t begin, int64_t end, ShiftAddCounts* counts) const override;

 protected:
  // Accumulators of output row `oy` of one image (codes of the input layout, its first element at
  // `image`): out.width pixels of out.stride int32, channels 0 .. out.channels - 1 written.
  virtual void accumulate(const void* image, int oy, int32_t* acc, ShiftAddCounts* counts) const = 0;

  // Calls f(const T* image) with the input's element type.
  template <class F>
  void with_input_type(const void* image, F&& f) const {
    if (shape_.in.type == CodeType::U8) {
      f(static_cast<const uint8_t*>(image));
    } else {
      f(static_cast<const int16_t*>(image));
    }
  }

  const ConvShape shape_;

 private:
  RequantTable requant_;
  bool relu_;
};

}  // namespace apot::deploy

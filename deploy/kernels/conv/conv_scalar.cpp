// The portable convolution: multiply-accumulate on the exact integer form of the weights (core/codec:
// level * 2^shift / gamma), in plain C++. Weights are repacked once to [out][tap][input channel, padded],
// so the innermost loop runs over the contiguous channels of an input pixel.
#include <memory>
#include <vector>

#include "deploy/kernels/conv/conv_rows.h"

namespace apot::deploy {

namespace {

class ScalarConv final : public RowConv {
 public:
  explicit ScalarConv(const ConvLayer& layer) : RowConv(layer) {
    const ConvShape& s = shape_;
    const int k = s.kernel;
    packed_.assign(static_cast<size_t>(s.out.channels) * s.taps() * s.in.stride, 0);
    for (int co = 0; co < s.out.channels; ++co) {
      for (int ci = 0; ci < s.in.channels; ++ci) {
        for (int tap = 0; tap < s.taps(); ++tap) {
          packed_[(static_cast<size_t>(co) * s.taps() + tap) * s.in.stride + ci] =
              layer.weights[(static_cast<size_t>(co) * s.in.channels + ci) * k * k + tap];
        }
      }
    }
    for (int kh = 0; kh < k; ++kh) {
      for (int kw = 0; kw < k; ++kw) tap_offset_.push_back(s.in.pixel(kh, kw) - s.in.pixel(0, 0));
    }
  }
  Kernel family() const override { return Kernel::Scalar; }

 protected:
  void accumulate(const void* image, int oy, int32_t* acc, ShiftAddCounts*) const override {
    with_input_type(image, [&](const auto* in) { accumulate_typed(in, oy, acc); });
  }

 private:
  template <class T>
  void accumulate_typed(const T* image, int oy, int32_t* acc) const {
    const ConvShape& s = shape_;
    for (int ox = 0; ox < s.out.width; ++ox) {
      const T* window = image + s.in.pixel(oy * s.stride - s.padding, ox * s.stride - s.padding);
      const int32_t* w = packed_.data();
      for (int co = 0; co < s.out.channels; ++co) {
        int32_t sum = 0;
        for (const int64_t offset : tap_offset_) {
          const T* x = window + offset;
          for (int c = 0; c < s.in.stride; ++c) sum += int32_t{x[c]} * w[c];
          w += s.in.stride;
        }
        acc[static_cast<size_t>(ox) * s.out.stride + co] = sum;
      }
    }
  }

  std::vector<int32_t> packed_;
  std::vector<int64_t> tap_offset_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_conv_scalar(const ConvLayer& layer) { return std::make_unique<ScalarConv>(layer); }

}  // namespace apot::deploy

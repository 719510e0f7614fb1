// The reference convolution: the shift-and-add datapath of the paper's Fig. 3. A weight is not
// multiplied; for each of its nonzero additive power-of-two terms the (signed) activation is shifted
// left and added to the accumulator, so a weight with n terms costs n shifts and n adds and a zero term
// costs nothing (section 2.2: fewer terms, faster multiplication). The counts are what this code
// performs, every output position and tap included (padding taps shift-add the stored zeros, as the
// hardware streams them).
#include <memory>
#include <stdexcept>
#include <vector>

#include "deploy/kernels/conv/conv_rows.h"

namespace apot::deploy {

namespace {

// x << s on the two's complement bits: well defined for negative x too.
inline int32_t shift_left(int32_t x, int s) { return static_cast<int32_t>(static_cast<uint32_t>(x) << s); }

class ShiftAddConv final : public RowConv {
 public:
  explicit ShiftAddConv(const ConvLayer& layer) : RowConv(layer), terms_(layer.terms) {}
  Kernel family() const override { return Kernel::ShiftAdd; }

 protected:
  void accumulate(const void* image, int oy, int32_t* acc, ShiftAddCounts* counts) const override {
    with_input_type(image, [&](const auto* in) { accumulate_typed(in, oy, acc, counts); });
  }

 private:
  template <class T>
  void accumulate_typed(const T* image, int oy, int32_t* acc, ShiftAddCounts* counts) const {
    const ConvShape& s = shape_;
    ShiftAddCounts performed;
    for (int ox = 0; ox < s.out.width; ++ox) {
      for (int co = 0; co < s.out.channels; ++co) {
        const ShiftAddWeight* w = terms_.data() + static_cast<size_t>(co) * s.in.channels * s.taps();
        int32_t sum = 0;
        for (int ci = 0; ci < s.in.channels; ++ci) {
          for (int kh = 0; kh < s.kernel; ++kh) {
            for (int kw = 0; kw < s.kernel; ++kw, ++w) {
              const int32_t x = image[s.in.pixel(oy * s.stride - s.padding + kh, ox * s.stride - s.padding + kw) + ci];
              // The sign bit of the weight negates the multiplicand once; each term is one shift, one add.
              const int32_t signed_x = w->sign < 0 ? -x : x;
              for (int t = 0; t < w->terms; ++t) {
                sum += shift_left(signed_x, w->shifts[t]);
                ++performed.shifts;
                ++performed.adds;
              }
            }
          }
        }
        acc[static_cast<size_t>(ox) * s.out.stride + co] = sum;
      }
    }
    if (counts != nullptr) *counts += performed;
  }

  std::vector<ShiftAddWeight> terms_;
};

}  // namespace

std::unique_ptr<ConvKernel> make_conv_shift_add(const ConvLayer& layer) {
  if (layer.terms.size() != layer.weights.size()) {
    throw std::invalid_argument(
        "the shift-add kernel needs the weights' terms: build the layer with ConvLayer::from_codes");
  }
  return std::make_unique<ShiftAddConv>(layer);
}

}  // namespace apot::deploy

// AdderNet's layer (Chen et al., CVPR 2020, Eq. 2): the negative l1 distance between every patch of the
// input and every filter, Y(n, t, p) = -sum_k |X(n, k, p) - W(t, k)|, where k runs over the filter's
// in_channels x kernel x kernel taps (channel-major, as a convolution's weight [t][c][i][j]) and p over the
// output positions; padded taps read 0, so they add |W|. Its training gradients are AdderNet's, not the
// exact ones: the weights get the full-precision X - W (Eq. 5), the input the HardTanh-clipped W - X
// (Eq. 6), and a layer's weight gradient is rescaled by eta sqrt(k) / ||grad||_2 (Eq. 12-13).
//
// Tensors are float, NCHW (x: batch x in_channels x height x width, y and g: batch x out_channels x
// out_height x out_width), weights [out_channels][in_channels][kernel][kernel]. The functions work on a
// range of images so that callers can split the work between threads; every instruction set gives the same
// bits, and so does every split but for the weight gradient, which follows the ranges it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/cpu_features.h"

namespace apot {

struct AdderShape {
  int64_t batch = 1, in_channels = 1, height = 1, width = 1;
  int64_t out_channels = 1, kernel = 1, stride = 1, padding = 0;

  int64_t out_height() const { return (height + 2 * padding - kernel) / stride + 1; }
  int64_t out_width() const { return (width + 2 * padding - kernel) / stride + 1; }
  int64_t taps() const { return in_channels * kernel * kernel; }        // k's range
  int64_t positions() const { return out_height() * out_width(); }      // p's range
  // Throws std::invalid_argument naming the field for non-positive sizes, a negative padding or a kernel
  // larger than the padded input.
  void check() const;
};

// y for images [begin, end).
void adder_forward(const AdderShape& s, const float* x, const float* w, float* y, int64_t begin, int64_t end,
                   Isa isa = best_isa());

// A range of images' share of the weight gradient (Eq. 5): sum X g per weight (as [k][t]) and sum g per
// output channel.
struct AdderWeightPartial {
  std::vector<float> sums, g_sums;
};

// The backward pass for images [begin, end) (not empty), each image's patches made once for both
// gradients: Eq. 6, grad_x = the patches' sum_t HardTanh(W(t, k) - X(n, k, p)) g(n, t, p), added back to
// the input positions they came from (padding dropped), for those images (overwritten; skipped if null);
// and their share of Eq. 5 in `partial` (overwritten; skipped if null). Split a batch into ranges that do
// not depend on the thread count, so that the weight gradient does not either.
void adder_backward(const AdderShape& s, const float* x, const float* w, const float* g, float* grad_x,
                    AdderWeightPartial* partial, int64_t begin, int64_t end, Isa isa = best_isa());

// Eq. 5: grad_w(t, k) = sum over images and positions of (X(n, k, p) - W(t, k)) g(n, t, p), from the
// partials of consecutive image ranges covering the batch, added in their order: sum X g - W sum g.
void adder_weight_grad(const AdderShape& s, const float* w, const AdderWeightPartial* partials, size_t count,
                       float* grad_w);

// Eq. 12-13, as the official code applies it inside the backward pass: grad_w scaled by
// eta sqrt(n) / max(||grad_w||_2, 1e-12), one norm for the whole layer (n elements).
void adder_scale_weight_grad(float* grad_w, size_t n, double eta);

}  // namespace apot

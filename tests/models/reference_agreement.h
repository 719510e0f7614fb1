// How our logits are held to the reference implementation's (../shared/testdata/reference-resnet20).
// The reference's random-weight networks put some activations within float32 rounding of a level
// midpoint, so which way they round depends on the order in which a machine's convolution kernels add
// (LibTorch's AVX-512 and AVX2 kernels differ): on AVX2-only CPUs one of the four images of the 4-bit
// network flips one such activation (its logits move by 0.65). Every image's top-1 must match, and every
// image but at most one must match to 1e-4.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <iostream>
#include <string>

namespace apot::test {

inline void expect_reference_logits(const torch::Tensor& logits, const torch::Tensor& expected, const std::string& what) {
  ASSERT_EQ(logits.sizes(), expected.sizes()) << what;
  EXPECT_TRUE(logits.argmax(1).equal(expected.argmax(1))) << what << "\n" << logits << "\n" << expected;
  const torch::Tensor per_image = (logits - expected).abs().amax(1);
  const int64_t far = (per_image >= 1e-4).sum().item<int64_t>();
  EXPECT_LE(far, 1) << what << ": images off by >= 1e-4: " << per_image;
  if (far > 0) std::cout << what << ": one image off by " << per_image.max().item<double>() << " (float32 rounding)\n";
}

}  // namespace apot::test

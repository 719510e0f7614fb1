// The integer inference engine: runs an IntegerModel (deploy/format/integer_model.h) on float images
// and returns the logits. Between the input quantiser and the logits' dequantisation all arithmetic is
// integer: convolutions multiply level codes' exact integer forms (or shift-add their APoT terms, the
// paper's Fig. 3, with the reference kernel) into int32, requantise with per-channel fixed point, and
// activation quantisers count thresholds (RCF's projection, Eq. 7).
//
// Buffers are NHWC (deploy/kernels/layout.h). An activation quantiser runs in the epilogue of the convolution
// that writes its input stream, and a stream that only quantisers read is never stored; without a
// residual the quantiser's thresholds are moved onto the convolution's accumulators (deploy/
// acc_quantize.h), so its codes come from a compare per threshold. With the SIMD kernels a residual
// block's 1x1 shortcut convolution runs inside the convolution that adds its stream, span by span of
// outputs, so that stream is never stored. Every kernel family gives the same
// logits, bit for bit, and so does every thread count: work is split into items that each write their
// own outputs with the same arithmetic.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "deploy/format/integer_model.h"
#include "deploy/kernels/conv/conv_kernel.h"
#include "deploy/kernels/kernel.h"

namespace apot::deploy {

struct EngineOptions {
  Kernel kernel = Kernel::Auto;
  int threads = 0;  // 0: all cores
  // Activation quantisers that read a convolution's output run in that convolution's epilogue, and the
  // stream is stored only when another op reads it; a shortcut convolution whose stream only the
  // convolution adding it reads is computed by that one, span by span, never stored (SIMD kernels).
  // Same bits either way; false for comparisons.
  bool fuse = true;
};

class Engine {
 public:
  // Validates the model (deploy/format/validate.h; std::invalid_argument naming the op and field), resolves the
  // kernel (std::runtime_error when this CPU lacks it), decodes the weights and repacks them for it.
  explicit Engine(const IntegerModel& model, EngineOptions options = {});
  ~Engine();
  Engine(Engine&&) noexcept;
  Engine& operator=(Engine&&) noexcept;

  // batch x in_channels x height x width floats (NCHW, normalised like the training input) to batch x
  // num_classes logits, row-major. Throws std::invalid_argument for batch < 1, a null input, or an input
  // value the quantiser refuses (NaN, infinite, beyond 32767 x scale), naming the element, its value and
  // the limit. Buffers are kept for the next call (they grow to the largest batch seen).
  std::vector<float> run(const float* input_nchw, int64_t batch);

  Kernel kernel() const;  // resolved: never Auto
  std::string_view kernel_name() const;
  int threads() const;
  int num_classes() const;

  // What the shift-add kernel performed in the last run (zeros with other kernels): in total and per op
  // of the model (zeros for ops other than convolutions).
  ShiftAddCounts counts() const;
  const std::vector<ShiftAddCounts>& op_counts() const;
  // Buffer `buffer` of the last run as integers (codes, or streams in units of 2^-frac_bits), NCHW, batch x
  // channels x height x width. With fuse = false every buffer is kept; with fusion a stream that only
  // fused ops read is not (std::logic_error). std::out_of_range for a buffer the model lacks,
  // std::logic_error before the first run.
  std::vector<int32_t> buffer_values(int buffer) const;
  // Wall-clock seconds of each op of the model in the last run (the input quantiser is not an op; an
  // activation quantiser or a shortcut fused into a convolution counts in that convolution's time and
  // shows 0).
  const std::vector<double>& op_seconds() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace apot::deploy

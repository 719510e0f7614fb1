// One convolution of the integer model (deploy/format/integer_model.h, ConvOp) prepared for one kernel family:
// int32 accumulation of codes x weight integers, then requantisation, residual and ReLU (deploy/kernels/requant/requant.h),
// over the engine's layouts (deploy/kernels/layout.h: NHWC codes with a zero border in, NHWC int32 stream out).
//
// Families (deploy/kernels/kernel.h):
// - shift-add (conv_shift_add.cpp): the reference. It multiplies literally as the accelerator of the
//   paper's Fig. 3 does, by shifting the activation once per nonzero additive (power-of-two) term of the
//   weight and adding, and counts the shifts and adds it performs.
// - scalar (conv_scalar.cpp): multiply-accumulate on the exact integer form (core/codec) in plain C++.
// - avx2, avx512-vnni (conv_blocked.cpp): an implicit GEMM over the padded NHWC codes with weights
//   repacked once into register blocks (vpmaddwd; vpdpbusd for uint8 codes, vpdpwssd for int16 ones).
// Every family gives the same bits for any split of the work between threads
// (tests/deploy/conv_*_test.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/levels.h"
#include "deploy/kernels/acc_quantize/acc_quantize.h"
#include "deploy/kernels/act_quantize/act_quantize.h"
#include "deploy/kernels/kernel.h"
#include "deploy/kernels/layout.h"
#include "deploy/kernels/requant/requant.h"

namespace apot::deploy {

struct ConvShape {
  CodesLayout in;
  StreamLayout out;
  int kernel = 1, stride = 1, padding = 0;

  // The output follows from the input and the window; padding must not exceed the input's stored border
  // (std::invalid_argument otherwise).
  static ConvShape make(const CodesLayout& in, int out_channels, int kernel, int stride, int padding);
  int taps() const { return kernel * kernel; }
};

// A weight as Fig. 3's datapath sees it: a sign, and the left shift of the activation for each nonzero
// additive term, so that |integer| = sum of 2^shift (integer = level * 2^s / gamma, core/codec; a term
// 2^-e of the level is the shift s - e). Zero terms are absent: they cost nothing.
struct ShiftAddWeight {
  // A uniform level has one term per magnitude bit (k = 1), the most of any set.
  static constexpr int kMaxTerms = LevelSet::kMaxUniformBits - 1;
  int8_t sign = 0;                     // -1 or +1; 0 for the weight 0
  uint8_t terms = 0;
  uint8_t shifts[kMaxTerms] = {};
};
// Throws std::invalid_argument if the terms do not add up to the level's integer form.
ShiftAddWeight shift_add_weight(const LevelSet& set, const Level& level);

// A convolution in the form the kernels prepare from: no model types, exact integers.
struct ConvLayer {
  ConvShape shape;
  std::vector<int32_t> weights;       // integer form, [out][in][kernel][kernel]
  std::vector<ShiftAddWeight> terms;  // the same weights as Fig. 3's terms (read by the shift-add kernel)
  std::vector<int32_t> multiplier;    // requant, per output channel (deploy/kernels/requant/requant.h)
  std::vector<uint8_t> shift;
  std::vector<int32_t> bias;
  bool relu = false;
  // The largest input code the layer can read; 0: any value of the code type. The AVX2 kernel on uint8
  // codes needs it (avx2_u8_exact).
  int32_t max_input = 0;

  // Decodes the level codes of `set` (the ConvOp layout) into both forms.
  static ConvLayer from_codes(const ConvShape& shape, const LevelSet& set, const uint16_t* codes,
                              const int32_t* multiplier, const uint8_t* shift, const int32_t* bias, bool relu);
};

struct ShiftAddCounts {
  int64_t shifts = 0, adds = 0;
  ShiftAddCounts& operator+=(const ShiftAddCounts& o) {
    shifts += o.shifts;
    adds += o.adds;
    return *this;
  }
  bool operator==(const ShiftAddCounts& o) const { return shifts == o.shifts && adds == o.adds; }
};

// An activation quantiser fused into the convolution that produces its stream (deploy/kernels/act_quantize/act_quantize.h):
// the kernel writes its codes from each block of outputs while the block is in L1, instead of a pass of
// its own over the stored stream.
struct FusedActQuant {
  const ActQuantTable* table = nullptr;
  CodesLayout layout;     // of the codes: the conv's output channels and size, any border and type
  void* codes = nullptr;  // first image
  // The same quantiser moved onto the accumulators (deploy/kernels/acc_quantize/acc_quantize.h), for kernels that use it
  // when the call has no residual and keeps no stream; may be null.
  const AccQuantTable* acc = nullptr;
};

// The rows of fused codes for `pixels` output pixels of one image in raster order from (y, x), over
// the ends of its rows, channels [channel, channel + channels), from the stream values at `stream`
// (pixel stride stream_stride).
ActQuantRows fused_rows(const FusedActQuant& q, int64_t image, int y, int x, int64_t pixels, int channel, int channels,
                        const int32_t* stream, int64_t stream_stride);

class ConvKernel;

// The buffers of one call: `batch` images each, in the shape's layouts (the residual, when not null,
// in the output's). The output may be null when only fused quantisers read the stream. Instead of a
// stored residual, a kernel may compute it (residual_conv, one that computes_residual admits, on its
// input residual_input) block by block of outputs, never storing it.
struct ConvCall {
  const void* input = nullptr;
  const int32_t* residual = nullptr;
  const ConvKernel* residual_conv = nullptr;
  const void* residual_input = nullptr;
  int32_t* output = nullptr;
  const FusedActQuant* quantizers = nullptr;
  int quantizer_count = 0;
  int64_t batch = 0;
};

class ConvKernel {
 public:
  virtual ~ConvKernel() = default;
  virtual Kernel family() const = 0;
  // The work of a call in independent items: run() computes items [begin, end) and writes only the
  // outputs they own, so threads may split the range anywhere.
  virtual int64_t work_items(int64_t batch) const = 0;
  // counts: where the shift-add kernel adds what it performed (others leave it alone); may be null.
  virtual void run(const ConvCall& call, int64_t begin, int64_t end, ShiftAddCounts* counts) const = 0;
  // Whether run() can take `shortcut` as its call's residual_conv: a convolution with this one's output
  // shape whose own output (without a residual) is this one's residual.
  virtual bool computes_residual(const ConvKernel& /*shortcut*/) const { return false; }
};

// Per output channel, the accumulators the layer can produce: uint8 codes (0 .. max_input) times the sums
// of the channel's negative and of its positive weights; int16 codes (|code| <= max_input, or any value
// of the type) times plus and minus the sum of its |weights|.
std::vector<AccRange> acc_ranges(const ConvLayer& layer);

// vpmaddubsw adds two u8 x s8 products in int16 with saturation: exact when 2 x max_input x max |weight|
// fits int16, as it does for the 2- to 5-bit layers (4-bit APoT: codes up to 48, weights up to 10; 5-bit:
// 100 and 48).
bool avx2_u8_exact(int32_t max_input, int32_t max_abs_weight);
// How many such pair sums (groups of four input channels) the AVX2 kernel may add in an int16 lane before
// it widens them to int32: the most k for which, in every output channel and int16 lane, the k largest
// pair sums the layer's weights and largest input code can give add up to at most 32767, so that any k
// of them do; kMaxInt16Sums where all of them fit (the kernel then widens once, at the end); 0 where
// not even one does. With 4-bit APoT codes (up to 48) and weights (up to 10) it is at least 34.
inline constexpr int kMaxInt16Sums = 1 << 20;
int avx2_u8_int16_sums(const ConvLayer& layer);

// Prepares (repacks) the layer for a resolved family. std::invalid_argument when the family cannot run
// it: uint8 codes need weights within int8, and avx2 on uint8 codes a layer that avx2_u8_exact admits.
std::unique_ptr<ConvKernel> make_conv_kernel(Kernel family, const ConvLayer& layer);

// The families, behind make_conv_kernel.
std::unique_ptr<ConvKernel> make_conv_shift_add(const ConvLayer& layer);
std::unique_ptr<ConvKernel> make_conv_scalar(const ConvLayer& layer);
std::unique_ptr<ConvKernel> make_conv_blocked(Kernel family, const ConvLayer& layer);

}  // namespace apot::deploy

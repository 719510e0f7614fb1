// Convolution test cases shared by the kernel tests: random layers over the engine's layouts, an
// independent NCHW reference in int64 / __int128, and the list of shapes that probe tile edges (output
// pixels and channels equal to, a multiple of, smaller and larger than the tiles; kernels 1, 3, 7;
// stride 2; padding; a border wider than the padding; input channels not a multiple of the group).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/codec.h"
#include "deploy/format/integer_model.h"
#include "deploy/kernels/act_quantize/act_quantize.h"
#include "deploy/kernels/conv/conv_kernel.h"

namespace apot::deploy::test {

struct ConvCase {
  int in_channels = 4, height = 8, width = 8, out_channels = 16;
  int kernel = 3, stride = 1, padding = 1;
  int extra_border = 0;  // stored border beyond the padding
  CodeType type = CodeType::U8;
  LevelSetSpec weights{Scheme::APoT, 4, 2, true};
  bool residual = false, relu = false;
  int batch = 2;
};

inline std::string describe(const ConvCase& c) {
  return std::to_string(c.in_channels) + "x" + std::to_string(c.height) + "x" + std::to_string(c.width) + " -> " +
         std::to_string(c.out_channels) + " k" + std::to_string(c.kernel) + " s" + std::to_string(c.stride) + " p" +
         std::to_string(c.padding) + (c.type == CodeType::U8 ? " u8" : " s16") + " w" + std::to_string(c.weights.bits) +
         (c.residual ? " +res" : "") + (c.relu ? " relu" : "") + " batch " + std::to_string(c.batch);
}

// A layer with random weights of the case's level set, random codes in the input layout (zero border
// and channel padding), random requantisation including saturating channels, and a random residual.
struct ConvFixture {
  ConvCase c;
  ConvShape shape;
  ConvLayer layer;
  std::vector<uint8_t> input8;   // CodeType::U8
  std::vector<int16_t> input16;  // CodeType::S16
  std::vector<int32_t> residual;
  int32_t max_code = 0;

  const void* input() const {
    return c.type == CodeType::U8 ? static_cast<const void*>(input8.data()) : static_cast<const void*>(input16.data());
  }
  int32_t code(int64_t n, int ch, int y, int x) const {
    const int64_t i = n * shape.in.image_elements() + shape.in.pixel(y, x) + ch;
    return c.type == CodeType::U8 ? int32_t{input8[i]} : int32_t{input16[i]};
  }
  int64_t output_size() const { return c.batch * shape.out.image_elements(); }
};

// max_code: the largest |code|; 0 picks the largest the accumulation bound allows (up to 255 / 32767).
inline ConvFixture make_fixture(const ConvCase& c, uint32_t seed, int32_t max_code = 0) {
  std::mt19937 rng(seed);
  ConvFixture f;
  f.c = c;
  const CodesLayout in = CodesLayout::make(c.type, c.in_channels, c.height, c.width, c.padding + c.extra_border);
  f.shape = ConvShape::make(in, c.out_channels, c.kernel, c.stride, c.padding);

  const LevelSet set = c.weights.make();
  std::vector<uint16_t> codes(static_cast<size_t>(c.out_channels) * c.in_channels * c.kernel * c.kernel);
  for (uint16_t& code : codes) code = static_cast<uint16_t>(set.levels()[rng() % set.levels().size()].code);
  const int64_t max_w = set.levels().back().integer;
  const int64_t terms = int64_t{c.in_channels} * c.kernel * c.kernel;
  const int64_t bound = ((int64_t{1} << 31) - 1) / (terms * max_w);
  f.max_code =
      max_code > 0 ? max_code : static_cast<int32_t>(std::min<int64_t>(c.type == CodeType::U8 ? 255 : 32767, bound));

  std::vector<int32_t> multiplier, bias;
  std::vector<uint8_t> shift;
  for (int o = 0; o < c.out_channels; ++o) {
    switch (o % 5) {
      case 0:  // saturates: a huge multiplier, no shift
        multiplier.push_back(o % 2 ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int32_t>::max());
        shift.push_back(0);
        break;
      case 1:  // the largest shift
        multiplier.push_back(static_cast<int32_t>(rng()));
        shift.push_back(62);
        break;
      default:  // typical: about 20 significant bits left
        multiplier.push_back(static_cast<int32_t>(rng() % (1u << 30)) * (rng() % 4 == 0 ? -1 : 1));
        shift.push_back(static_cast<uint8_t>(20 + rng() % 20));
    }
    bias.push_back(static_cast<int32_t>(rng()) >> (rng() % 32));
  }
  f.layer = ConvLayer::from_codes(f.shape, set, codes.data(), multiplier.data(), shift.data(), bias.data(), c.relu);
  f.layer.max_input = f.max_code;

  const int64_t in_size = c.batch * in.image_elements();
  if (c.type == CodeType::U8) {
    f.input8.assign(in_size, 0);
  } else {
    f.input16.assign(in_size, 0);
  }
  for (int64_t n = 0; n < c.batch; ++n) {
    for (int y = 0; y < c.height; ++y) {
      for (int x = 0; x < c.width; ++x) {
        for (int ch = 0; ch < c.in_channels; ++ch) {
          const int64_t i = n * in.image_elements() + in.pixel(y, x) + ch;
          // A quarter of the codes at the extremes, the rest anywhere in range.
          const uint32_t r = rng();
          const int32_t lo = c.type == CodeType::U8 ? 0 : -f.max_code;
          const int32_t v = r % 8 == 0   ? f.max_code
                            : r % 8 == 1 ? lo
                                         : lo + static_cast<int32_t>(rng() % (f.max_code - lo + 1));
          if (c.type == CodeType::U8) {
            f.input8[i] = static_cast<uint8_t>(v);
          } else {
            f.input16[i] = static_cast<int16_t>(v);
          }
        }
      }
    }
  }
  if (c.residual) {
    f.residual.assign(f.output_size(), 0);
    for (int64_t p = 0; p < c.batch * f.shape.out.pixels(); ++p) {
      for (int ch = 0; ch < c.out_channels; ++ch) {
        f.residual[p * f.shape.out.stride + ch] = static_cast<int32_t>(rng()) >> (rng() % 32);
      }
    }
  }
  return f;
}

// The outputs the kernel writes, its work split into `splits` ranges at uneven points. With a shortcut
// (ConvCall::residual_conv) on its input, the kernel computes its residual from it instead.
inline std::vector<int32_t> run_conv(const ConvKernel& kernel, const ConvFixture& f, int splits = 1,
                                     ShiftAddCounts* counts = nullptr, const ConvKernel* shortcut = nullptr,
                                     const void* shortcut_input = nullptr) {
  std::vector<int32_t> out(f.output_size(), 0);
  ConvCall call;
  call.input = f.input();
  call.residual = f.residual.empty() ? nullptr : f.residual.data();
  call.residual_conv = shortcut;
  call.residual_input = shortcut_input;
  call.output = out.data();
  call.batch = f.c.batch;
  const int64_t items = kernel.work_items(f.c.batch);
  int64_t begin = 0;
  for (int s = 1; s <= splits; ++s) {
    const int64_t end = s == splits ? items : std::min(items, begin + (items * s * s) / (splits * splits) + 1);
    kernel.run(call, begin, end, counts);
    begin = end;
  }
  return out;
}

// The independent reference: NCHW loops over the semantic input (no layouts), int64 accumulation, the
// requant formula of deploy/format/integer_model.h in __int128.
inline std::vector<int32_t> reference_conv(const ConvFixture& f) {
  const ConvShape& s = f.shape;
  const ConvLayer& l = f.layer;
  const auto sat = [](__int128 v) {
    return static_cast<int32_t>(
        std::clamp<__int128>(v, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()));
  };
  std::vector<int32_t> out(f.output_size(), 0);
  for (int64_t n = 0; n < f.c.batch; ++n) {
    for (int oy = 0; oy < s.out.height; ++oy) {
      for (int ox = 0; ox < s.out.width; ++ox) {
        for (int co = 0; co < s.out.channels; ++co) {
          int64_t acc = 0;
          for (int ci = 0; ci < s.in.channels; ++ci) {
            for (int kh = 0; kh < s.kernel; ++kh) {
              for (int kw = 0; kw < s.kernel; ++kw) {
                const int y = oy * s.stride - s.padding + kh, x = ox * s.stride - s.padding + kw;
                if (y < 0 || x < 0 || y >= s.in.height || x >= s.in.width) continue;
                acc += int64_t{f.code(n, ci, y, x)} *
                       l.weights[((co * s.in.channels + ci) * s.kernel + kh) * s.kernel + kw];
              }
            }
          }
          EXPECT_LT(std::abs(acc), int64_t{1} << 31) << "the case breaks the accumulation bound";
          const int shift = l.shift[co];
          const __int128 product = static_cast<__int128>(acc) * l.multiplier[co];
          const __int128 shifted =
              shift == 0 ? product : (product + (static_cast<__int128>(1) << (shift - 1))) >> shift;
          int32_t y = sat(shifted + l.bias[co]);
          const int64_t i = n * s.out.image_elements() + (int64_t{oy} * s.out.width + ox) * s.out.stride + co;
          if (!f.residual.empty()) y = sat(static_cast<__int128>(y) + f.residual[i]);
          if (l.relu) y = std::max(y, 0);
          out[i] = y;
        }
      }
    }
  }
  return out;
}

// Activation quantisers fused into the kernel (deploy/kernels/conv/conv_kernel.h FusedActQuant): a 4-bit one into
// uint8 codes with a border and an 8-bit one into int16 codes, thresholds spread over the outputs'
// range. Their codes must equal the reference quantiser on the reference stream, with or without the
// stream kept, the borders and channel padding untouched; and, for cases without a residual, the 4-bit
// one alone moved onto the accumulators (deploy/kernels/acc_quantize/acc_quantize.h).
inline void expect_fused_act_quant(Kernel family, const std::vector<ConvCase>& cases) {
  std::mt19937 rng(4);
  for (const ConvCase& c : cases) {
    const ConvFixture f = make_fixture(c, static_cast<uint32_t>(rng()));
    const std::vector<int32_t> stream = reference_conv(f);
    std::vector<ActQuantTable> tables;
    std::vector<CodesLayout> layouts;
    for (const int levels : {16, 256}) {
      std::vector<int32_t> thresholds;
      std::vector<int16_t> values;
      for (int j = 0; j < levels; ++j) {
        values.push_back(static_cast<int16_t>(levels == 16 ? 3 * j : 15 * j));
        if (j > 0) thresholds.push_back(-(1 << 24) + static_cast<int32_t>(j * ((1 << 25) / levels)));
      }
      tables.emplace_back(thresholds.data(), values.data(), levels);
      layouts.push_back(CodesLayout::make(levels == 16 ? CodeType::U8 : CodeType::S16, c.out_channels,
                                          f.shape.out.height, f.shape.out.width, levels == 16 ? 1 : 0));
    }
    const AccQuantTable acc(f.layer.multiplier.data(), f.layer.shift.data(), f.layer.bias.data(), c.relu,
                            c.out_channels, f.shape.out.stride, tables[0]);
    for (const int variant : {0, 1, 2}) {  // stream kept; not kept; not kept, the 4-bit one on the accumulators
      const bool keep_stream = variant == 0, on_acc = variant == 2;
      if (on_acc && !f.residual.empty()) continue;
      std::vector<uint8_t> codes8(c.batch * layouts[0].image_elements(), 0);
      std::vector<int16_t> codes16(c.batch * layouts[1].image_elements(), 0);
      const FusedActQuant fused[2] = {{&tables[0], layouts[0], codes8.data(), on_acc ? &acc : nullptr},
                                      {&tables[1], layouts[1], codes16.data()}};
      std::vector<int32_t> out(f.output_size(), 0);
      const auto kernel = make_conv_kernel(family, f.layer);
      ConvCall call;
      call.input = f.input();
      call.residual = f.residual.empty() ? nullptr : f.residual.data();
      call.output = keep_stream ? out.data() : nullptr;
      call.quantizers = fused;
      call.quantizer_count = on_acc ? 1 : 2;
      call.batch = c.batch;
      const int64_t items = kernel->work_items(c.batch);
      kernel->run(call, 0, items / 3, nullptr);
      kernel->run(call, items / 3, items, nullptr);
      if (keep_stream) {
        EXPECT_EQ(out, stream) << describe(c);
      }
      std::vector<uint8_t> expect8(codes8.size(), 0);
      std::vector<int16_t> expect16(codes16.size(), 0);
      for (int64_t n = 0; n < c.batch; ++n) {
        for (int y = 0; y < f.shape.out.height; ++y) {
          for (int x = 0; x < f.shape.out.width; ++x) {
            for (int ch = 0; ch < c.out_channels; ++ch) {
              const int32_t v = stream[n * f.shape.out.image_elements() +
                                       (int64_t{y} * f.shape.out.width + x) * f.shape.out.stride + ch];
              expect8[n * layouts[0].image_elements() + layouts[0].pixel(y, x) + ch] =
                  static_cast<uint8_t>(act_quantize_one(tables[0], v));
              expect16[n * layouts[1].image_elements() + layouts[1].pixel(y, x) + ch] =
                  static_cast<int16_t>(act_quantize_one(tables[1], v));
            }
          }
        }
      }
      const char* how = variant == 0 ? "" : variant == 1 ? " (stream not kept)" : " (on the accumulators)";
      EXPECT_EQ(codes8, expect8) << describe(c) << how;
      if (!on_acc) {
        EXPECT_EQ(codes16, expect16) << describe(c) << how;
      }
    }
  }
}

// A shortcut computed by the convolution that adds its stream (ConvCall::residual_conv), as a residual
// block's 1x1 stride-2 downsampling: on another input, of either code type, with and without ReLU. The
// reader's outputs must equal the reference given the shortcut's reference stream as the residual, for
// any split of the work; only a convolution of the same family and output shape is admitted.
inline void expect_computed_residual(Kernel family) {
  uint32_t seed = 40;
  for (const CodeType reader_type : {CodeType::U8, CodeType::S16}) {
    for (const CodeType shortcut_type : {CodeType::U8, CodeType::S16}) {
      for (const auto& [h, w, out_c] : {std::tuple{5, 5, 16}, {3, 7, 48}, {8, 8, 32}, {2, 9, 8}, {1, 1, 24}}) {
        ConvCase reader;
        reader.type = reader_type, reader.in_channels = 8, reader.height = h, reader.width = w;
        reader.out_channels = out_c, reader.relu = true, reader.batch = 3;
        ConvCase shortcut = reader;
        shortcut.type = shortcut_type, shortcut.in_channels = 12, shortcut.height = 2 * h, shortcut.width = 2 * w;
        shortcut.kernel = 1, shortcut.stride = 2, shortcut.padding = 0, shortcut.relu = out_c == 48;
        const ConvFixture s = make_fixture(shortcut, seed++), r = make_fixture(reader, seed++);
        ConvFixture expected = r;
        expected.residual = reference_conv(s);
        const auto reader_kernel = make_conv_kernel(family, r.layer);
        const auto shortcut_kernel = make_conv_kernel(family, s.layer);
        const std::string name = describe(reader) + " + shortcut " + describe(shortcut);
        ASSERT_TRUE(reader_kernel->computes_residual(*shortcut_kernel)) << name;
        for (const int splits : {1, 7}) {
          EXPECT_EQ(run_conv(*reader_kernel, r, splits, nullptr, shortcut_kernel.get(), s.input()),
                    reference_conv(expected))
              << name << ", work split in " << splits;
        }
      }
    }
  }
  ConvCase reader;
  reader.out_channels = 32;
  const auto kernel = make_conv_kernel(family, make_fixture(reader, 1).layer);
  ConvCase other = reader;
  other.out_channels = 24;
  EXPECT_FALSE(kernel->computes_residual(*make_conv_kernel(family, make_fixture(other, 2).layer)));
  other = reader;
  other.width = 7;
  EXPECT_FALSE(kernel->computes_residual(*make_conv_kernel(family, make_fixture(other, 3).layer)));
  EXPECT_FALSE(kernel->computes_residual(*make_conv_kernel(Kernel::Scalar, make_fixture(reader, 4).layer)));
  EXPECT_TRUE(kernel->computes_residual(*make_conv_kernel(family, make_fixture(reader, 5).layer)));
}

// A few shapes for the fused quantisers: tiles over several rows, narrow last blocks, a residual.
inline std::vector<ConvCase> fused_cases(CodeType type) {
  std::vector<ConvCase> cases;
  for (const auto& [h, w, out_c] : {std::tuple{5, 5, 16}, {3, 7, 48}, {7, 3, 80}, {4, 9, 8}, {2, 2, 33}}) {
    ConvCase c;
    c.type = type, c.height = h, c.width = w, c.out_channels = out_c, c.in_channels = 8;
    c.residual = out_c == 48 || out_c == 80, c.relu = out_c % 16 == 0, c.batch = 2;
    cases.push_back(c);
  }
  return cases;
}

// Every code and weight at its extreme, K = in_channels x kernel^2 as large as the int32 accumulator
// allows (K x max|x| x max|w| just below 2^31, as deploy/format/validate.h admits): 8-bit uniform weights (127)
// with int16 codes (32767, K = 516) or uint8 codes (255, K = 66303).
// u8_code: the uint8 codes' value (the AVX2 kernel's int16 pair sums cap it at 129 with these weights).
inline ConvFixture bound_fixture(CodeType type, int weight_sign, int code_sign, bool relu, int32_t u8_code = 255) {
  ConvCase c;
  c.type = type;
  c.weights = LevelSetSpec{Scheme::Uniform, 8, 1, true};
  if (type == CodeType::U8) {
    c.in_channels = 7367, c.height = 3, c.width = 3, c.kernel = 3, c.padding = 1;
  } else {
    c.in_channels = 516, c.height = 3, c.width = 4, c.kernel = 1, c.padding = 0;
  }
  c.out_channels = 20, c.batch = 1, c.residual = true, c.relu = relu;
  ConvFixture f = make_fixture(c, 7);
  const LevelSet set = c.weights.make();
  const Level& w = weight_sign < 0 ? set.levels().front() : set.levels().back();
  const std::vector<uint16_t> codes(f.layer.weights.size(), static_cast<uint16_t>(w.code));
  f.layer = ConvLayer::from_codes(f.shape, set, codes.data(), f.layer.multiplier.data(), f.layer.shift.data(),
                                  f.layer.bias.data(), relu);
  const int32_t x = type == CodeType::U8 ? u8_code : 32767 * code_sign;
  f.max_code = f.layer.max_input = std::abs(x);
  EXPECT_LT(int64_t{c.in_channels} * c.kernel * c.kernel * std::abs(x) * 127, int64_t{1} << 31);
  for (int y = 0; y < c.height; ++y) {
    for (int xx = 0; xx < c.width; ++xx) {
      for (int ch = 0; ch < c.in_channels; ++ch) {
        const int64_t i = f.shape.in.pixel(y, xx) + ch;
        if (type == CodeType::U8) {
          f.input8[i] = static_cast<uint8_t>(x);
        } else {
          f.input16[i] = static_cast<int16_t>(x);
        }
      }
    }
  }
  return f;
}

// Shapes probing the tiles: AVX-512 tiles of up to 16 / 12 / 8 / 6 pixels for blocks of 1..4 vectors
// of 16 channels, AVX2 tiles of up to 12 / 6 pixels for blocks of 1..2 vectors
// of 8; rows shorter than half a tile are grouped, longer rows cut into pieces; taps in the padding
// skipped.
inline std::vector<ConvCase> edge_cases(CodeType type) {
  std::vector<ConvCase> cases;
  const LevelSetSpec w4{Scheme::APoT, 4, 2, true}, w5{Scheme::APoT, 5, 2, true}, w8{Scheme::Uniform, 8, 1, true};
  const LevelSetSpec w8_apot{Scheme::APoT, 8, 2, true}, w3_pot{Scheme::PoT, 3, 2, true};
  auto add = [&](int in_c, int h, int w, int out_c, int k, int s, int p, LevelSetSpec weights, bool residual = false,
                 bool relu = false, int extra = 0, int batch = 2) {
    ConvCase c;
    c.in_channels = in_c, c.height = h, c.width = w, c.out_channels = out_c, c.kernel = k, c.stride = s, c.padding = p;
    c.weights = weights, c.residual = residual, c.relu = relu, c.extra_border = extra, c.batch = batch, c.type = type;
    if (type == CodeType::U8 && weights.bits == 8 && weights.scheme == Scheme::APoT)
      c.weights = w5;  // int8 weights only
    cases.push_back(c);
  };
  // Output pixels per image: 1, 6, 8, 12, 16 (tiles exactly), 24, 36, 48 (multiples), 5, 7, 11, 15 (fewer),
  // 17, 25, 49, 64, 100 (more, with a tail).
  for (const int side : {1, 2, 3, 4, 5, 7, 8, 10}) add(4, side, side, 16, 3, 1, 1, w4, true, true);
  for (const auto& [h, w] : {std::pair{1, 6},
                             {2, 4},
                             {2, 6},
                             {3, 8},
                             {6, 6},
                             {4, 12},
                             {1, 5},
                             {1, 7},
                             {1, 11},
                             {3, 5},
                             {1, 17},
                             {5, 5},
                             {2, 9},
                             {2, 11},
                             {2, 5}}) {
    add(8, h, w, 32, 3, 1, 1, w4, false, true);
  }
  // Every tail size of every tile over several rows, so that all taps of the window are live: output
  // pixels 9, 15, 16, 18, 20, 21, 25, 49 against tiles of 16, 12, 8, 6 (AVX-512) and 12, 6 (AVX2).
  for (const int out_c : {8, 16, 32, 48, 64}) {
    for (const auto& [h, w] : {std::pair{3, 3}, {3, 5}, {4, 4}, {3, 6}, {4, 5}, {3, 7}, {5, 5}, {7, 7}}) {
      add(8, h, w, out_c, 3, 1, 1, w4, out_c % 32 == 0, out_c % 16 == 0);
    }
  }
  // Output channels: 1, 8, 15, 16, 17, 31, 32, 33, 48, 64, 80, 100, 128, 200 (blocks of 1..4 vectors, a
  // narrower last block).
  for (const int out_c : {1, 8, 15, 16, 17, 31, 32, 33, 48, 64, 80, 100, 128, 200}) {
    add(16, 5, 7, out_c, 3, 1, 1, w4, out_c % 2 == 0, out_c % 3 == 0);
  }
  // Input channels: 1, 2, 3, 5, 7 (padded to the group), 16, 33, 64.
  for (const int in_c : {1, 2, 3, 5, 7, 16, 33, 64}) add(in_c, 6, 6, 16, 3, 1, 1, w4, false, false);
  // Kernels 1, 3, 7, strides 1 and 2, paddings 0..3, borders wider than the padding.
  add(16, 8, 8, 32, 1, 1, 0, w4, true, true);
  add(16, 8, 8, 32, 1, 2, 0, w4);
  add(16, 9, 9, 32, 3, 2, 1, w4, false, true);
  add(16, 9, 7, 32, 3, 2, 0, w4);
  add(3, 16, 16, 16, 7, 2, 3, w8, false, true);
  add(3, 11, 13, 64, 7, 2, 3, w8);
  add(8, 7, 7, 16, 7, 1, 3, w4);
  add(8, 6, 6, 16, 3, 1, 0, w4, false, false, /*extra=*/2);
  add(8, 6, 6, 16, 3, 1, 1, w4, true, false, /*extra=*/1);
  add(16, 6, 6, 24, 5, 1, 2, w3_pot);
  // Wide rows cut into several tiles; windows entirely in the padding (tiles without a live tap).
  add(8, 3, 40, 64, 3, 1, 1, w4, true, true);
  add(8, 2, 29, 16, 3, 1, 1, w4);
  add(8, 4, 4, 16, 1, 1, 2, w4, false, true);
  add(8, 3, 3, 48, 3, 2, 3, w4);
  // Other weight sets, a larger batch.
  add(16, 6, 6, 48, 3, 1, 1, w5, true, true);
  add(16, 6, 6, 48, 3, 1, 1, w8, true, true);
  add(16, 6, 6, 48, 3, 1, 1, w8_apot, true, true);
  add(32, 4, 4, 64, 3, 1, 1, w4, true, true, 0, /*batch=*/7);
  return cases;
}

}  // namespace apot::deploy::test

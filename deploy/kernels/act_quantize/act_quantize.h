// The activation quantiser (deploy/format/integer_model.h, ActQuantOp): the nearest-level projection of RCF
// (paper Eq. 7) on the unsigned activation levels, applied to a stream as a count of thresholds,
//   code = values[#{ j : x >= thresholds[j] }],
// the clip to [0, alpha] folded into the first and last thresholds. The reference counts with a binary
// search over the thresholds as given; the kernels run a branch-free search over the table padded to a
// power of two, in SIMD lanes where the CPU has them, and give the same codes
// (tests/deploy/kernels/act_quantize_test.cpp).
#pragma once

#include <cstdint>

#include "deploy/kernels/layout.h"

namespace apot::deploy {

struct ActQuantTable {
  static constexpr int kMaxLevels = 256;
  int levels = 0;                  // L, 2..256
  int steps = 0;                   // log2 of the padded size P = 2^steps >= L
  int32_t thresholds[kMaxLevels];  // the L - 1 thresholds, then INT32_MAX up to P - 1 entries
  int32_t values[kMaxLevels];      // the L values, then the last value up to P entries

  // The same search for tables of up to 16 levels (steps <= 4) in the order SIMD permutes read it:
  // level l's 2^l candidate thresholds (level 0's repeated in all 8 lanes), each at the complement of
  // its prefix (the bits decided so far, 1 where x was below the probe), and the values at the
  // complements of their indices: [P - 1 - i] = values[i].
  static constexpr int kMaxSmallSteps = 4;
  alignas(32) int32_t small_candidates[kMaxSmallSteps][8];
  alignas(32) int32_t small_values[16];

  // Thresholds strictly ascending, values ascending within int16 and >= 0; std::invalid_argument
  // otherwise (deploy/format/validate.h checks the model's before this runs).
  ActQuantTable(const int32_t* thresholds, const int16_t* values, int levels);
  ActQuantTable() = default;
};

// The reference: the code of one stream value.
int32_t act_quantize_one(const ActQuantTable& t, int32_t x);

// `pixels` pixels of `channels` values: stream pixels in (stride in_stride int32), codes out (stride
// out_stride elements of `type`, over row_ends; uint8 needs values <= 255). Channels beyond `channels`
// are not written.
struct ActQuantRows {
  const int32_t* in = nullptr;
  int64_t in_stride = 0;
  void* out = nullptr;
  int64_t out_stride = 0;
  CodeType type = CodeType::S16;
  int64_t pixels = 0;
  int channels = 0;
  RowEnds row_ends;
};

// The reference kernel; the SIMD ones are in deploy/kernels/kernel_table.h.
void act_quantize_scalar(const ActQuantTable& t, const ActQuantRows& r);
// kernel(t, piece) for the pieces of r within one row each (no row ends): for kernels that do not
// follow row ends themselves.
void act_quantize_by_rows(void (*kernel)(const ActQuantTable&, const ActQuantRows&), const ActQuantTable& t,
                          const ActQuantRows& r);

}  // namespace apot::deploy

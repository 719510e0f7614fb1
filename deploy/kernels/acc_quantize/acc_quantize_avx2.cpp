// AVX2 path of acc_quantize_scalar (acc_quantize.cpp): the count itself,
//   code = values[#{ j : sign_c x acc > B_j[c] }],
// one compare per threshold against the table's lanes (read as memory operands, nothing to set up per
// call), the compares' -1s summed in two independent chains: 16 channels at a time in int16 where the
// table's thresholds allow (AccQuantTable::int16: the accumulators narrowed by a saturating pack lose
// no count), else eight at a time in int32. AVX2 has no mask registers, so a binary search needs a tree
// of byte blends per level; its serial chain of compares and blends, and the tree's 15 registers (more
// than AVX2 has) loaded per call, made it about twice as slow as 15 independent int32 compares at 16
// levels (docs/integer-engine.md). The codes by byte shuffles of the values. Compiled with -mavx2 and
// only called when the CPU reports it.
#include <immintrin.h>

#include "deploy/kernels/acc_quantize/acc_quantize.h"
#include "deploy/kernels/acc_quantize/acc_quantize_dispatch.h"
#include "deploy/kernels/codes_avx2.h"
#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {

namespace {

// Minus the counts of the thresholds (kEntries vectors of int32 or int16 lanes, 16 lanes of Lane apart)
// that the lanes of `a` exceed: the compares' -1s summed in two independent chains.
template <int kEntries, class Lane>
[[gnu::always_inline]] inline __m256i minus_exceeded(__m256i a, const Lane* thresholds) {
  constexpr bool k32 = sizeof(Lane) == 4;
  const auto add = [](__m256i x, __m256i y) { return k32 ? _mm256_add_epi32(x, y) : _mm256_add_epi16(x, y); };
  __m256i minus[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 16
  for (int j = 0; j < kEntries; ++j) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(thresholds + j * 16));
    minus[j % 2] = add(minus[j % 2], k32 ? _mm256_cmpgt_epi32(a, b) : _mm256_cmpgt_epi16(a, b));
  }
  return add(minus[0], minus[1]);
}

// p, which the optimiser must then take as changed. Called once per pixel on the table's address, it
// keeps GCC from holding each threshold's address in a register of its own (15 of them, more than are
// free), which spilled them and copied thresholds through the stack (twice the time per pixel).
template <class P>
[[gnu::always_inline]] inline P* opaque(P* p) {
  asm("" : "+r"(p));
  return p;
}

inline __m256i load(const void* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// The counts of 16 channels from `channel` (a multiple of 16, AccQuantTable::int16) as bytes in channel
// order, with the table's vectors loaded once.
template <int kEntries>
class Count16 {
 public:
  Count16(const AccQuantTable& t, int channel)
      : thresholds_(t.thresholds16(channel)),
        base_(load(t.base16(channel))),
        direction_(load(t.direction16(channel))) {}
  __m128i operator()(const int32_t* acc) const {
    const __m256i a = _mm256_packs_epi32(load(acc), load(acc + 8));  // saturated: see AccQuantTable::int16
    const __m256i minus = minus_exceeded<kEntries>(a, opaque(thresholds_));
    // In the pack's lane order (channels 0-3, 8-11, 4-7, 12-15) until the last shuffle.
    return _mm_shuffle_epi32(bytes16(_mm256_sub_epi16(base_, _mm256_sign_epi16(minus, direction_))), 0xD8);
  }

 private:
  const int16_t* thresholds_;
  __m256i base_, direction_;
};

// Everything the loops read is copied to locals first: the code stores may alias the table and the
// rows (uint8 codes alias anything), which would otherwise be reloaded for every pixel.
template <int kSteps, class T>
void quantize(const AccQuantTable& t, const AccQuantRows& r) {
  constexpr int kEntries = (1 << kSteps) - 1;
  const Codes<T> codes(t.act().values);
  const int64_t pixels = r.pixels, acc_stride = r.acc_stride;
  const int channels = r.channels;
  for (int c = 0; c < channels;) {
    const int channel = r.channel + c, left = channels - c;
    const int32_t* acc = r.acc + c;
    CodesCursor<T> out(static_cast<T*>(r.out) + c, r.out_stride, r.row_ends, pixels);
    if (left >= 16 && channel % 16 == 0 && t.int16(channel)) {
      const Count16<kEntries> count(t, channel);
      for (int64_t p = 0; p < pixels; ++p, acc += acc_stride, out.next()) {
        codes.template store<16>(count(acc), out.get());
      }
      c += 16;
      continue;
    }
    const int32_t* thresholds = t.thresholds(channel / 16 * 16) + channel % 16;
    const __m256i sign = load(t.signs(channel));
    const auto count = [&](const int32_t* in) {
      const __m256i minus = minus_exceeded<kEntries>(_mm256_sign_epi32(load(in), sign), opaque(thresholds));
      return bytes32(_mm256_sub_epi32(_mm256_setzero_si256(), minus));
    };
    if (left >= 8) {
      for (int64_t p = 0; p < pixels; ++p, acc += acc_stride, out.next()) {
        codes.template store<8>(count(acc), out.get());
      }
    } else {
      // The last channels through copies: read and write no channel beyond them.
      for (int64_t p = 0; p < pixels; ++p, acc += acc_stride, out.next()) {
        alignas(32) int32_t in[8] = {};
        for (int i = 0; i < left; ++i) in[i] = acc[i];
        alignas(16) T lanes[8];
        codes.template store<8>(count(in), lanes);
        for (int i = 0; i < left; ++i) out.get()[i] = lanes[i];
      }
    }
    c += 8;
  }
}

struct RowKernel {
  template <int kSteps, class T>
  static void rows(const AccQuantTable& t, const AccQuantRows& r) {
    quantize<kSteps, T>(t, r);
  }
};

}  // namespace

void acc_quantize_avx2(const AccQuantTable& t, const AccQuantRows& r) { dispatch_acc_quantize<RowKernel>(t, r); }

}  // namespace apot::deploy

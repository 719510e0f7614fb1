// AVX2 path of acc_quantize_scalar (acc_quantize.cpp): the count itself,
//   code = values[#{ j : sign_c x acc > B_j[c] }],
// one compare per threshold against the table's lanes (read as memory operands, nothing to set up per
// call), the compares' -1s summed in two independent chains: 16 channels at a time in int16 where the
// table's thresholds allow (AccQuantTable::int16: the accumulators clamped and moved into int16 lose no
// count), else eight at a time in int32. AVX2 has no mask registers, so a binary search needs a tree
// of byte blends per level; its serial chain of compares and blends, and the tree's 15 registers (more
// than AVX2 has) loaded per call, made it about twice as slow as 15 independent int32 compares at 16
// levels (docs/integer-engine.md). The codes by byte shuffles of the values. Compiled with -mavx2 and
// only called when the CPU reports it.
#include <immintrin.h>

#include "deploy/acc_quantize.h"
#include "deploy/acc_quantize_dispatch.h"
#include "deploy/codes_avx2.h"

namespace apot::deploy {

namespace {

// The counts of the thresholds (kEntries vectors of int32 or int16 lanes, 16 lanes of Lane apart) that
// the lanes of `a` exceed; the compares' -1s summed in two independent chains.
template <int kEntries, class Lane>
[[gnu::always_inline]] inline __m256i exceeded(__m256i a, const Lane* thresholds) {
  constexpr bool k32 = sizeof(Lane) == 4;
  const auto add = [](__m256i x, __m256i y) { return k32 ? _mm256_add_epi32(x, y) : _mm256_add_epi16(x, y); };
  const auto sub = [](__m256i x, __m256i y) { return k32 ? _mm256_sub_epi32(x, y) : _mm256_sub_epi16(x, y); };
  __m256i minus[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};  // minus the counts so far
#pragma GCC unroll 16
  for (int j = 0; j < kEntries; ++j) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(thresholds + j * 16));
    minus[j % 2] = add(minus[j % 2], k32 ? _mm256_cmpgt_epi32(a, b) : _mm256_cmpgt_epi16(a, b));
  }
  return sub(_mm256_setzero_si256(), add(minus[0], minus[1]));
}

// The accumulators of 16 channels from `channel` (a multiple of 16, AccQuantTable::int16) signed,
// clamped and moved into int16 lanes in channel order, with their table's vectors loaded once.
class Narrow16 {
 public:
  Narrow16(const AccQuantTable& t, int channel) {
    for (int h = 0; h < 2; ++h) {
      sign_[h] = load(t.signs(channel + 8 * h));
      low_[h] = load(t.low(channel + 8 * h));
      high_[h] = load(t.high(channel + 8 * h));
    }
  }
  __m256i operator()(const int32_t* acc) const {
    const auto half = [&](int h) {
      const __m256i a = _mm256_sign_epi32(load(acc + 8 * h), sign_[h]);
      return _mm256_sub_epi32(_mm256_min_epi32(_mm256_max_epi32(a, low_[h]), high_[h]), low_[h]);
    };
    // The packs interleave the halves' 4-lane groups; 0xD8 puts them back in order.
    return _mm256_permute4x64_epi64(_mm256_packs_epi32(half(0), half(1)), 0xD8);
  }
  static __m256i load(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

 private:
  __m256i sign_[2], low_[2], high_[2];
};

// Everything the loops read is copied to locals first: the code stores may alias the table and the
// rows (uint8 codes alias anything), which would otherwise be reloaded for every pixel.
template <int kSteps, class T>
void quantize(const AccQuantTable& t, const AccQuantRows& r) {
  constexpr int kEntries = (1 << kSteps) - 1;
  const Codes<T> codes(t.act().values);
  const int64_t pixels = r.pixels, acc_stride = r.acc_stride, out_stride = r.out_stride;
  const int channels = r.channels;
  const auto load = Narrow16::load;
  for (int c = 0; c < channels;) {
    const int channel = r.channel + c, left = channels - c;
    const int32_t* acc = r.acc + c;
    T* out = static_cast<T*>(r.out) + c;
    if (left >= 16 && channel % 16 == 0 && t.int16(channel)) {
      const Narrow16 narrow(t, channel);
      const int16_t* thresholds = t.thresholds16(channel);
      for (int64_t p = 0; p < pixels; ++p, acc += acc_stride, out += out_stride) {
        codes.template store<16>(bytes16(exceeded<kEntries>(narrow(acc), thresholds)), out);
      }
      c += 16;
      continue;
    }
    const int32_t* thresholds = t.thresholds(channel / 16 * 16) + channel % 16;
    const __m256i sign = load(t.signs(channel));
    const auto count = [&](const int32_t* in) {
      return exceeded<kEntries>(_mm256_sign_epi32(load(in), sign), thresholds);
    };
    if (left >= 8) {
      for (int64_t p = 0; p < pixels; ++p, acc += acc_stride, out += out_stride) {
        codes.template store<8>(bytes32(count(acc)), out);
      }
    } else {
      // The last channels through copies: read and write no channel beyond them.
      for (int64_t p = 0; p < pixels; ++p, acc += acc_stride, out += out_stride) {
        alignas(32) int32_t in[8] = {};
        for (int i = 0; i < left; ++i) in[i] = acc[i];
        alignas(16) T lanes[8];
        codes.template store<8>(bytes32(count(in)), lanes);
        for (int i = 0; i < left; ++i) out[i] = lanes[i];
      }
    }
    c += 8;
  }
}

struct Kernel {
  template <int kSteps, class T>
  static void rows(const AccQuantTable& t, const AccQuantRows& r) {
    quantize<kSteps, T>(t, r);
  }
};

}  // namespace

void acc_quantize_avx2(const AccQuantTable& t, const AccQuantRows& r) { dispatch_acc_quantize<Kernel>(t, r); }

}  // namespace apot::deploy

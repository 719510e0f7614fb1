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

// The threshold counts of eight accumulators of the channels whose first threshold is at `thresholds`
// (the next ones 16 int32 apart), as int32 lanes.
template <int kSteps>
[[gnu::always_inline]] inline __m256i count(__m256i acc, __m256i sign, const int32_t* thresholds) {
  return exceeded<(1 << kSteps) - 1>(_mm256_sign_epi32(acc, sign), thresholds);
}

// The threshold counts of 16 accumulators of the channels from `channel` (a multiple of 16) in int16
// (AccQuantTable::int16), as int16 lanes in channel order.
template <int kSteps>
[[gnu::always_inline]] inline __m256i count16(__m256i acc0, __m256i acc1, const AccQuantTable& t, int channel) {
  const auto narrow = [&](__m256i acc, int c) {
    const auto at = [](const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
    const __m256i low = at(t.low(c));
    const __m256i a = _mm256_min_epi32(_mm256_max_epi32(_mm256_sign_epi32(acc, at(t.signs(c))), low), at(t.high(c)));
    return _mm256_sub_epi32(a, low);
  };
  // The packs interleave the halves' 4-lane groups; 0xD8 puts them back in order.
  const __m256i a =
      _mm256_permute4x64_epi64(_mm256_packs_epi32(narrow(acc0, channel), narrow(acc1, channel + 8)), 0xD8);
  return exceeded<(1 << kSteps) - 1>(a, t.thresholds16(channel));
}

template <int kSteps, class T>
void quantize(const AccQuantTable& t, const AccQuantRows& r) {
  const Codes<T> codes(t.act().values);
  const auto load = [](const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
  for (int c = 0; c < r.channels;) {
    const int channel = r.channel + c, left = r.channels - c;
    const int32_t* acc = r.acc + c;
    T* out = static_cast<T*>(r.out) + c;
    if (left >= 16 && channel % 16 == 0 && t.int16(channel)) {
      for (int64_t p = 0; p < r.pixels; ++p, acc += r.acc_stride, out += r.out_stride) {
        codes.template store<16>(bytes16(count16<kSteps>(load(acc), load(acc + 8), t, channel)), out);
      }
      c += 16;
      continue;
    }
    const int32_t* thresholds = t.thresholds(channel / 16 * 16) + channel % 16;
    const __m256i sign = load(t.signs(channel));
    if (left >= 8) {
      for (int64_t p = 0; p < r.pixels; ++p, acc += r.acc_stride, out += r.out_stride) {
        codes.template store<8>(bytes32(count<kSteps>(load(acc), sign, thresholds)), out);
      }
    } else {
      // The last channels through copies: read and write no channel beyond them.
      for (int64_t p = 0; p < r.pixels; ++p, acc += r.acc_stride, out += r.out_stride) {
        alignas(32) int32_t in[8] = {};
        for (int i = 0; i < left; ++i) in[i] = acc[i];
        alignas(16) T lanes[8];
        codes.template store<8>(bytes32(count<kSteps>(load(in), sign, thresholds)), lanes);
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

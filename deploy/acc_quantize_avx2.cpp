// AVX2 path of acc_quantize_scalar (acc_quantize.cpp): eight channels at a time, the binary search of
// acc_quantize_avx512.cpp over each lane's own thresholds, with vector masks and byte blends in place
// of mask registers, and the value looked up in two 8-entry permutes. The table keeps its 16-lane
// groups; a group's two halves are two ymm. Compiled with -mavx2 and only called when the CPU reports it.
#include <immintrin.h>

#include "deploy/acc_quantize.h"
#include "deploy/acc_quantize_dispatch.h"

namespace apot::deploy {

namespace {

template <int kSteps>
struct Tree {
  static constexpr int kEntries = (1 << kSteps) - 1;
  __m256i node[kEntries];  // threshold j of each lane
  __m256i sign;            // -1 where the multiplier is negative: the search runs on -acc
  __m256i low, high;       // values 0..7 and 8..15

  // The 8 lanes from `channel` (a multiple of 8).
  Tree(const AccQuantTable& t, int channel) {
    const int32_t* group = t.thresholds(channel / 16 * 16) + channel % 16;
#pragma GCC unroll 16
    for (int j = 0; j < kEntries; ++j) node[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + j * 16));
    sign = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.signs(channel)));
    low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.act().values));
    high = kSteps == 4 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.act().values + 8)) : low;
  }

  // The candidate of level l: node[p x 2 step + step - 1] for the prefix p whose bits (first decided
  // highest) are bit[0 .. l - 1]; the blends consume the last decided bit first.
  template <int kLevel>
  __m256i select(const __m256i* bit) const {
    constexpr int step = 1 << (kSteps - 1 - kLevel);
    __m256i c[1 << kLevel];
#pragma GCC unroll 8
    for (int p = 0; p < (1 << kLevel); ++p) c[p] = node[p * 2 * step + step - 1];
#pragma GCC unroll 4
    for (int i = kLevel - 1; i >= 0; --i) {
#pragma GCC unroll 8
      for (int q = 0; q < (1 << i); ++q) c[q] = _mm256_blendv_epi8(c[2 * q], c[2 * q + 1], bit[i]);
    }
    return c[0];
  }

  template <int kLevel>
  void search(__m256i a, __m256i* bit, __m256i& index) const {
    if constexpr (kLevel < kSteps) {
      bit[kLevel] = _mm256_cmpgt_epi32(a, select<kLevel>(bit));
      index = _mm256_or_si256(index, _mm256_and_si256(bit[kLevel], _mm256_set1_epi32(1 << (kSteps - 1 - kLevel))));
      search<kLevel + 1>(a, bit, index);
    }
  }

  __m256i operator()(__m256i acc) const {
    const __m256i a = _mm256_sign_epi32(acc, sign);
    __m256i bit[kSteps];
    __m256i index = _mm256_setzero_si256();
    search<0>(a, bit, index);
    const __m256i lo = _mm256_permutevar8x32_epi32(low, index);
    if constexpr (kSteps < 4) return lo;
    const __m256i hi = _mm256_permutevar8x32_epi32(high, index);
    return _mm256_blendv_epi8(lo, hi, _mm256_cmpgt_epi32(index, _mm256_set1_epi32(7)));
  }
};

template <int kSteps, class T>
void quantize(const AccQuantTable& t, const AccQuantRows& r) {
  for (int c = 0; c < r.channels; c += 8) {
    const Tree<kSteps> tree(t, r.channel + c);
    const int left = r.channels - c;
    for (int64_t p = 0; p < r.pixels; ++p) {
      const int32_t* acc = r.acc + p * r.acc_stride + c;
      T* out = static_cast<T*>(r.out) + p * r.out_stride + c;
      alignas(32) int32_t tail[8] = {};
      if (left < 8) {
        for (int i = 0; i < left; ++i) tail[i] = acc[i];
      }
      const __m256i code = tree(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(left < 8 ? tail : acc)));
      // Codes are 0..255 (uint8) or within int16: the saturating packs are exact.
      const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(code), _mm256_extracti128_si256(code, 1));
      alignas(16) T lanes[8];
      T* to = left < 8 ? lanes : out;  // the last channels through a copy: write no channel beyond them
      if constexpr (sizeof(T) == 1) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(to), _mm_packus_epi16(words, words));
      } else {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(to), words);
      }
      for (int i = 0; i < left && left < 8; ++i) out[i] = lanes[i];
    }
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

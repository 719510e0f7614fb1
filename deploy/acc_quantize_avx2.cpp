// AVX2 path of acc_quantize_scalar (acc_quantize.cpp): eight channels at a time, the count itself,
//   code = values[#{ j : sign_c x acc > B_j[c] }],
// one compare per threshold against the table's lanes (read as memory operands, nothing to set up per
// call), the compares' -1s summed in two independent chains. AVX2 has no mask registers, so a binary
// search needs a tree of byte blends per level; its serial chain of compares and blends, and the tree's
// 15 registers (more than AVX2 has) loaded per call, made it about twice as slow as these 15
// independent compares at 16 levels (docs/integer-engine.md). The value: uint8 codes by one byte
// shuffle of the 16 values, int16 codes by two 8-entry permutes. Compiled with -mavx2 and only called
// when the CPU reports it.
#include <immintrin.h>

#include "deploy/acc_quantize.h"
#include "deploy/acc_quantize_dispatch.h"

namespace apot::deploy {

namespace {

// The threshold counts of eight accumulators of the channels whose first threshold is at `thresholds`
// (the next ones 16 int32 apart).
template <int kSteps>
__m256i count(__m256i acc, __m256i sign, const int32_t* thresholds) {
  constexpr int kEntries = (1 << kSteps) - 1;
  const __m256i a = _mm256_sign_epi32(acc, sign);
  // Minus the counts so far (a compare gives -1 where a exceeds the threshold), in two chains.
  __m256i minus[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 16
  for (int j = 0; j < kEntries; ++j) {
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(thresholds + j * 16));
    minus[j % 2] = _mm256_add_epi32(minus[j % 2], _mm256_cmpgt_epi32(a, b));
  }
  return _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_add_epi32(minus[0], minus[1]));
}

// Eight counts (0..15) as int16 words.
inline __m128i words(__m256i v) {
  return _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

template <int kSteps, class T>
void quantize(const AccQuantTable& t, const AccQuantRows& r) {
  const int32_t* values = t.act().values;
  // uint8 codes (values <= 255): the 16 values as bytes, for the shuffle.
  const __m128i value_bytes = _mm_packus_epi16(
      _mm_packs_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(values)),
                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(values + 4))),
      _mm_packs_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(values + 8)),
                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(values + 12))));
  const __m256i low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values));
  const __m256i high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(values + 8));
  // The eight codes of the counts, stored at `to`.
  const auto store = [&](__m256i counts, T* to) {
    if constexpr (sizeof(T) == 1) {
      const __m128i bytes = _mm_shuffle_epi8(value_bytes, _mm_packus_epi16(words(counts), words(counts)));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(to), bytes);
    } else {
      // Values within int16: the saturating pack is exact.
      const __m256i v = _mm256_blendv_epi8(_mm256_permutevar8x32_epi32(low, counts),
                                           _mm256_permutevar8x32_epi32(high, counts),
                                           _mm256_cmpgt_epi32(counts, _mm256_set1_epi32(7)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to), words(v));
    }
  };
  for (int c = 0; c < r.channels; c += 8) {
    const int channel = r.channel + c;
    const int32_t* thresholds = t.thresholds(channel / 16 * 16) + channel % 16;
    const __m256i sign = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(t.signs(channel)));
    const int left = r.channels - c;
    const int32_t* acc = r.acc + c;
    T* out = static_cast<T*>(r.out) + c;
    if (left >= 8) {
      for (int64_t p = 0; p < r.pixels; ++p, acc += r.acc_stride, out += r.out_stride) {
        store(count<kSteps>(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc)), sign, thresholds), out);
      }
      continue;
    }
    // The last channels through copies: read and write no channel beyond them.
    for (int64_t p = 0; p < r.pixels; ++p, acc += r.acc_stride, out += r.out_stride) {
      alignas(32) int32_t in[8] = {};
      for (int i = 0; i < left; ++i) in[i] = acc[i];
      alignas(16) T codes[16];
      store(count<kSteps>(_mm256_load_si256(reinterpret_cast<const __m256i*>(in)), sign, thresholds), codes);
      for (int i = 0; i < left; ++i) out[i] = codes[i];
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

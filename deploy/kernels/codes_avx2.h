// The last step of the AVX2 quantisers (acc_quantize_avx2.cpp, act_quantize_avx2.cpp): level indices
// 0..15 in SIMD lanes to codes, by byte shuffles of a 16-entry table, stored over the row ends of a
// run. For files compiled with -mavx2 only, and in an unnamed namespace: each includer gets its own
// copy, so the linker cannot merge one compiled for another instruction set into it
// (deploy/kernels/conv/conv_blocked.h).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "deploy/kernels/layout.h"

namespace apot::deploy {
namespace {

// The codes of indices 0..15: the values' bytes (uint8 codes, values <= 255), or their low and high bytes
// (int16 codes), looked up by byte shuffles.
template <class T>
class Codes {
 public:
  explicit Codes(const int32_t* values) {
    const auto words = [&](int i) {
      return _mm_packs_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(values + i)),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(values + i + 4)));
    };
    if constexpr (sizeof(T) == 1) {
      low_ = _mm_packus_epi16(words(0), words(8));
    } else {
      const __m128i even_odd = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
      const __m128i first = _mm_shuffle_epi8(words(0), even_odd), last = _mm_shuffle_epi8(words(8), even_odd);
      low_ = _mm_unpacklo_epi64(first, last);
      high_ = _mm_unpackhi_epi64(first, last);
    }
  }
  // The codes of the counts in the first n (8 or 16) bytes of `counts`, stored at `to`.
  template <int n>
  void store(__m128i counts, T* to) const {
    const __m128i low = _mm_shuffle_epi8(low_, counts);
    if constexpr (sizeof(T) == 1) {
      if constexpr (n == 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(to), low);
      if constexpr (n == 8) _mm_storel_epi64(reinterpret_cast<__m128i*>(to), low);
    } else {
      const __m128i high = _mm_shuffle_epi8(high_, counts);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(to), _mm_unpacklo_epi8(low, high));
      if constexpr (n == 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(to + 8), _mm_unpackhi_epi8(low, high));
    }
  }

 private:
  __m128i low_, high_ = _mm_setzero_si128();
};

// The codes of consecutive pixels, `stride` elements apart, over the row ends of a quantiser's run
// (RowEnds, deploy/kernels/layout.h): next() after each of its `pixels` pixels.
template <class T>
class CodesCursor {
 public:
  CodesCursor(T* out, int64_t stride, const RowEnds& ends, int64_t pixels)
      : out_(out), stride_(stride), skip_(ends.skip), row_(ends.width > 0 ? ends.width : pixels),
        left_(ends.first > 0 ? ends.first : pixels) {}
  T* get() const { return out_; }
  void next() {
    out_ += stride_;
    if (--left_ == 0) {
      out_ += skip_;
      left_ = row_;
    }
  }

 private:
  T* out_;
  int64_t stride_, skip_, row_, left_;
};

// Counts in int32 or int16 lanes as bytes (the packs saturate nothing: counts are 0..15).
inline __m128i bytes32(__m256i v) {
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  return _mm_packus_epi16(words, words);
}
inline __m128i bytes16(__m256i v) {
  return _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
}

// 16 indices in the int32 lanes of a and b (channel order) as bytes.
inline __m128i bytes32x2(__m256i a, __m256i b) {
  return bytes16(_mm256_permute4x64_epi64(_mm256_packs_epi32(a, b), 0xD8));  // 0xD8: the packs' halves in order
}

}  // namespace
}  // namespace apot::deploy

// AVX2 path of act_quantize_scalar (act_quantize.cpp): eight channels at a time, a branch-free binary
// search over the padded thresholds (in registers up to 16 levels, gathered beyond), the value by one
// more lookup, narrowed and stored; the last channels (fewer than eight) by the same search in scalar
// code. Compiled with -mavx2 -mfma and only called when the CPU reports AVX2.
#include <immintrin.h>

#include "deploy/act_quantize.h"

namespace apot::deploy {

namespace {

// Up to 16 levels (steps <= 4, the 2- to 4-bit activations): the same search with level l's 2^l <= 8
// candidate thresholds in one register, picked by the prefix decided so far in one permute, and the
// values in one or two (ActQuantTable::small_candidates: the prefix is kept complemented, as the
// compares give it directly).
template <int kSteps>
struct SmallSearch {
  __m256i level[kSteps];
  __m256i low, high;  // values of complemented indices 0..7 and 8..15

  explicit SmallSearch(const ActQuantTable& t) {
#pragma GCC unroll 4
    for (int l = 0; l < kSteps; ++l) level[l] = load(t.small_candidates[l]);
    low = load(t.small_values);
    high = load(t.small_values + 8);
  }
  static __m256i load(const int32_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }

  __m256i operator()(__m256i x) const {
    const __m256i first = _mm256_cmpgt_epi32(level[0], x);  // -1 where x is below the middle threshold
    __m256i q = _mm256_sub_epi32(_mm256_setzero_si256(), first);
#pragma GCC unroll 4
    for (int l = 1; l < kSteps; ++l) {
      const __m256i below = _mm256_cmpgt_epi32(_mm256_permutevar8x32_epi32(level[l], q), x);
      q = _mm256_sub_epi32(_mm256_add_epi32(q, q), below);
    }
    const __m256i value = _mm256_permutevar8x32_epi32(low, q);
    if constexpr (kSteps < 4) return value;
    return _mm256_blendv_epi8(value, _mm256_permutevar8x32_epi32(high, q), first);  // q >= 8 where first
  }
};

// Larger tables: the same search through gathers from the padded thresholds and values.
struct WideSearch {
  const ActQuantTable& t;
  explicit WideSearch(const ActQuantTable& table) : t(table) {}
  __m256i operator()(__m256i x) const {
    __m256i index = _mm256_setzero_si256();
    for (int step = 1 << (t.steps - 1); step >= 1; step >>= 1) {
      const __m256i probe =
          _mm256_i32gather_epi32(t.thresholds, _mm256_add_epi32(index, _mm256_set1_epi32(step - 1)), 4);
      // x >= probe is !(probe > x): add the step where the compare is false.
      index = _mm256_add_epi32(index, _mm256_andnot_si256(_mm256_cmpgt_epi32(probe, x), _mm256_set1_epi32(step)));
    }
    return _mm256_i32gather_epi32(t.values, index, 4);
  }
};

// The same search, one element: for the channels after the last full vector.
int32_t quantize_one(const ActQuantTable& t, int32_t x) {
  int index = 0;
  for (int step = 1 << (t.steps - 1); step >= 1; step >>= 1) index += x >= t.thresholds[index + step - 1] ? step : 0;
  return t.values[index];
}

template <class Search, class T>
void quantize(const ActQuantTable& t, const ActQuantRows& r) {
  const Search search(t);
  const int vectors = r.channels / 8 * 8;
  for (int64_t p = 0; p < r.pixels; ++p) {
    const int32_t* in = r.in + p * r.in_stride;
    T* out = static_cast<T*>(r.out) + p * r.out_stride;
    for (int c = 0; c < vectors; c += 8) {
      const __m256i code = search(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + c)));
      // Values are 0..32767: the saturating packs keep them; 0x08 moves the two lanes' halves together.
      const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi32(code, code), 0x08);
      const __m128i codes16 = _mm256_castsi256_si128(packed);
      if constexpr (sizeof(T) == 1) {
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + c), _mm_packus_epi16(codes16, codes16));
      } else {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c), codes16);
      }
    }
    for (int c = vectors; c < r.channels; ++c) out[c] = static_cast<T>(quantize_one(t, in[c]));
  }
}

template <class T>
void quantize_type(const ActQuantTable& t, const ActQuantRows& r) {
  switch (t.steps) {
    case 1:
      return quantize<SmallSearch<1>, T>(t, r);
    case 2:
      return quantize<SmallSearch<2>, T>(t, r);
    case 3:
      return quantize<SmallSearch<3>, T>(t, r);
    case 4:
      return quantize<SmallSearch<4>, T>(t, r);
    default:
      return quantize<WideSearch, T>(t, r);
  }
}

}  // namespace

void act_quantize_avx2(const ActQuantTable& t, const ActQuantRows& r) {
  if (r.type == CodeType::U8) {
    quantize_type<uint8_t>(t, r);
  } else {
    quantize_type<int16_t>(t, r);
  }
}

}  // namespace apot::deploy

// AVX2 path of act_quantize_scalar (act_quantize.cpp): a branch-free binary search over the padded
// thresholds, eight channels per vector. Up to 16 levels the candidates are in registers: the first
// level's threshold broadcast, the second's picked by a blend, the others by a permute, and the values
// looked up by byte shuffles (deploy/kernels/codes_avx2.h), 16 channels at a time (a permute on every level and
// the values by two more and a blend took about 1.6x as long); beyond, gathers. The last channels
// (fewer than eight) by the same search in scalar code. Compiled with -mavx2 -mfma and only called
// when the CPU reports AVX2.
#include <immintrin.h>

#include "deploy/kernels/act_quantize/act_quantize.h"
#include "deploy/kernels/codes_avx2.h"
#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {

namespace {

// Up to 16 levels (steps <= 4, the 2- to 4-bit activations): the same search with the prefix decided so
// far kept complemented, as the compares give it (ActQuantTable::small_candidates): level 0's threshold
// in every lane, level 1's two blended by the first compare, level l's 2^l <= 8 in one register picked
// by one permute. Gives the complemented index, which small_values is ordered by.
template <int kSteps>
struct SmallSearch {
  __m256i middle, upper, lower;  // levels 0 and 1
  __m256i level[kSteps];         // from 2

  explicit SmallSearch(const ActQuantTable& t)
      : middle(_mm256_set1_epi32(t.small_candidates[0][0])),
        upper(_mm256_set1_epi32(t.small_candidates[1][0])),
        lower(_mm256_set1_epi32(t.small_candidates[1][1])) {
#pragma GCC unroll 4
    for (int l = 2; l < kSteps; ++l) {
      level[l] = _mm256_load_si256(reinterpret_cast<const __m256i*>(t.small_candidates[l]));
    }
  }

  __m256i operator()(__m256i x) const {
    const __m256i below = _mm256_cmpgt_epi32(middle, x);  // -1 where x is below the middle threshold
    __m256i q = _mm256_sub_epi32(_mm256_setzero_si256(), below);
    if constexpr (kSteps >= 2) {
      q = _mm256_sub_epi32(_mm256_add_epi32(q, q), _mm256_cmpgt_epi32(_mm256_blendv_epi8(upper, lower, below), x));
    }
#pragma GCC unroll 4
    for (int l = 2; l < kSteps; ++l) {
      const __m256i b = _mm256_cmpgt_epi32(_mm256_permutevar8x32_epi32(level[l], q), x);
      q = _mm256_sub_epi32(_mm256_add_epi32(q, q), b);
    }
    return q;
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

// sixteen(in, out) and eight(in, out) on the channels of every pixel (over the row ends), 16 at a time
// while they last, then 8, then quantize_one for the rest.
template <class T, class F16, class F8>
void for_channels(const ActQuantTable& t, const ActQuantRows& r, F16&& sixteen, F8&& eight) {
  CodesCursor<T> codes(static_cast<T*>(r.out), r.out_stride, r.row_ends, r.pixels);
  for (int64_t p = 0; p < r.pixels; ++p, codes.next()) {
    const int32_t* in = r.in + p * r.in_stride;
    T* out = codes.get();
    int c = 0;
    for (; c + 16 <= r.channels; c += 16) sixteen(in + c, out + c);
    for (; c + 8 <= r.channels; c += 8) eight(in + c, out + c);
    for (; c < r.channels; ++c) out[c] = static_cast<T>(quantize_one(t, in[c]));
  }
}

inline __m256i load(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

template <int kSteps, class T>
void quantize_small(const ActQuantTable& t, const ActQuantRows& r) {
  const SmallSearch<kSteps> search(t);
  const Codes<T> codes(t.small_values);
  for_channels<T>(
      t, r,
      [&](const int32_t* in, T* out) {
        codes.template store<16>(bytes32x2(search(load(in)), search(load(in + 8))), out);
      },
      [&](const int32_t* in, T* out) { codes.template store<8>(bytes32(search(load(in))), out); });
}

template <class T>
void quantize_wide(const ActQuantTable& t, const ActQuantRows& r) {
  const WideSearch search(t);
  const auto eight = [&](const int32_t* in, T* out) {
    // Values are 0..32767: the saturating packs keep them; 0x08 moves the two lanes' halves together.
    const __m256i code = search(load(in));
    const __m128i codes16 = _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packs_epi32(code, code), 0x08));
    if constexpr (sizeof(T) == 1) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packus_epi16(codes16, codes16));
    } else {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), codes16);
    }
  };
  const auto sixteen = [&](const int32_t* in, T* out) {
    eight(in, out);
    eight(in + 8, out + 8);
  };
  for_channels<T>(t, r, sixteen, eight);
}

template <class T>
void quantize_type(const ActQuantTable& t, const ActQuantRows& r) {
  switch (t.steps) {
    case 1:
      return quantize_small<1, T>(t, r);
    case 2:
      return quantize_small<2, T>(t, r);
    case 3:
      return quantize_small<3, T>(t, r);
    case 4:
      return quantize_small<4, T>(t, r);
    default:
      return quantize_wide<T>(t, r);
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

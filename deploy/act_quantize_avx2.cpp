// AVX2 path of act_quantize_scalar (act_quantize.cpp): eight channels at a time, a branch-free binary
// search over the padded thresholds, the value by one more lookup, narrowed and stored; the last
// channels (fewer than eight) by the same search in scalar code. Compiled with -mavx2 -mfma and only
// called when the CPU reports AVX2.
#include <immintrin.h>

#include "deploy/act_quantize.h"

namespace apot::deploy {

namespace {

// Table lookups by lane index: in-register permutes for up to 16 entries, gathers beyond.
struct Lookup8 {
  __m256i table;
  explicit Lookup8(const int32_t* p) : table(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))) {}
  __m256i operator()(__m256i index) const { return _mm256_permutevar8x32_epi32(table, index); }
};

struct Lookup16 {
  __m256i low, high;
  explicit Lookup16(const int32_t* p)
      : low(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))),
        high(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 8))) {}
  __m256i operator()(__m256i index) const {
    const __m256i in_high = _mm256_cmpgt_epi32(index, _mm256_set1_epi32(7));
    return _mm256_blendv_epi8(_mm256_permutevar8x32_epi32(low, index), _mm256_permutevar8x32_epi32(high, index),
                              in_high);
  }
};

struct LookupGather {
  const int32_t* table;
  explicit LookupGather(const int32_t* p) : table(p) {}
  __m256i operator()(__m256i index) const { return _mm256_i32gather_epi32(table, index, 4); }
};

// The same search, one element: for the channels after the last full vector.
int32_t quantize_one(const ActQuantTable& t, int32_t x) {
  int index = 0;
  for (int step = 1 << (t.steps - 1); step >= 1; step >>= 1) index += x >= t.thresholds[index + step - 1] ? step : 0;
  return t.values[index];
}

template <class Lookup, class T>
void quantize(const ActQuantTable& t, const ActQuantRows& r) {
  const Lookup thresholds(t.thresholds), values(t.values);
  const int first_step = 1 << (t.steps - 1);
  const int vectors = r.channels / 8 * 8;
  for (int64_t p = 0; p < r.pixels; ++p) {
    const int32_t* in = r.in + p * r.in_stride;
    T* out = static_cast<T*>(r.out) + p * r.out_stride;
    for (int c = 0; c < vectors; c += 8) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + c));
      __m256i index = _mm256_setzero_si256();
      for (int step = first_step; step >= 1; step >>= 1) {
        const __m256i probe = thresholds(_mm256_add_epi32(index, _mm256_set1_epi32(step - 1)));
        // x >= probe is !(probe > x): add the step where the compare is false.
        index = _mm256_add_epi32(index, _mm256_andnot_si256(_mm256_cmpgt_epi32(probe, x), _mm256_set1_epi32(step)));
      }
      // Values are 0..32767: the saturating packs keep them; 0x08 moves the two lanes' halves together.
      const __m256i code = values(index);
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
  if (t.steps <= 3) {
    quantize<Lookup8, T>(t, r);
  } else if (t.steps == 4) {
    quantize<Lookup16, T>(t, r);
  } else {
    quantize<LookupGather, T>(t, r);
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

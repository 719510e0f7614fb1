// AVX-512 path of act_quantize_scalar (act_quantize.cpp): sixteen channels at a time, a branch-free
// binary search over the padded thresholds unrolled for the table's size. Level l of the search probes
// thresholds[index + step_l - 1] with index a multiple of 2 step_l, so each level keeps its own copy of
// the table offset by step_l - 1 and a probe is one lookup (levels 0 and 1: a constant or a blend of
// two), then a compare and a masked or. The value is one more lookup, narrowed to the codes. Lookups
// are what limits the speed (one shuffle unit), hence the levels without one. Compiled with the AVX-512 flags and only
// called when the CPU reports them.
#include <utility>

#include "deploy/kernels/act_quantize/act_quantize.h"
#include "core/avx512_intrinsics.h"
#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {

namespace {

// Table lookups by lane index: in-register permutes for up to 32 entries, gathers beyond.
struct Lookup16 {
  __m512i table;
  explicit Lookup16(const int32_t* p) : table(_mm512_loadu_si512(p)) {}
  __m512i operator()(__m512i index) const { return _mm512_permutexvar_epi32(index, table); }
};

struct Lookup32 {
  __m512i low, high;
  explicit Lookup32(const int32_t* p) : low(_mm512_loadu_si512(p)), high(_mm512_loadu_si512(p + 16)) {}
  __m512i operator()(__m512i index) const { return _mm512_permutex2var_epi32(low, index, high); }
};

struct LookupGather {
  const int32_t* table;
  explicit LookupGather(const int32_t* p) : table(p) {}
  __m512i operator()(__m512i index) const { return _mm512_i32gather_epi32(index, table, 4); }
};

template <int kSteps, class Lookup>
struct Search {
  static constexpr int kHalf = 1 << (kSteps - 1);
  // Levels 0 and 1 probe one or two fixed thresholds: a broadcast and a blend, no lookup.
  __m512i first, second_low, second_high;
  Lookup probes[kSteps];  // level l >= 2: thresholds from entry 2^(kSteps - 1 - l) - 1 on
  Lookup values;
  explicit Search(const ActQuantTable& t) : Search(t, std::make_integer_sequence<int, kSteps>{}) {}
  template <int... kLevel>
  Search(const ActQuantTable& t, std::integer_sequence<int, kLevel...>)
      : first(_mm512_set1_epi32(t.thresholds[kHalf - 1])),
        second_low(_mm512_set1_epi32(t.thresholds[kHalf / 2 > 0 ? kHalf / 2 - 1 : 0])),
        second_high(_mm512_set1_epi32(t.thresholds[kHalf / 2 > 0 ? kHalf + kHalf / 2 - 1 : 0])),
        probes{Lookup(t.thresholds + (1 << (kSteps - 1 - kLevel)) - 1)...},
        values(t.values) {}
  __m512i operator()(__m512i x) const {
    const __mmask16 upper = _mm512_cmpge_epi32_mask(x, first);
    __m512i index = _mm512_maskz_mov_epi32(upper, _mm512_set1_epi32(kHalf));
    if constexpr (kSteps >= 2) {
      const __m512i probe = _mm512_mask_blend_epi32(upper, second_low, second_high);
      index = _mm512_mask_or_epi32(index, _mm512_cmpge_epi32_mask(x, probe), index, _mm512_set1_epi32(kHalf / 2));
    }
#pragma GCC unroll 8
    for (int l = 2; l < kSteps; ++l) {
      index = _mm512_mask_or_epi32(index, _mm512_cmpge_epi32_mask(x, probes[l](index)), index,
                                   _mm512_set1_epi32(1 << (kSteps - 1 - l)));
    }
    return values(index);
  }
};

template <int kSteps, class Lookup, class T>
void quantize(const ActQuantTable& t, const ActQuantRows& r) {
  const Search<kSteps, Lookup> search(t);
  const int full = r.channels / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (r.channels - full)) - 1);
  for (int64_t p = 0; p < r.pixels; ++p) {
    const int32_t* in = r.in + p * r.in_stride;
    T* out = static_cast<T*>(r.out) + p * r.out_stride;
    for (int c = 0; c < full; c += 16) {
      const __m512i code = search(_mm512_loadu_si512(in + c));
      if constexpr (sizeof(T) == 1) {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c), _mm512_cvtepi32_epi8(code));
      } else {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c), _mm512_cvtepi32_epi16(code));
      }
    }
    if (tail != 0) {
      const __m512i code = search(_mm512_maskz_loadu_epi32(tail, in + full));
      if constexpr (sizeof(T) == 1) {
        _mm512_mask_cvtepi32_storeu_epi8(out + full, tail, code);
      } else {
        _mm512_mask_cvtepi32_storeu_epi16(out + full, tail, code);
      }
    }
  }
}

template <class T>
void quantize_type(const ActQuantTable& t, const ActQuantRows& r) {
  switch (t.steps) {
    case 1:
      quantize<1, Lookup16, T>(t, r);
      return;
    case 2:
      quantize<2, Lookup16, T>(t, r);
      return;
    case 3:
      quantize<3, Lookup16, T>(t, r);
      return;
    case 4:
      quantize<4, Lookup16, T>(t, r);
      return;
    case 5:
      quantize<5, Lookup32, T>(t, r);
      return;
    case 6:
      quantize<6, LookupGather, T>(t, r);
      return;
    case 7:
      quantize<7, LookupGather, T>(t, r);
      return;
    default:
      quantize<8, LookupGather, T>(t, r);
      return;
  }
}

void row(const ActQuantTable& t, const ActQuantRows& r) {
  if (r.type == CodeType::U8) {
    quantize_type<uint8_t>(t, r);
  } else {
    quantize_type<int16_t>(t, r);
  }
}

}  // namespace

void act_quantize_avx512(const ActQuantTable& t, const ActQuantRows& r) { act_quantize_by_rows(row, t, r); }

}  // namespace apot::deploy

// AVX-512 path of acc_quantize_scalar (acc_quantize.cpp): sixteen channels at a time, a binary search
// over each lane's own thresholds. Level l of the search has 2^l candidate thresholds per lane, held in
// registers for the 16 channels; the bits decided so far select one by a tree of 2^l - 1 blends, so the
// search needs no lookup across lanes (the shuffle unit limits the table search of act_quantize_avx512).
// The value is one permute, narrowed to the codes. Channel groups are the outer loop so their
// thresholds are loaded once for all pixels. Compiled with the AVX-512 flags and only called when the
// CPU reports them.
#include "deploy/kernels/acc_quantize/acc_quantize.h"
#include "deploy/kernels/acc_quantize/acc_quantize_dispatch.h"
#include "core/avx512_intrinsics.h"
#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {

namespace {

template <int kSteps>
struct Tree {
  static constexpr int kEntries = (1 << kSteps) - 1;
  __m512i node[kEntries];  // threshold j of each lane
  __mmask16 negative;      // lanes whose multiplier is negative: the search runs on -acc
  __m512i values;

  Tree(const AccQuantTable& t, int channel)
      : negative(_mm512_cmplt_epi32_mask(_mm512_loadu_si512(t.signs(channel)), _mm512_setzero_si512())),
        values(_mm512_loadu_si512(t.act().values)) {
#pragma GCC unroll 16
    for (int j = 0; j < kEntries; ++j) node[j] = _mm512_loadu_si512(t.thresholds(channel) + j * 16);
  }

  // The candidate of level l: node[p x 2 step + step - 1] for the prefix p whose bits (first decided
  // highest) are bit[0 .. l - 1]; the blends consume the last decided bit first.
  template <int kLevel>
  __m512i select(const __mmask16* bit) const {
    constexpr int step = 1 << (kSteps - 1 - kLevel);
    __m512i c[1 << kLevel];
#pragma GCC unroll 8
    for (int p = 0; p < (1 << kLevel); ++p) c[p] = node[p * 2 * step + step - 1];
#pragma GCC unroll 4
    for (int i = kLevel - 1; i >= 0; --i) {
#pragma GCC unroll 8
      for (int q = 0; q < (1 << i); ++q) c[q] = _mm512_mask_blend_epi32(bit[i], c[2 * q], c[2 * q + 1]);
    }
    return c[0];
  }

  template <int kLevel>
  void search(__m512i a, __mmask16* bit, __m512i& index) const {
    if constexpr (kLevel < kSteps) {
      bit[kLevel] = _mm512_cmpgt_epi32_mask(a, select<kLevel>(bit));
      index = _mm512_mask_or_epi32(index, bit[kLevel], index, _mm512_set1_epi32(1 << (kSteps - 1 - kLevel)));
      search<kLevel + 1>(a, bit, index);
    }
  }

  __m512i operator()(__m512i acc) const {
    const __m512i a = _mm512_mask_sub_epi32(acc, negative, _mm512_setzero_si512(), acc);
    __mmask16 bit[kSteps];
    __m512i index = _mm512_setzero_si512();
    search<0>(a, bit, index);
    return _mm512_permutexvar_epi32(index, values);
  }
};

template <int kSteps, class T>
void quantize(const AccQuantTable& t, const AccQuantRows& r) {
  for (int c = 0; c < r.channels; c += 16) {
    const Tree<kSteps> tree(t, r.channel + c);
    const int left = r.channels - c;
    for (int64_t p = 0; p < r.pixels; ++p) {
      const int32_t* acc = r.acc + p * r.acc_stride + c;
      T* out = static_cast<T*>(r.out) + p * r.out_stride + c;
      if (left >= 16) {
        const __m512i code = tree(_mm512_loadu_si512(acc));
        if constexpr (sizeof(T) == 1) {
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_cvtepi32_epi8(code));
        } else {
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi32_epi16(code));
        }
      } else {
        const __mmask16 mask = static_cast<__mmask16>((1u << left) - 1);
        const __m512i code = tree(_mm512_maskz_loadu_epi32(mask, acc));
        if constexpr (sizeof(T) == 1) {
          _mm512_mask_cvtepi32_storeu_epi8(out, mask, code);
        } else {
          _mm512_mask_cvtepi32_storeu_epi16(out, mask, code);
        }
      }
    }
  }
}

struct RowKernel {
  template <int kSteps, class T>
  static void rows(const AccQuantTable& t, const AccQuantRows& r) {
    quantize<kSteps, T>(t, r);
  }
};

void row(const AccQuantTable& t, const AccQuantRows& r) { dispatch_acc_quantize<RowKernel>(t, r); }

}  // namespace

void acc_quantize_avx512(const AccQuantTable& t, const AccQuantRows& r) { acc_quantize_by_rows(row, t, r); }

}  // namespace apot::deploy

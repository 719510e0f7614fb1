// The blocked convolution's AVX2 microkernels (deploy/kernels/conv/conv_blocked.h): 8 output channels per ymm, int16
// codes x int16 weights in pairs by vpmaddwd (two products, exact in int32), or uint8 codes x int8
// weights in pairs by vpmaddubsw, summed in int16 and widened to int32 now and then.
// Compiled with -mavx2 -mfma; only called when the CPU reports AVX2.
#include <immintrin.h>

#include <cstring>

#include "deploy/kernels/conv/conv_blocked_tiles.h"
#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {

namespace {

// 16 ymm registers: 2 x 6 or 1 x 12 accumulators beside the weights and the broadcast; on uint8 codes
// one more holds each product before it is added, so 2 x 6 or 1 x 12 still (int16 sums, the int32 ones in
// memory).
constexpr BlockedTiling kS16Tiling{8, 2, {0, 12, 6, 0, 0}, 2, 2};
constexpr BlockedTiling kU8Tiling{8, 2, {0, 12, 6, 0, 0}, 4, 1};

inline int32_t load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// int16 codes: vpmaddwd multiplies pairs and adds them in int32: the accumulators are the int32 sums.
struct DotS16 {
  using In = int16_t;
  using W = int16_t;
  static constexpr BlockedTiling kTiling = kS16Tiling;
  static constexpr bool kWidens = false;
  static __m256i dot(__m256i acc, __m256i codes, __m256i weights) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(codes, weights));
  }
};

// uint8 codes: vpmaddubsw adds pairs of u8 x s8 products in int16, and the accumulators add those pair
// sums in int16 too, exactly for int16_sums groups (conv_kernel.h, avx2_u8_int16_sums); then they are
// widened, the two int16 lanes of each 32-bit lane added into the int32 sums in memory. One multiply per
// 32 products, where widening every time (vpmaddwd by ones, as vpdpbusd does in one step) takes two.
struct DotU8 {
  using In = uint8_t;
  using W = int8_t;
  static constexpr BlockedTiling kTiling = kU8Tiling;
  static constexpr bool kWidens = true;
  static __m256i dot(__m256i acc, __m256i codes, __m256i weights) {
    return _mm256_add_epi16(acc, _mm256_maddubs_epi16(codes, weights));
  }
  // The two int16 lanes of each 32-bit lane added: vpmaddwd by ones (the ones a memory operand, no
  // register taken from the loop), one instruction where shifts and an add take four.
  static __m256i widen(__m256i acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
};

template <class Dot>
struct Avx2Micro {
  using In = typename Dot::In;
  using W = typename Dot::W;
  static constexpr BlockedTiling kTiling = Dot::kTiling;
  static constexpr int kGroup = kTiling.group;
  static constexpr int kLanes = kTiling.lanes;

  template <int M, int V>
  [[gnu::always_inline]] static void tile(const In* const* rows, const TileTap* taps, int ntaps, int groups,
                                          int int16_sums, const W* weights, int32_t* out) {
    __m256i acc[M][V];
    for_all(acc, out, [](__m256i& a, __m256i*) { a = _mm256_setzero_si256(); });
    const int64_t tap_weights = int64_t{groups} * V * kLanes * kGroup;
    // Groups [g, end) of tap t into the accumulators.
    const auto add_groups = [&](int t, int g, int end) {
      const W* w = weights + taps[t].index * tap_weights + int64_t{g} * V * kLanes * kGroup;
      const int64_t offset = taps[t].offset;
      for (; g < end; ++g) {
        __m256i b[V];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
          b[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + v * kLanes * kGroup));
        }
        w += V * kLanes * kGroup;
#pragma GCC unroll 16
        for (int m = 0; m < M; ++m) {
          const __m256i a = _mm256_set1_epi32(load32(rows[m] + offset + g * kGroup));
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) acc[m][v] = Dot::dot(acc[m][v], a, b[v]);
        }
      }
    };
    if (!Dot::kWidens || int16_sums >= int64_t{ntaps} * groups) {
      // The whole reduction without widening (int32 accumulators, or int16 sums that cannot overflow):
      // no bookkeeping per tap.
      for (int t = 0; t < ntaps; ++t) add_groups(t, 0, groups);
      if constexpr (Dot::kWidens) {
        widen(acc, out, false);
      } else {
        for_all(acc, out, [](__m256i& a, __m256i* o) { _mm256_store_si256(o, a); });
      }
      return;
    }
    if constexpr (Dot::kWidens) {  // widened every int16_sums groups, wherever they fall
      int left = int16_sums;
      bool widened = false;
      for (int t = 0; t < ntaps; ++t) {
        for (int g = 0; g < groups;) {
          const int end = groups - g < left ? groups : g + left;
          add_groups(t, g, end);
          left -= end - g;
          g = end;
          if (left == 0) {
            widen(acc, out, widened);
            widened = true;
            left = int16_sums;
          }
        }
      }
      widen(acc, out, widened);
    }
  }

  // f(accumulator, its int32 sums in out) for each of the tile's M x V vectors.
  template <int M, int V, class F>
  static void for_all(__m256i (&acc)[M][V], int32_t* out, F&& f) {
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) f(acc[m][v], reinterpret_cast<__m256i*>(out + (m * V + v) * kLanes));
    }
  }

  // The int16 sums widened into the int32 ones in out (added to them if `add`), and started again.
  template <int M, int V>
  static void widen(__m256i (&acc)[M][V], int32_t* out, bool add) {
    for_all(acc, out, [add](__m256i& a, __m256i* o) {
      const __m256i sums = Dot::widen(a);
      _mm256_store_si256(o, add ? _mm256_add_epi32(_mm256_load_si256(o), sums) : sums);
      a = _mm256_setzero_si256();
    });
  }

  static void requant(const RequantView& rq, const RequantRows& r) { requant_rows_avx2(rq, r); }
  static void act_quantize(const ActQuantTable& t, const ActQuantRows& r) { act_quantize_avx2(t, r); }
  static constexpr bool kAccQuant = true;
  static void acc_quantize(const AccQuantTable& t, const AccQuantRows& r) { acc_quantize_avx2(t, r); }
};

}  // namespace

extern const BlockedConvIsa conv_u8_avx2{kU8Tiling, TileLoop<Avx2Micro<DotU8>>::run, TileLoop<Avx2Micro<DotU8>>::span,
                                         true};
extern const BlockedConvIsa conv_s16_avx2{kS16Tiling, TileLoop<Avx2Micro<DotS16>>::run,
                                          TileLoop<Avx2Micro<DotS16>>::span, false};

}  // namespace apot::deploy

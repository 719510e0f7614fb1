// The blocked convolution's AVX-512 VNNI microkernels (deploy/kernels/conv/conv_blocked.h): 16 output channels per
// zmm, u8 x s8 quads by vpdpbusd where the codes are uint8 (4-bit activations: no saturation, the
// products add in int32) and int16 pairs by vpdpwssd elsewhere (the input codes, 8-bit activations).
// Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni; only called when the CPU reports them.
#include <cstring>

#include "core/avx512_intrinsics.h"
#include "deploy/kernels/conv/conv_blocked_tiles.h"
#include "deploy/kernels/kernel_table.h"

namespace apot::deploy {

namespace {

// 32 zmm registers: up to 24 accumulators.
constexpr BlockedTiling kU8Tiling{16, 4, {0, 16, 12, 8, 6}, 4, 1};
constexpr BlockedTiling kS16Tiling{16, 4, {0, 16, 12, 8, 6}, 2, 2};

inline int32_t load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct DotU8 {
  using In = uint8_t;
  using W = int8_t;
  static constexpr BlockedTiling kTiling = kU8Tiling;
  static __m512i dot(__m512i acc, __m512i codes, __m512i weights) { return _mm512_dpbusd_epi32(acc, codes, weights); }
};

struct DotS16 {
  using In = int16_t;
  using W = int16_t;
  static constexpr BlockedTiling kTiling = kS16Tiling;
  static __m512i dot(__m512i acc, __m512i codes, __m512i weights) { return _mm512_dpwssd_epi32(acc, codes, weights); }
};

template <class Dot>
struct Avx512Micro {
  using In = typename Dot::In;
  using W = typename Dot::W;
  static constexpr BlockedTiling kTiling = Dot::kTiling;
  static constexpr int kGroup = kTiling.group;
  static constexpr int kLanes = kTiling.lanes;

  template <int M, int V>
  [[gnu::always_inline]] static void tile(const In* const* rows, const TileTap* taps, int ntaps, int groups,
                                          int /*int16_sums*/, const W* weights, int32_t* out) {
    __m512i acc[M][V];
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[m][v] = _mm512_setzero_si512();
    }
    const int64_t tap_weights = int64_t{groups} * V * kLanes * kGroup;
    for (int t = 0; t < ntaps; ++t) {
      const W* w = weights + taps[t].index * tap_weights;
      const In* r[M];
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) r[m] = rows[m] + taps[t].offset;
      for (int g = 0; g < groups * kGroup; g += kGroup) {
        __m512i b[V];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) b[v] = _mm512_loadu_si512(w + v * kLanes * kGroup);
        w += V * kLanes * kGroup;
#pragma GCC unroll 16
        for (int m = 0; m < M; ++m) {
          const __m512i a = _mm512_set1_epi32(load32(r[m] + g));
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) acc[m][v] = Dot::dot(acc[m][v], a, b[v]);
        }
      }
    }
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) _mm512_store_si512(out + (m * V + v) * kLanes, acc[m][v]);
    }
  }

  static void requant(const RequantView& rq, const RequantRows& r) { requant_rows_avx512(rq, r); }
  static void act_quantize(const ActQuantTable& t, const ActQuantRows& r) { act_quantize_avx512(t, r); }
  static constexpr bool kAccQuant = true;
  static void acc_quantize(const AccQuantTable& t, const AccQuantRows& r) { acc_quantize_avx512(t, r); }
};

}  // namespace

extern const BlockedConvIsa conv_u8_avx512{kU8Tiling, TileLoop<Avx512Micro<DotU8>>::run,
                                           TileLoop<Avx512Micro<DotU8>>::span, false};
extern const BlockedConvIsa conv_s16_avx512{kS16Tiling, TileLoop<Avx512Micro<DotS16>>::run,
                                            TileLoop<Avx512Micro<DotS16>>::span, false};

}  // namespace apot::deploy

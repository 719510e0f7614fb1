// The blocked convolution's AVX2 microkernel (deploy/conv_blocked.h): 8 output channels per ymm, int16
// codes x int16 weights in pairs by vpmaddwd (two products, exact in int32) and vpaddd into the
// accumulators. Compiled with -mavx2 -mfma; only called when the CPU reports AVX2.
#include <immintrin.h>

#include <cstring>

#include "deploy/conv_blocked_tiles.h"

namespace apot::deploy {

namespace {

inline int32_t load32(const void* p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

struct Avx2Micro {
  using In = int16_t;
  using W = int16_t;
  static constexpr BlockedTiling kTiling = kAvx2S16Tiling;
  static constexpr int kGroup = kTiling.group;
  static constexpr int kLanes = kTiling.lanes;

  template <int M, int V>
  static void tile(const In* const* rows, const TileTap* taps, int ntaps, int groups, const W* weights, int32_t* out) {
    __m256i acc[M][V];
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[m][v] = _mm256_setzero_si256();
    }
    const int64_t tap_weights = int64_t{groups} * V * kLanes * kGroup;
    for (int t = 0; t < ntaps; ++t) {
      const W* w = weights + taps[t].index * tap_weights;
      const In* r[M];
#pragma GCC unroll 16
      for (int m = 0; m < M; ++m) r[m] = rows[m] + taps[t].offset;
      for (int g = 0; g < groups * kGroup; g += kGroup) {
        __m256i b[V];
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v)
          b[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + v * kLanes * kGroup));
        w += V * kLanes * kGroup;
#pragma GCC unroll 16
        for (int m = 0; m < M; ++m) {
          const __m256i a = _mm256_set1_epi32(load32(r[m] + g));
#pragma GCC unroll 4
          for (int v = 0; v < V; ++v) acc[m][v] = _mm256_add_epi32(acc[m][v], _mm256_madd_epi16(a, b[v]));
        }
      }
    }
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) _mm256_store_si256(reinterpret_cast<__m256i*>(out + (m * V + v) * kLanes), acc[m][v]);
    }
  }

  static void requant(const RequantView& rq, const RequantRows& r) { requant_rows_avx2(rq, r); }
  static void act_quantize(const ActQuantTable& t, const ActQuantRows& r) { act_quantize_avx2(t, r); }
  static constexpr bool kAccQuant = false;  // no AVX2 acc_quantize: the two steps
};

}  // namespace

void conv_blocked_avx2_s16(const BlockedConvArgs& a, int64_t begin, int64_t end) {
  TileLoop<Avx2Micro>::run(a, begin, end);
}

}  // namespace apot::deploy

// The adder layer's loops (core/adder.h), written once over a vector type V and instantiated per
// instruction set by adder.cpp (scalar), adder_avx2.cpp and adder_avx512.cpp. A lane is one output
// position (forward, input gradient) or one output channel (weight gradient), and every lane sums its
// terms in the scalar order, so all widths give the same bits; positions or channels left over after the
// last whole vector run the same loops one lane wide. Everything here has internal linkage: each instruction set's file
// gets its own copy, compiled for it alone.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/adder.h"

namespace apot::adder_detail {

// The kernels read a rows x L matrix of one image (its patches, rows = taps; its output gradient, rows =
// output channels) with a row stride `ld` >= L (row_stride): a vector of positions takes one element of
// each row, and rows exactly 4 KiB apart would all fall into one set of the L1 cache.
int64_t row_stride(int64_t L);

// One instruction set's loops over one image.
struct AdderKernels {
  // y[t][p] = -sum_k |cols[k][p] - w[t][k]|; cols K x L, row stride ld.
  void (*forward)(const AdderShape& s, const float* cols, int64_t ld, const float* w, float* y);
  // grad_cols[k][p] = sum_t HardTanh(w[t][k] - cols[k][p]) g[t][p] (InputVector: computed as sum_t clamp(w[t][k],
  // cols - 1, cols + 1) g[t][p] - cols sum_t g[t][p]); cols, grad_cols K x L and g out_channels x
  // L, all with row stride ld.
  void (*input_cols)(const AdderShape& s, const float* cols, int64_t ld, const float* w, const float* g,
                     float* grad_cols);
  // sums[k][t] (+)= sum_p cols[k][p] g[p][t] for t in [begin, end) (Eq. 5's first term; core/adder.cpp
  // subtracts W(t, k) sum g); cols K x L of row stride ld, g the output gradient transposed (L x
  // out_channels), sums K x out_channels; first: = instead of +=.
  void (*weight_grad)(const AdderShape& s, const float* cols, int64_t ld, const float* g, float* sums,
                      int64_t begin, int64_t end, bool first);
};

namespace {

struct ScalarVec {
  static constexpr int64_t width = 1;
  float v;
  static ScalarVec load(const float* p) { return {*p}; }
  static ScalarVec broadcast(float f) { return {f}; }
  static ScalarVec zero() { return {0.0f}; }
  void store(float* p) const { *p = v; }
  friend ScalarVec operator+(ScalarVec a, ScalarVec b) { return {a.v + b.v}; }
  friend ScalarVec operator-(ScalarVec a, ScalarVec b) { return {a.v - b.v}; }
  friend ScalarVec operator*(ScalarVec a, ScalarVec b) { return {a.v * b.v}; }
  friend ScalarVec fma(ScalarVec a, ScalarVec b, ScalarVec c) { return {std::fma(a.v, b.v, c.v)}; }
  friend ScalarVec abs(ScalarVec a) { return {std::fabs(a.v)}; }
  // max(a, low), then min(., high), as core/float_vec.h's SIMD forms, whose max(a, b) is a > b ? a : b and
  // min(a, b) a < b ? a : b.
  friend ScalarVec clamp(ScalarVec a, ScalarVec low, ScalarVec high) {
    const float above = a.v > low.v ? a.v : low.v;
    return {above < high.v ? above : high.v};
  }
};

// Calls f.run<V>(p) for every first position p of a vector: whole vectors V wide, then the positions
// left one lane wide (ScalarVec).
template <class V, class F>
void for_each_vector(int64_t L, const F& f) {
  const int64_t whole = L - L % V::width;
  for (int64_t p = 0; p < whole; p += V::width) f.template run<V>(p);
  for (int64_t p = whole; p < L; ++p) f.template run<ScalarVec>(p);
}

// One vector of positions: every output channel, 8 (independent sums in flight) at a time.
struct ForwardVector {
  const AdderShape& s;
  const float* cols;
  int64_t ld;
  const float* w;
  float* y;

  template <class V, int T>
  void channels(int64_t t, int64_t p) const {
    const int64_t K = s.taps(), L = s.positions();
    V acc[T];
    for (int i = 0; i < T; ++i) acc[i] = V::zero();
    for (int64_t k = 0; k < K; ++k) {
      const V x = V::load(cols + k * ld + p);
      for (int i = 0; i < T; ++i) acc[i] = acc[i] + abs(x - V::broadcast(w[(t + i) * K + k]));
    }
    for (int i = 0; i < T; ++i) (V::zero() - acc[i]).store(y + (t + i) * L + p);
  }

  template <class V>
  void run(int64_t p) const {
    constexpr int kChannels = 8;
    int64_t t = 0;
    for (; t + kChannels <= s.out_channels; t += kChannels) channels<V, kChannels>(t, p);
    for (; t < s.out_channels; ++t) channels<V, 1>(t, p);
  }
};

template <class V>
void forward(const AdderShape& s, const float* cols, int64_t ld, const float* w, float* y) {
  for_each_vector<V>(s.positions(), ForwardVector{s, cols, ld, w, y});
}

// One vector of positions: every tap, 4 at a time, each summed over every output channel, as
// sum_t clamp(w, x - 1, x + 1) g - x sum_t g (= sum_t HardTanh(w - x) g): three operations a term.
struct InputVector {
  const AdderShape& s;
  const float* cols;
  int64_t ld;
  const float* w;
  const float* g;
  float* grad_cols;

  template <class V, int T>
  void taps(int64_t k, int64_t p, V g_sum) const {
    const int64_t K = s.taps();
    const V one = V::broadcast(1.0f);
    V x[T], low[T], high[T], acc[T];
    for (int i = 0; i < T; ++i) {
      x[i] = V::load(cols + (k + i) * ld + p);
      low[i] = x[i] - one;
      high[i] = x[i] + one;
      acc[i] = V::zero();
    }
    for (int64_t t = 0; t < s.out_channels; ++t) {
      const V gv = V::load(g + t * ld + p);
      for (int i = 0; i < T; ++i) acc[i] = fma(clamp(V::broadcast(w[t * K + k + i]), low[i], high[i]), gv, acc[i]);
    }
    for (int i = 0; i < T; ++i) fma(V::zero() - x[i], g_sum, acc[i]).store(grad_cols + (k + i) * ld + p);
  }

  template <class V>
  void run(int64_t p) const {
    constexpr int kTaps = 4;
    const int64_t K = s.taps();
    V g_sum = V::zero();
    for (int64_t t = 0; t < s.out_channels; ++t) g_sum = g_sum + V::load(g + t * ld + p);
    int64_t k = 0;
    for (; k + kTaps <= K; k += kTaps) taps<V, kTaps>(k, p, g_sum);
    for (; k < K; ++k) taps<V, 1>(k, p, g_sum);
  }
};

template <class V>
void input_cols(const AdderShape& s, const float* cols, int64_t ld, const float* w, const float* g, float* grad_cols) {
  for_each_vector<V>(s.positions(), InputVector{s, cols, ld, w, g, grad_cols});
}

// T taps x one vector of output channels, over every position of one image.
template <class V, int T>
void weight_block(const AdderShape& s, const float* cols, int64_t ld, const float* g, float* sums, int64_t k,
                  int64_t t, bool first) {
  const int64_t C = s.out_channels, L = s.positions();
  V acc[T];
  for (int i = 0; i < T; ++i) acc[i] = first ? V::zero() : V::load(sums + (k + i) * C + t);
  for (int64_t p = 0; p < L; ++p) {
    const V gv = V::load(g + p * C + t);
    for (int i = 0; i < T; ++i) acc[i] = fma(V::broadcast(cols[(k + i) * ld + p]), gv, acc[i]);
  }
  for (int i = 0; i < T; ++i) acc[i].store(sums + (k + i) * C + t);
}

template <class V, int T>
void weight_channels(const AdderShape& s, const float* cols, int64_t ld, const float* g, float* sums, int64_t k,
                     int64_t begin, int64_t end, bool first) {
  int64_t t = begin;
  for (; t + V::width <= end; t += V::width) weight_block<V, T>(s, cols, ld, g, sums, k, t, first);
  for (; t < end; ++t) weight_block<ScalarVec, T>(s, cols, ld, g, sums, k, t, first);
}

template <class V>
void weight_grad(const AdderShape& s, const float* cols, int64_t ld, const float* g, float* sums, int64_t begin,
                 int64_t end, bool first) {
  constexpr int kTaps = 4;
  const int64_t K = s.taps();
  int64_t k = 0;
  for (; k + kTaps <= K; k += kTaps) weight_channels<V, kTaps>(s, cols, ld, g, sums, k, begin, end, first);
  for (; k < K; ++k) weight_channels<V, 1>(s, cols, ld, g, sums, k, begin, end, first);
}

template <class V>
constexpr AdderKernels kernels_for() {
  return {&forward<V>, &input_cols<V>, &weight_grad<V>};
}

}  // namespace

// Each instruction set's kernels (adder.cpp, adder_avx2.cpp, adder_avx512.cpp).
extern const AdderKernels kAdderScalar, kAdderAvx2, kAdderAvx512;

}  // namespace apot::adder_detail

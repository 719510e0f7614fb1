// Nearest-level projection with clipping, the forward pass of RCF (paper Eq. 7):
//   out = alpha * Proj_Q(1,b)( clip(x / alpha) ),
// clip to [-1, 1] for signed sets and [0, 1] for unsigned ones.
//
// Rules, the same in every kernel, bit for bit:
// - Ties: x goes to the upper level of two neighbours a < b iff |x| / alpha >= the float midpoint of a and b
//   (exact for the dyadic APoT, PoT and uniform sets), so an exact midpoint goes to the larger magnitude.
// - Zero keeps no sign: small negative inputs give +0.
// - +-Inf are clipped like any value out of range; NaN is an error (std::domain_error naming the index),
//   since no level is nearest to it. On error the output is unspecified.
// Cost: O(log L) per element, a branch-free binary search over the midpoints; no per-level temporaries.
#pragma once

#include <cstddef>
#include <vector>

#include "core/cpu_features.h"
#include "core/levels.h"

namespace apot {

// Tables shared by the kernels: magnitudes and midpoints as floats, padded to a power of two.
struct ProjectionTables {
  bool is_signed = false;
  int steps = 0;                    // log2 of the padded size
  std::vector<float> magnitudes;    // 2^steps entries, ascending, padded with the largest
  std::vector<float> thresholds;    // 2^steps entries: the midpoints, padded with +inf
};

// The same tables moved into the input's domain for one alpha, so the fast kernels need no division:
// thresholds[j] is the smallest float x with fl(x / alpha) >= the midpoint j (hence x goes up iff
// |x| >= thresholds[j], exactly as the reference decides), levels[j] = fl(magnitude j * alpha).
struct ScaledTables {
  static constexpr size_t kMaxEntries = 256;
  bool is_signed = false;
  int steps = 0;
  float thresholds[kMaxEntries];
  float levels[kMaxEntries];
};
void scale_tables(const ProjectionTables& t, float alpha, ScaledTables* scaled);

// Where the decision between two neighbouring levels lies.
enum class Midpoints {
  // The midpoint of the exact levels, rounded to float: the nearest level in exact arithmetic.
  Exact,
  // The decision a float32 argmin over float32-rounded levels makes, as the public reference
  // implementation's projection does: the exact midpoint of the two float levels, rounded up to a float
  // when it is not one; an exact tie with the level 0 goes to 0 (the reference lists 0 first). It differs
  // from Exact only where the set's levels are not floats (normalised by a non-power of two).
  Float32Argmin,
};

class Projector {
 public:
  // Throws std::invalid_argument when two levels of the set are one value in float (APoT with a large k,
  // whose levels span more than float's 24 bits) or a midpoint is below the normal float range (PoT with
  // 7 or more magnitude bits).
  explicit Projector(const LevelSet& set, Midpoints midpoints = Midpoints::Exact);

  // alpha must be finite and > 0 (std::invalid_argument otherwise). in and out may alias.
  void project(const float* in, float* out, size_t n, float alpha = 1.0f) const {
    project(in, out, n, alpha, best_isa());
  }
  void project(const float* in, float* out, size_t n, float alpha, Isa isa) const;

  // The projection prepared for one alpha and kernel family, so that callers that split an array between
  // threads scale the tables once. Throws like project() for a bad alpha or an unsupported isa.
  class Prepared {
   public:
    // Projects n elements; returns the index of the first NaN, or n when there is none (then the output
    // is unspecified).
    size_t run(const float* in, float* out, size_t n) const;

   private:
    friend class Projector;
    const ProjectionTables* tables_ = nullptr;
    float alpha_ = 1.0f;
    Isa isa_ = Isa::Scalar;
    ScaledTables scaled_;
  };
  Prepared prepare(float alpha, Isa isa) const;
  Prepared prepare(float alpha) const { return prepare(alpha, best_isa()); }

  const ProjectionTables& tables() const { return tables_; }

 private:
  ProjectionTables tables_;
};

// The kernels behind Projector; exposed for tests and benchmarks. `first_nan` receives the index of the
// first NaN, or n when there is none.
void project_scalar(const ProjectionTables& t, const float* in, float* out, size_t n, float alpha,
                    size_t* first_nan);
void project_avx2(const ScaledTables& t, const float* in, float* out, size_t n, size_t* first_nan);

}  // namespace apot

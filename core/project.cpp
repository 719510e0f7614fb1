#include "core/project.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace apot {

Projector::Projector(const LevelSet& set, Midpoints midpoints) {
  const auto& mags = set.magnitudes();
  tables_.is_signed = set.is_signed();
  while ((size_t{1} << tables_.steps) < mags.size()) ++tables_.steps;
  const size_t padded = size_t{1} << tables_.steps;
  for (const Level& l : mags) tables_.magnitudes.push_back(static_cast<float>(l.value));
  tables_.magnitudes.resize(padded, tables_.magnitudes.back());
  for (size_t i = 0; i + 1 < mags.size(); ++i) {
    if (!(tables_.magnitudes[i] < tables_.magnitudes[i + 1])) {
      throw std::invalid_argument(fmt::format(
          "level set '{}' has levels {} and {} that are one value in float: float projection cannot keep "
          "them apart (use a smaller k or fewer bits)",
          set.describe(), mags[i].value, mags[i + 1].value));
    }
    float mid = static_cast<float>((mags[i].value + mags[i + 1].value) / 2);
    if (midpoints == Midpoints::Float32Argmin) {
      const float lo = tables_.magnitudes[i], hi = tables_.magnitudes[i + 1];
      const double exact = (static_cast<double>(lo) + static_cast<double>(hi)) / 2;  // exact in double
      mid = static_cast<float>(exact);
      if (static_cast<double>(mid) < exact || (static_cast<double>(mid) == exact && lo == 0.0f)) {
        mid = std::nextafter(mid, std::numeric_limits<float>::infinity());
      }
    }
    if (mid < FLT_MIN) {
      throw std::invalid_argument(fmt::format(
          "level set '{}' has levels down to {:g}, below the normal float range: float projection "
          "cannot keep them apart (use fewer bits or another scheme)",
          set.describe(), mags[1].value));
    }
    tables_.thresholds.push_back(mid);
  }
  tables_.thresholds.resize(padded, std::numeric_limits<float>::infinity());
}

namespace {

// The instruction sets the projection is written for (project_scalar, project_avx2).
constexpr Isa kProjectKernels[] = {Isa::Scalar, Isa::Avx2};

}  // namespace

Projector::Prepared Projector::prepare(float alpha, Isa isa) const {
  if (!(alpha > 0) || !std::isfinite(alpha)) {
    throw std::invalid_argument(fmt::format("clipping threshold alpha = {} is invalid: expected finite > 0", alpha));
  }
  if (!cpu_supports(isa)) throw std::runtime_error(fmt::format("the {} kernel needs a CPU that supports it", to_string(isa)));
  Prepared p;
  p.tables_ = &tables_;
  p.alpha_ = alpha;
  p.isa_ = highest_written(kProjectKernels, isa);
  if (p.isa_ == Isa::Avx2) scale_tables(tables_, alpha, &p.scaled_);
  return p;
}

size_t Projector::Prepared::run(const float* in, float* out, size_t n) const {
  size_t first_nan = n;
  if (isa_ == Isa::Avx2) {
    project_avx2(scaled_, in, out, n, &first_nan);
  } else {
    project_scalar(*tables_, in, out, n, alpha_, &first_nan);
  }
  return first_nan;
}

void Projector::project(const float* in, float* out, size_t n, float alpha, Isa isa) const {
  const size_t first_nan = prepare(alpha, isa).run(in, out, n);
  if (first_nan < n) {
    throw std::domain_error(fmt::format("cannot quantise NaN (element {} of {})", first_nan, n));
  }
}

void scale_tables(const ProjectionTables& t, float alpha, ScaledTables* scaled) {
  const size_t entries = t.magnitudes.size();
  scaled->is_signed = t.is_signed;
  scaled->steps = t.steps;
  // Padding up to the 16 entries the in-register lookups load; never selected.
  for (size_t j = entries; j < 16; ++j) {
    scaled->thresholds[j] = std::numeric_limits<float>::infinity();
    scaled->levels[j] = 0.0f;
  }
  for (size_t j = 0; j < entries; ++j) {
    scaled->levels[j] = t.magnitudes[j] * alpha;
    const float mid = t.thresholds[j];
    if (!std::isfinite(mid)) {
      scaled->thresholds[j] = mid;
      continue;
    }
    // fl(x / alpha) is monotone in x: walk from fl(mid * alpha) to the first x that reaches mid.
    const float inf = std::numeric_limits<float>::infinity();
    float x = mid * alpha;
    if (x / alpha >= mid) {
      for (float below = std::nextafter(x, -inf); below / alpha >= mid; below = std::nextafter(x, -inf)) x = below;
    } else {
      do x = std::nextafter(x, inf);
      while (!(x / alpha >= mid));
    }
    scaled->thresholds[j] = x;
  }
}

// The reference: one element at a time, written for clarity.
void project_scalar(const ProjectionTables& t, const float* in, float* out, size_t n, float alpha,
                    size_t* first_nan) {
  const auto thresholds_end = t.thresholds.begin() + static_cast<long>(t.thresholds.size());
  for (size_t i = 0; i < n; ++i) {
    const float x = in[i];
    if (std::isnan(x)) {
      *first_nan = i;
      return;
    }
    const float y = x / alpha;
    float a = t.is_signed ? std::fabs(y) : y;
    a = std::min(std::max(a, 0.0f), 1.0f);
    // Number of midpoints <= a: the index of the nearest level, ties upward.
    const size_t index = static_cast<size_t>(std::upper_bound(t.thresholds.begin(), thresholds_end, a) -
                                             t.thresholds.begin());
    float q = t.magnitudes[index];
    if (t.is_signed && std::signbit(y) && index > 0) q = -q;
    out[i] = q * alpha;
  }
}

}  // namespace apot

#include "core/adder_quant.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>

#include "core/kmeans.h"

namespace apot {

std::string_view to_string(AdderPtqMethod method) {
  return method == AdderPtqMethod::Redistribution ? "redistribution" : "shared-scale";
}

AdderPtqMethod parse_adder_ptq_method(std::string_view name) {
  for (AdderPtqMethod m : {AdderPtqMethod::Redistribution, AdderPtqMethod::SharedScale}) {
    if (name == to_string(m)) return m;
  }
  throw std::invalid_argument(fmt::format("unknown adder quantisation method '{}': expected redistribution | shared-scale", name));
}

AdderLayerQuant plan_adder_quant(const float* w, int64_t out_channels, int64_t taps, float input_range, int bits,
                                 AdderPtqMethod method, int groups, uint64_t seed) {
  if (bits < 2 || bits > kMaxAdderBits) {
    throw std::invalid_argument(fmt::format("adder quantisation: {} bits, expected 2..{}", bits, kMaxAdderBits));
  }
  if (groups < 1) throw std::invalid_argument(fmt::format("adder quantisation: {} groups, expected >= 1", groups));
  if (!(input_range > 0) || !std::isfinite(input_range)) {
    throw std::invalid_argument(fmt::format("adder quantisation: input range {}, expected positive and finite", input_range));
  }
  if (out_channels < 1 || taps < 1) {
    throw std::invalid_argument(fmt::format("adder quantisation: weights of {} x {}, expected at least one", out_channels, taps));
  }
  std::vector<double> kernel_max(static_cast<size_t>(out_channels), 0.0);
  for (int64_t t = 0; t < out_channels; ++t) {
    for (int64_t k = 0; k < taps; ++k) {
      const float v = w[t * taps + k];
      if (!std::isfinite(v)) throw std::invalid_argument(fmt::format("adder quantisation: weight [{}][{}] is {}", t, k, v));
      kernel_max[static_cast<size_t>(t)] = std::max(kernel_max[static_cast<size_t>(t)], static_cast<double>(std::fabs(v)));
    }
  }

  AdderLayerQuant q;
  q.bits = bits;
  q.input_range = input_range;
  q.group.assign(static_cast<size_t>(out_channels), 0);
  q.bias.assign(static_cast<size_t>(out_channels), 0.0f);
  const double all_max = *std::max_element(kernel_max.begin(), kernel_max.end());
  if (method == AdderPtqMethod::SharedScale) {
    q.group_scale = {static_cast<float>(std::max(all_max, static_cast<double>(input_range)))};
    return q;
  }

  // Section b, steps 3-4: k-means groups on the kernels' max |w|; each group's scale is its max |w|,
  // capped at the input range, where its weights are clamped and the rest becomes the bias.
  const int distinct = static_cast<int>(std::set<double>(kernel_max.begin(), kernel_max.end()).size());
  const KMeans1d clusters = kmeans_1d(kernel_max, std::min(groups, distinct), seed);
  q.group = clusters.group;
  std::vector<double> group_max(clusters.centers.size(), 0.0);
  for (size_t t = 0; t < kernel_max.size(); ++t) {
    group_max[static_cast<size_t>(q.group[t])] = std::max(group_max[static_cast<size_t>(q.group[t])], kernel_max[t]);
  }
  for (double m : group_max) q.group_scale.push_back(static_cast<float>(std::min(m, static_cast<double>(input_range))));
  for (int64_t t = 0; t < out_channels; ++t) {
    const float s = q.group_scale[static_cast<size_t>(q.group[static_cast<size_t>(t)])];
    double clamped = 0;
    for (int64_t k = 0; k < taps; ++k) clamped += std::max(std::fabs(w[t * taps + k]) - s, 0.0f);
    q.bias[static_cast<size_t>(t)] = static_cast<float>(-clamped);
  }
  return q;
}

int32_t adder_act_code(float x, float scale, int bits) {
  const float levels = static_cast<float>((1 << bits) - 1);
  const float a = std::nearbyint(x * (levels / scale));
  return static_cast<int32_t>(std::clamp(a, 0.0f, levels));
}

int32_t adder_weight_code(float w, float scale, int bits) {
  const float levels = static_cast<float>((1 << bits) - 1);
  const float half = static_cast<float>(1 << (bits - 1));
  const float q = std::nearbyint(w * (levels / scale * 0.5f));
  return 2 * static_cast<int32_t>(std::clamp(q, -half, half - 1));
}

float abs_percentile(const float* x, size_t n, double p) {
  if (n == 0) throw std::invalid_argument("input range: no values");
  if (!(p > 0 && p <= 1)) throw std::invalid_argument(fmt::format("input range: percentile {}, expected in (0, 1]", p));
  std::vector<float> a(n);
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) throw std::invalid_argument(fmt::format("input range: value {} is {}", i, x[i]));
    a[i] = std::fabs(x[i]);
  }
  const double rank = (std::round(static_cast<double>(n) * p) - 1) * p;
  const size_t index = std::min(n - 1, static_cast<size_t>(std::max(0.0, rank)));
  std::nth_element(a.begin(), a.begin() + static_cast<long>(index), a.end());
  return a[index];
}

}  // namespace apot

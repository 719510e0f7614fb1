// Post-training quantisation of an adder layer (Nie et al., NeurIPS 2022, "Redistribution of Weights and
// Activations for AdderNet Quantization", as its official code implements it; ../shared/papers/
// addernet-digest.md, section b), and the older shared-scale method it improves on.
//
// |s_x x - s_w w| is one scale times an integer only when the two steps agree, so the weights and the
// inputs a kernel meets share one scale s: inputs take 2^b - 1 steps of s / (2^b - 1) on [0, s] (unsigned:
// adder layers follow ReLU), weights 2^b signed steps of twice that on [-s, s), and
// |x_hat - w_hat| = s / (2^b - 1) * |a - 2 q| with integer codes a and q.
//
// Redistribution (digest b, steps 2-5): the output kernels are grouped by 1-D k-means on their max |w|,
// and each group g takes s_g = min(M_g, alpha), M_g the group's max |w| and alpha the layer's input range
// (an outlier-clamped percentile, adder_input_range). Weights beyond alpha are clamped losslessly: for
// every x in [-alpha, alpha], |x - w| = |x - clamp(w, -alpha, alpha)| + max(|w| - alpha, 0), so the
// clamped part is a per-channel constant added to the output (the bias). A group whose kernels all lie
// inside alpha clips its inputs at s_g = M_g instead, as the official code does.
//
// Shared-scale (the baseline; Wang et al. 2021 as the paper describes it, one scale per layer for weights
// and activations): s = max(max |W|, alpha), nothing clamped but the inputs beyond s. The exact rule of
// that paper was not read: this is the one scale that covers both operands.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace apot {

enum class AdderPtqMethod { Redistribution, SharedScale };
std::string_view to_string(AdderPtqMethod method);
// "redistribution" | "shared-scale"; throws std::invalid_argument listing them.
AdderPtqMethod parse_adder_ptq_method(std::string_view name);

// One quantised adder layer.
struct AdderLayerQuant {
  int bits = 8;
  float input_range = 1;            // alpha
  std::vector<int> group;           // per output channel: its group, 0..groups-1 ascending in max |w|
  std::vector<float> group_scale;   // per group: s_g
  std::vector<float> bias;          // per output channel: -sum over its kernel of max(|w| - s_g, 0)

  int groups() const { return static_cast<int>(group_scale.size()); }
  // The largest activation code, 2^bits - 1; the step of group g is group_scale[g] / levels().
  int levels() const { return (1 << bits) - 1; }
};

// The largest bit width the codes take: 2 q and a stay within 16 bits.
constexpr int kMaxAdderBits = 15;

// The quantisation of weights w [out_channels][taps] for inputs of range `input_range`: `groups` k-means
// groups seeded by `seed` (redistribution; fewer when the kernels' max |w| take fewer distinct values),
// or one (shared-scale). Throws std::invalid_argument for bits outside 2..kMaxAdderBits, groups < 1, an
// input range that is not positive and finite, or a weight that is not finite.
AdderLayerQuant plan_adder_quant(const float* w, int64_t out_channels, int64_t taps, float input_range, int bits,
                                 AdderPtqMethod method, int groups, uint64_t seed);

// Activation code: clip(round(x (2^b - 1) / s), 0, 2^b - 1), round half to even (as torch.round).
int32_t adder_act_code(float x, float scale, int bits);
// Weight code times two, in activation steps: 2 clip(round(w (2^b - 1) / (2 s)), -2^(b-1), 2^(b-1) - 1).
// Weights beyond the scale land on the end codes (the lossless clamp takes them there first).
int32_t adder_weight_code(float w, float scale, int bits);

// The official calibration's outlier clamp on one batch: the element of the ascending |x| at index
// int((round(n p) - 1) p) (p = 0.9997 in the official code, applied twice: about the 99.94th percentile;
// p = 1 gives max |x|). Throws std::invalid_argument for n = 0, p outside (0, 1] or a value that is not
// finite.
float abs_percentile(const float* x, size_t n, double p);

}  // namespace apot

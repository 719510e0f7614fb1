// The pieces a quantiser is composed of, as Brevitas composes scaling, bit width, rounding and clamp:
// the levels it projects onto, what its input becomes first, where its clipping threshold comes from and
// which gradients flow. qat/quantizers.inc names each quantiser's pieces; qat/weight_quant.cpp and
// qat/act_quant.cpp compose them around the clipping projection of paper Eq. 7,
//   out = denormalize(alpha * Proj(clip(normalize(x) / alpha))).
// Plain data, no LibTorch.
#pragma once

namespace apot::qat {

// What a quantiser quantises: a layer's weights, or its input activations (which follow a ReLU).
enum class Side { Weights, Activations };

// The level set at clipping threshold 1 (core/levels.h).
enum class Levels {
  Scheme,   // the configured scheme: uniform (Eq. 2), PoT (Eq. 3), APoT (Eq. 5, Eq. 6) with base
            // bit-width k, or Lloyd-Max levels fitted to the weights (activations then use APoT)
  Uniform,  // uniform whatever the scheme: the baselines bring their own
};

// Levels symmetric about 0 with a sign bit, or in [0, 1].
enum class Sign { Signed, Unsigned };

// What the input becomes before the projection, and the projection's output after it.
enum class Normalization {
  None,
  WeightNorm,  // paper Eq. 9: (W - mean) / (std + eps), switched off by QuantConfig::weight_norm
  Tanh,        // DoReFa (Zhou et al. 2016): tanh(W) / (2 max |tanh W|) + 1/2 in [0, 1]; back by 2 q - 1
};

// Where the clipping threshold alpha comes from.
enum class Threshold {
  Learned,  // a parameter (RCF, paper Eq. 7; PACT), started at the configured constant; one per output
            // channel where QuantConfig::per_channel asks
  LsqStep,  // LSQ's learned step s (Esser et al. 2020), kept as alpha = s Qp, started at 2 E|W| sqrt(Qp)
  MaxAbs,   // max |x| (no RCF, Table 3): nothing clipped
  Sawb,     // SAWB (Choi et al. 2018a): c1 sqrt(E[x^2]) - c2 E[|x|] (core/sawb.h)
  Unit,     // 1: the input is in [0, 1] already (DoReFa)
};

// Which gradients flow through the projection.
enum class Gradient {
  Rcf,   // paper Eq. 8 to alpha; straight through (STE) to weights, the clip's gradient to activations
  Pact,  // PACT (paper Appendix A.1, Eq. 11) to alpha: 1 where clipped above, 0 elsewhere
  Lsq,   // Eq. 8 to alpha scaled as LSQ scales its step's (Esser et al. 2020, section 2.2); the input's
         // gradient inside the range only
  Ste,   // straight through to the input; alpha is not learned
};

struct Pieces {
  Levels levels = Levels::Scheme;
  Sign sign = Sign::Signed;
  Normalization normalization = Normalization::None;
  Threshold threshold = Threshold::Learned;
  Gradient gradient = Gradient::Rcf;
};

// A learned threshold is a parameter of the layer; the others are computed on every forward pass.
constexpr bool is_learned(Threshold t) { return t == Threshold::Learned || t == Threshold::LsqStep; }

}  // namespace apot::qat

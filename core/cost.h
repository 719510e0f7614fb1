// Model size and FixOPs, the hardware columns of the paper's Table 1 and Table 3 (section 4.1).
//
// Section 4.1 counts operations with the bit-op scheme of Zhou et al. (2016): an m-bit by l-bit uniform
// multiply is m*l binary operations, and one FixOP is 64 of them (an 8-bit by 8-bit multiply). Its prose
// prices an APoT multiply at m*n shift-adds (n additive terms), but Table 1's numbers follow another
// rule; both are offered (CostRule) and docs/cost-model.md derives them. Everything here is per image.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/levels.h"
#include "core/network_spec.h"

namespace apot {

// Which reading of section 4.1 prices a quantised multiply (they agree on uniform and Lloyd layers).
enum class CostRule {
  Table,  // reproduces Table 1 / Table 3: APoT 3/4 of uniform's m*l, PoT 0.7 of it
  Prose,  // as the prose says: m*n for n additive terms (APoT, PoT), m*l for uniform
};

std::string_view to_string(CostRule rule);
CostRule parse_cost_rule(std::string_view name);  // "table" or "prose"; throws std::invalid_argument

// Bits at or above this are full precision: a multiply there is a FLOP, counted as one FixOP, as
// Table 1 does for its 32-bit rows and the baselines' 32-bit first and last layers.
constexpr int kFullPrecisionBits = 32;

struct CostOptions {
  Scheme scheme = Scheme::APoT;
  int weight_bits = 4;       // b, sign included: 2..8, or 32 for full precision
  int activation_bits = 4;   // unsigned: 2..8, or 32
  int first_last_bits = 8;   // the paper's 8 (section 4.1); 32 for Table 1's baseline rows
  CostRule rule = CostRule::Table;
};

// FixOPs of one multiply-accumulate with an l-bit weight of `scheme` and an m-bit activation. Throws
// std::invalid_argument for bits outside 2..8 (and not 32).
double fixops_per_mac(Scheme scheme, int weight_bits, int activation_bits, CostRule rule);

// What one layer costs under the options. The first and last layers are uniform at first_last_bits,
// weights and activations alike (section 4.1).
struct LayerCost {
  std::string name;
  Scheme scheme = Scheme::Uniform;
  int weight_bits = 0;
  int activation_bits = 0;
  int64_t macs = 0;
  double fixops = 0;
  int64_t weight_bits_total = 0;  // weight_count * weight_bits
  int64_t float_count = 0;        // 32-bit numbers the layer also stores: bias, BN, clipping thresholds
  int64_t size_bits() const { return weight_bits_total + 32 * float_count; }
};

struct ModelCost {
  std::vector<LayerCost> layers;
  int64_t macs = 0;
  double fixops = 0;
  int64_t size_bits = 0;

  double size_bytes() const { return static_cast<double>(size_bits) / 8; }
  // Table 1's "MB" are 2^20 bytes (docs/cost-model.md).
  double size_mb() const { return size_bytes() / (1 << 20); }
};

// Size and FixOPs of `net` (docs/cost-model.md lists every choice): weights at their precision; fc bias,
// BN weight, bias, running mean and running variance at 32 bits; per quantised layer its two clipping
// thresholds (weights and activations) at 32 bits, and a Lloyd layer its codebook too. Pooling,
// residual additions, ReLU and batch norm cost no FixOPs. Throws std::invalid_argument for bad bits.
ModelCost model_cost(const NetworkSpec& net, const CostOptions& options);

// Shift-adds that real weights need (beyond the paper, which prices the worst case): a weight costs one
// shift-add per nonzero additive term of its level (Level::exponents), once per output position, so
// zero weights and zero terms cost nothing.
struct ShiftAddCount {
  int64_t weights = 0;
  int64_t zero_weights = 0;
  int64_t terms = 0;                  // nonzero terms over all weights
  int64_t shift_adds = 0;             // terms * output positions
  int64_t worst_case_shift_adds = 0;  // every weight with the set's most terms, times output positions

  // Each shift-add moves and adds an m-bit activation: m binary operations, as the prose prices them.
  double fixops(int activation_bits) const { return static_cast<double>(shift_adds) * activation_bits / 64; }
  ShiftAddCount& operator+=(const ShiftAddCount& other);
};

// `level_indices` holds one index into set.levels() per weight of `layer`, in any order. Throws
// std::invalid_argument for a count other than layer.weight_count(), an index out of range, or a Lloyd
// set (its levels are no sums of powers of two); messages name the layer.
ShiftAddCount count_shift_adds(const LayerSpec& layer, const LevelSet& set, const std::vector<int>& level_indices);

// Arithmetic per image and its energy at 45 nm, as AdderNet compares adder networks with CNNs (Chen et
// al., CVPR 2020; Nie et al., NeurIPS 2022): a conv or linear layer does one multiply and one add into its
// accumulator per weight use, an adder layer one subtraction and one add (|.| is a sign, not counted).
// Energies per operation from Horowitz (ISSCC 2014), the table AdderNet cites: 32-bit float add 0.9 pJ,
// multiply 3.7 pJ; 32-bit int add 0.1 pJ, multiply 3.1 pJ; 8-bit int add 0.03 pJ, multiply 0.2 pJ.
// Operands of 2..8 bits are priced at the 8-bit figures, full precision at the float ones; a quantised
// layer accumulates in 32-bit integers, a float layer in float. Batch norm, pooling, ReLU and the
// residual additions are left out, as in the papers' counts.
struct OpEnergy {
  double add_pj = 0, multiply_pj = 0;
};
inline constexpr OpEnergy kFloat32Energy{0.9, 3.7};
inline constexpr OpEnergy kInt32Energy{0.1, 3.1};
inline constexpr OpEnergy kInt8Energy{0.03, 0.2};

struct LayerArithmetic {
  std::string name;
  bool adder = false;
  int bits = kFullPrecisionBits;  // of the operands
  int64_t multiplies = 0, adds = 0;
  double energy_pj = 0;
};

struct NetworkArithmetic {
  std::vector<LayerArithmetic> layers;
  int64_t multiplies = 0, adds = 0;
  double energy_pj = 0;
};

// The body's layers at `bits`, the first and the last at `edge_bits` (2..8, or 32). Throws
// std::invalid_argument for other bits.
NetworkArithmetic network_arithmetic(const NetworkSpec& net, int bits, int edge_bits);

}  // namespace apot

#include "core/cost.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace apot {

std::string_view to_string(CostRule rule) { return rule == CostRule::Table ? "table" : "prose"; }

CostRule parse_cost_rule(std::string_view name) {
  if (name == "table") return CostRule::Table;
  if (name == "prose") return CostRule::Prose;
  throw std::invalid_argument(fmt::format("unknown cost rule '{}': expected table or prose", name));
}

namespace {

constexpr double kBinaryOpsPerFixop = 64;  // an 8-bit by 8-bit uniform multiply (section 4.1)

// What Table 1 / Table 3 imply an APoT or PoT multiply costs, as a fraction of uniform's m*l: every
// APoT row of ResNet-18, -34 and -50 at 2..5 bits gives 0.75 (to 0.6%), the one PoT row (ResNet-18 5/5,
// Table 3) 0.70. The paper states neither (docs/cost-model.md).
double table_fraction_of_uniform(Scheme scheme) { return scheme == Scheme::APoT ? 0.75 : 0.70; }

bool is_full_precision(int bits) { return bits >= kFullPrecisionBits; }

void check_bits(const char* what, int bits) {
  if ((bits < 2 || bits > 8) && bits != kFullPrecisionBits) {
    throw std::invalid_argument(
        fmt::format("{} = {} is not supported: expected 2..8, or {} (full precision)", what, bits, kFullPrecisionBits));
  }
}

// Shift-adds per multiply in the prose's reading: one per additive term of the signed weight set, the
// sign being an add or a subtract (k = 2, Eq. 5 / Eq. 6; PoT has one term).
int additive_terms(Scheme scheme, int weight_bits) {
  return static_cast<int>(LevelSet::make(scheme, weight_bits, 0, /*is_signed=*/true).terms().size());
}

}  // namespace

double fixops_per_mac(Scheme scheme, int weight_bits, int activation_bits, CostRule rule) {
  check_bits("weight bits", weight_bits);
  check_bits("activation bits", activation_bits);
  // Full-precision multiplies and Lloyd's arbitrary levels are FLOPs; Table 1 and Table 3 count one
  // per multiply-accumulate ("for full precision models, the number in the column of FixOPs
  // indicates FLOPs", section 4.1).
  if (is_full_precision(weight_bits) || is_full_precision(activation_bits) || scheme == Scheme::Lloyd) return 1;
  const double m = activation_bits, l = weight_bits;
  double binary_ops = m * l;  // Zhou et al. (2016): uniform, under both rules
  if (scheme != Scheme::Uniform) {
    binary_ops = rule == CostRule::Table ? table_fraction_of_uniform(scheme) * m * l
                                         : m * additive_terms(scheme, weight_bits);
  }
  return binary_ops / kBinaryOpsPerFixop;
}

namespace {

LayerCost layer_cost(const LayerSpec& layer, const CostOptions& options) {
  LayerCost c;
  c.name = layer.name;
  if (layer.first_or_last) {
    c.scheme = Scheme::Uniform;
    c.weight_bits = c.activation_bits = options.first_last_bits;
  } else {
    c.scheme = options.scheme;
    c.weight_bits = options.weight_bits;
    c.activation_bits = options.activation_bits;
  }
  c.macs = layer.macs();
  c.fixops = static_cast<double>(c.macs) * fixops_per_mac(c.scheme, c.weight_bits, c.activation_bits, options.rule);
  c.weight_bits_total = layer.weight_count() * c.weight_bits;
  // Every other parameter (bias, BN weight and bias) and the BN running statistics stay float, as in the
  // state_dict: Table 1's sizes need all four BN vectors.
  c.float_count = layer.parameter_count() - layer.weight_count() + layer.bn_buffer_count();
  if (!layer.first_or_last) {
    // The reference's quantised layers store their clipping thresholds (wgt_alpha, act_alpha); its
    // 8-bit first and last layers scale by the tensor's max and store none.
    c.float_count += (is_full_precision(c.weight_bits) ? 0 : 1) + (is_full_precision(c.activation_bits) ? 0 : 1);
    if (c.scheme == Scheme::Lloyd && !is_full_precision(c.weight_bits)) {
      c.float_count += int64_t{1} << (c.weight_bits - 1);  // the fitted magnitudes of the signed set
    }
  }
  return c;
}

}  // namespace

ModelCost model_cost(const NetworkSpec& net, const CostOptions& options) {
  check_bits("weight bits", options.weight_bits);
  check_bits("activation bits", options.activation_bits);
  check_bits("first/last layer bits", options.first_last_bits);
  ModelCost total;
  for (const LayerSpec& layer : net.layers) {
    LayerCost c = layer_cost(layer, options);
    total.macs += c.macs;
    total.fixops += c.fixops;
    total.size_bits += c.size_bits();
    total.layers.push_back(std::move(c));
  }
  return total;
}

ShiftAddCount& ShiftAddCount::operator+=(const ShiftAddCount& other) {
  weights += other.weights;
  zero_weights += other.zero_weights;
  terms += other.terms;
  shift_adds += other.shift_adds;
  worst_case_shift_adds += other.worst_case_shift_adds;
  return *this;
}

ShiftAddCount count_shift_adds(const LayerSpec& layer, const LevelSet& set, const std::vector<int>& level_indices) {
  if (set.scheme() == Scheme::Lloyd) {
    throw std::invalid_argument(fmt::format(
        "{}: Lloyd levels are not sums of powers of two, so they have no shift-add cost", layer.name));
  }
  if (static_cast<int64_t>(level_indices.size()) != layer.weight_count()) {
    throw std::invalid_argument(fmt::format("{}: expected {} level indices (one per weight), got {}", layer.name,
                                            layer.weight_count(), level_indices.size()));
  }
  const std::vector<Level>& levels = set.levels();
  int64_t max_terms = 0;
  for (const Level& l : levels) max_terms = std::max<int64_t>(max_terms, static_cast<int64_t>(l.exponents.size()));

  ShiftAddCount count;
  count.weights = layer.weight_count();
  for (size_t i = 0; i < level_indices.size(); ++i) {
    const int index = level_indices[i];
    if (index < 0 || static_cast<size_t>(index) >= levels.size()) {
      throw std::invalid_argument(fmt::format("{}: level index {} of weight {} is out of range: {} has {} levels",
                                              layer.name, index, i, set.describe(), levels.size()));
    }
    const int64_t terms = static_cast<int64_t>(levels[static_cast<size_t>(index)].exponents.size());
    count.terms += terms;
    if (terms == 0) ++count.zero_weights;
  }
  count.shift_adds = count.terms * layer.output_positions();
  count.worst_case_shift_adds = count.weights * max_terms * layer.output_positions();
  return count;
}

NetworkArithmetic network_arithmetic(const NetworkSpec& net, int bits, int edge_bits) {
  check_bits("bits", bits);
  check_bits("first/last layer bits", edge_bits);
  NetworkArithmetic total;
  for (const LayerSpec& layer : net.layers) {
    LayerArithmetic a;
    a.name = layer.name;
    a.adder = layer.kind == LayerSpec::Adder;
    a.bits = layer.first_or_last ? edge_bits : bits;
    const bool full = is_full_precision(a.bits);
    const OpEnergy operand = full ? kFloat32Energy : kInt8Energy, accumulator = full ? kFloat32Energy : kInt32Energy;
    const int64_t uses = layer.macs();
    a.multiplies = a.adder ? 0 : uses;
    a.adds = a.adder ? 2 * uses : uses;
    a.energy_pj = static_cast<double>(uses) * ((a.adder ? operand.add_pj : operand.multiply_pj) + accumulator.add_pj);
    total.multiplies += a.multiplies;
    total.adds += a.adds;
    total.energy_pj += a.energy_pj;
    total.layers.push_back(std::move(a));
  }
  return total;
}

}  // namespace apot

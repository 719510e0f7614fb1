#include "core/cost.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace apot {
namespace {

NetworkSpec default_spec(const std::string& arch) {
  const InputShape in = default_input(arch);
  return network_spec(arch, in.channels, in.h, in.w, default_classes(arch));
}

// One row of the paper's hardware columns. Table 1's baselines (DoReFa, PACT, LQ-Net, QIL, ...) are
// uniform with 32-bit first and last layers; the APoT rows and Table 3's rows keep them at 8 bits.
struct PaperRow {
  const char* table;
  const char* arch;
  Scheme scheme;
  int bits;             // W = A
  int first_last_bits;
  double size_mb;       // as printed
  double fixops;        // as printed
  double mb = 1 << 20;  // bytes in the printed "MB"
};

constexpr double M = 1e6, G = 1e9;

std::vector<PaperRow> paper_rows() {
  std::vector<PaperRow> rows = {
      {"T1", "resnet18", Scheme::APoT, 5, 8, 7.22, 616 * M},
      {"T1", "resnet18", Scheme::APoT, 4, 8, 5.89, 437 * M},
      {"T1", "resnet18", Scheme::APoT, 3, 8, 4.56, 298 * M},
      {"T1", "resnet18", Scheme::APoT, 2, 8, 3.23, 198 * M},
      {"T1", "resnet34", Scheme::APoT, 5, 8, 13.3, 1.15 * G},
      {"T1", "resnet34", Scheme::APoT, 4, 8, 10.8, 784 * M},
      {"T1", "resnet34", Scheme::APoT, 3, 8, 8.23, 493 * M},
      {"T1", "resnet34", Scheme::APoT, 2, 8, 5.70, 285 * M},
      {"T1", "resnet50", Scheme::APoT, 5, 8, 16.3, 1.28 * G},
      {"T1", "resnet50", Scheme::APoT, 4, 8, 13.6, 866 * M},
      {"T1", "resnet50", Scheme::APoT, 3, 8, 10.8, 540 * M},
      {"T1", "resnet50", Scheme::APoT, 2, 8, 7.96, 308 * M},
      {"T1", "resnet18", Scheme::Uniform, 5, 32, 8.72, 781 * M},
      {"T1", "resnet18", Scheme::Uniform, 4, 32, 7.39, 542 * M},
      {"T1", "resnet18", Scheme::Uniform, 3, 32, 6.06, 357 * M},
      {"T1", "resnet18", Scheme::Uniform, 2, 32, 4.73, 225 * M},
      {"T1", "resnet34", Scheme::Uniform, 5, 32, 14.8, 1.50 * G},
      {"T1", "resnet34", Scheme::Uniform, 4, 32, 12.3, 1.00 * G},
      {"T1", "resnet34", Scheme::Uniform, 3, 32, 9.73, 618 * M},
      {"T1", "resnet34", Scheme::Uniform, 2, 32, 7.20, 340 * M},
      {"T1", "resnet50", Scheme::Uniform, 5, 32, 22.2, 1.67 * G},
      {"T1", "resnet50", Scheme::Uniform, 4, 32, 19.4, 1.11 * G},
      {"T1", "resnet50", Scheme::Uniform, 3, 32, 16.6, 680 * M},
      {"T1", "resnet50", Scheme::Uniform, 2, 32, 13.8, 370 * M},
      // Table 3 (ResNet-18 ablation): uniform and PoT with the paper's 8-bit first and last layers.
      {"T3", "resnet18", Scheme::Uniform, 5, 8, 7.22, 781 * M},
      {"T3", "resnet18", Scheme::Uniform, 3, 8, 4.56, 357 * M},
      {"T3", "resnet18", Scheme::PoT, 5, 8, 7.22, 582 * M},
      {"T3", "resnet18", Scheme::Lloyd, 5, 8, 7.22, 1.81 * G},
      {"T3", "resnet18", Scheme::Lloyd, 3, 8, 4.56, 1.81 * G},
      // Full precision: FixOPs are FLOPs (one per MAC). ResNet-18's 46.8 is the one size in 10^6 bytes.
      {"T1", "resnet18", Scheme::Uniform, 32, 32, 46.8, 1.82 * G, 1e6},
      {"T1", "resnet34", Scheme::Uniform, 32, 32, 83.2, 3.68 * G},
      {"T1", "resnet50", Scheme::Uniform, 32, 32, 97.5, 4.14 * G},
  };
  return rows;
}

CostOptions options_of(const PaperRow& row, CostRule rule) {
  CostOptions o;
  o.scheme = row.scheme;
  o.weight_bits = o.activation_bits = row.bits;
  o.first_last_bits = row.first_last_bits;
  o.rule = rule;
  return o;
}

// The acceptance test of docs/cost-model.md: the table rule reproduces every hardware number of Table 1
// (and Table 3's) within 3%; the prose rule is printed beside it to show where the two part.
TEST(Cost, ReproducesThePapersTables) {
  fmt::print("{:<5}{:<10}{:<8}{:>6}{:>4}  {:>8}{:>9}{:>7}  {:>9}{:>10}{:>7}  {:>10}\n", "tab", "arch", "scheme",
             "W/A", "F/L", "MB paper", "computed", "diff", "FixOPs", "computed", "diff", "prose rule");
  for (const PaperRow& row : paper_rows()) {
    const NetworkSpec net = default_spec(row.arch);
    const ModelCost table = model_cost(net, options_of(row, CostRule::Table));
    const ModelCost prose = model_cost(net, options_of(row, CostRule::Prose));
    const double size = table.size_bytes() / row.mb;
    const double size_diff = size / row.size_mb - 1;
    const double fixops_diff = table.fixops / row.fixops - 1;
    fmt::print("{:<5}{:<10}{:<8}{:>3}/{:<2}{:>4}  {:>8.3f}{:>9.3f}{:>+6.2f}%  {:>8.0f}M{:>9.1f}M{:>+6.2f}%  {:>9.1f}M\n",
               row.table, row.arch, to_string(row.scheme), row.bits, row.bits, row.first_last_bits, row.size_mb,
               size, 100 * size_diff, row.fixops / M, table.fixops / M, 100 * fixops_diff, prose.fixops / M);
    SCOPED_TRACE(fmt::format("{} {} {} {} bits", row.table, row.arch, to_string(row.scheme), row.bits));
    EXPECT_LT(std::abs(size_diff), 0.03);
    EXPECT_LT(std::abs(fixops_diff), 0.03);
    EXPECT_EQ(prose.size_bits, table.size_bits);  // the rules differ only in the price of a multiply
  }
}

// Under the prose rule the APoT rows are far below the table: the table is not m*n / 64.
TEST(Cost, ProseRuleIsNotTheTable) {
  CostOptions o;
  o.rule = CostRule::Prose;
  o.weight_bits = o.activation_bits = 4;
  const ModelCost prose = model_cost(default_spec("resnet18"), o);
  EXPECT_NEAR(prose.fixops / M, 330.5, 0.5);  // against 437M printed
}

TEST(Cost, FixopsPerMac) {
  for (CostRule rule : {CostRule::Table, CostRule::Prose}) {
    EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::Uniform, 8, 8, rule), 1.0);  // the definition of a FixOP
    EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::Uniform, 5, 3, rule), 15.0 / 64);
    EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::Uniform, 32, 32, rule), 1.0);  // a FLOP
    EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::APoT, 4, 32, rule), 1.0);
    EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::Lloyd, 4, 4, rule), 1.0);
  }
  // Table: 3/4 of uniform for APoT, 0.7 for PoT.
  EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::APoT, 4, 4, CostRule::Table), 12.0 / 64);
  EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::APoT, 5, 5, CostRule::Table), 18.75 / 64);
  EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::PoT, 5, 5, CostRule::Table), 17.5 / 64);
  // Prose: m times the additive terms of the signed set (k = 2): 1 sign bit, then Eq. 5 / Eq. 6.
  struct Case {
    int bits, terms;
  };
  for (const Case& c : {Case{2, 1}, Case{3, 1}, Case{4, 2}, Case{5, 2}, Case{6, 3}, Case{7, 3}, Case{8, 4}}) {
    EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::APoT, c.bits, 5, CostRule::Prose), 5.0 * c.terms / 64) << c.bits;
    EXPECT_DOUBLE_EQ(fixops_per_mac(Scheme::PoT, c.bits, 5, CostRule::Prose), 5.0 / 64) << c.bits;
  }
  EXPECT_THROW(fixops_per_mac(Scheme::APoT, 9, 4, CostRule::Table), std::invalid_argument);
  EXPECT_THROW(fixops_per_mac(Scheme::APoT, 4, 1, CostRule::Table), std::invalid_argument);
}

// Every number of the reference's 4-bit ResNet-20 state_dict (res20_4bit.pt: 274,082 of them besides
// num_batches_tracked) is counted once: weights at their bits, the rest as floats.
TEST(Cost, SizeCountsTheReferenceStateDict) {
  CostOptions o;
  const NetworkSpec net = default_spec("resnet20");
  const ModelCost cost = model_cost(net, o);
  int64_t numbers = 0, weights = 0, weight_bits = 0;
  for (size_t i = 0; i < net.layers.size(); ++i) {
    const int64_t w = net.layers[i].weight_count();
    numbers += w + cost.layers[i].float_count;
    weights += w;
    weight_bits += w * (net.layers[i].first_or_last ? 8 : 4);
  }
  EXPECT_EQ(numbers, 274'082);
  EXPECT_EQ(cost.size_bits, weight_bits + 32 * (numbers - weights));
  const LayerCost& fc = cost.layers.back();
  EXPECT_EQ(fc.name, "fc");
  EXPECT_EQ(fc.float_count, 10);  // the bias; 8-bit first/last layers store no threshold
  EXPECT_EQ(fc.weight_bits, 8);
  EXPECT_EQ(cost.layers[1].float_count, 4 * 16 + 2);  // BN's four vectors, wgt_alpha, act_alpha
}

TEST(Cost, LayersFollowTheOptions) {
  CostOptions o;
  o.scheme = Scheme::PoT;
  o.weight_bits = 3;
  o.activation_bits = 5;
  o.first_last_bits = 32;
  const ModelCost cost = model_cost(default_spec("resnet18"), o);
  for (const LayerCost& l : cost.layers) {
    const bool edge = l.name == "conv1" || l.name == "fc";
    EXPECT_EQ(l.scheme, edge ? Scheme::Uniform : Scheme::PoT) << l.name;
    EXPECT_EQ(l.weight_bits, edge ? 32 : 3) << l.name;
    EXPECT_EQ(l.activation_bits, edge ? 32 : 5) << l.name;
    EXPECT_DOUBLE_EQ(l.fixops, l.macs * (edge ? 1.0 : 0.7 * 15 / 64)) << l.name;
  }
  EXPECT_EQ(cost.macs, 1'814'073'344);
  o.first_last_bits = 16;
  EXPECT_THROW(model_cost(default_spec("resnet18"), o), std::invalid_argument);
}

TEST(Cost, CostRuleNames) {
  EXPECT_EQ(parse_cost_rule("table"), CostRule::Table);
  EXPECT_EQ(parse_cost_rule("prose"), CostRule::Prose);
  EXPECT_EQ(to_string(CostRule::Prose), "prose");
  EXPECT_THROW(parse_cost_rule("paper"), std::invalid_argument);
}

LayerSpec linear_layer(int in, int out) {
  LayerSpec l;
  l.name = "fc";
  l.kind = LayerSpec::Linear;
  l.in_channels = in;
  l.out_channels = out;
  return l;
}

// Index of the first level of `set` with `value`.
int index_of(const LevelSet& set, double value) {
  for (size_t i = 0; i < set.levels().size(); ++i) {
    if (set.levels()[i].value == value) return static_cast<int>(i);
  }
  throw std::logic_error("no such level");
}

// 4-bit signed APoT (k = 2): magnitudes have at most 2 terms (Eq. 6). 0 costs nothing, 1 = gamma (2^0 +
// 2^-1) costs 2, the smallest level one.
TEST(ShiftAdds, CountsNonzeroTermsOnly) {
  const LevelSet set = LevelSet::make(Scheme::APoT, 4, 0, true);
  const int zero = index_of(set, 0), one = index_of(set, 1), minus_one = index_of(set, -1);
  const int smallest = index_of(set, set.magnitudes()[1].value);
  ASSERT_EQ(set.levels()[static_cast<size_t>(smallest)].exponents.size(), 1u);
  const ShiftAddCount c = count_shift_adds(linear_layer(3, 2), set, {zero, one, minus_one, smallest, zero, one});
  EXPECT_EQ(c.weights, 6);
  EXPECT_EQ(c.zero_weights, 2);
  EXPECT_EQ(c.terms, 7);
  EXPECT_EQ(c.shift_adds, 7);
  EXPECT_EQ(c.worst_case_shift_adds, 12);
  EXPECT_DOUBLE_EQ(c.fixops(4), 7.0 * 4 / 64);

  ShiftAddCount sum = c;
  sum += c;
  EXPECT_EQ(sum.shift_adds, 14);
  EXPECT_EQ(sum.zero_weights, 4);
}

// A conv repeats each weight at every output position; with every weight at its set's largest level the
// count is the prose rule's worst case, term for term.
TEST(ShiftAdds, WorstCaseIsTheProseRule) {
  LayerSpec conv;
  conv.name = "layer1.0.conv1";
  conv.in_channels = 4;
  conv.out_channels = 8;
  conv.kernel_h = conv.kernel_w = 3;
  conv.out_h = 5;
  conv.out_w = 7;
  for (int bits = 2; bits <= 8; ++bits) {
    for (Scheme scheme : {Scheme::APoT, Scheme::PoT, Scheme::Uniform}) {
      const LevelSet set = LevelSet::make(scheme, bits, 0, true);
      const std::vector<int> indices(static_cast<size_t>(conv.weight_count()), index_of(set, 1));
      const ShiftAddCount c = count_shift_adds(conv, set, indices);
      EXPECT_EQ(c.shift_adds, c.worst_case_shift_adds);
      EXPECT_EQ(c.shift_adds, conv.macs() * static_cast<int64_t>(set.terms().size()));
      if (scheme != Scheme::Uniform) {  // uniform's prose price is the bit-op m*l, sign bit included
        EXPECT_DOUBLE_EQ(c.fixops(6), conv.macs() * fixops_per_mac(scheme, bits, 6, CostRule::Prose));
      }
    }
  }
}

TEST(ShiftAdds, RejectsBadInput) {
  const LevelSet set = LevelSet::make(Scheme::APoT, 3, 0, true);
  const LayerSpec fc = linear_layer(2, 1);
  EXPECT_THROW(count_shift_adds(fc, set, {0}), std::invalid_argument);
  EXPECT_THROW(count_shift_adds(fc, set, {0, static_cast<int>(set.levels().size())}), std::invalid_argument);
  EXPECT_THROW(count_shift_adds(fc, set, {-1, 0}), std::invalid_argument);
  const LevelSet lloyd = LevelSet::lloyd({0, 0.3, 0.6, 1}, 3, true);
  EXPECT_THROW(count_shift_adds(fc, lloyd, {0, 1}), std::invalid_argument);
  try {
    count_shift_adds(fc, set, {0, 9});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("fc: level index 9 of weight 1"), std::string::npos) << e.what();
  }
}

// AdderNet's counting: where the CNN multiplies and adds once per weight use, the adder layer adds twice
// (AdderNet's LeNet-5: 435K multiplies and 435K adds against 870K adds); the first conv and the 1x1 conv
// classifier still multiply. Energies are the Horowitz figures per operation.
TEST(Arithmetic, AdderLayersAddTwiceWhereConvolutionsMultiplyAndAdd) {
  const NetworkSpec adder = default_spec("adder-resnet20"), cnn = default_spec("resnet20");
  ASSERT_EQ(adder.layers.size(), cnn.layers.size());
  EXPECT_EQ(adder.parameter_count(), cnn.parameter_count() - 10 + 2 * 10);  // fc: no bias, BN over the logits
  for (int bits : {4, 32}) {
    const NetworkArithmetic a = network_arithmetic(adder, bits, 32), c = network_arithmetic(cnn, bits, 32);
    int64_t block_uses = 0;
    for (size_t i = 0; i < adder.layers.size(); ++i) {
      const LayerSpec& l = adder.layers[i];
      SCOPED_TRACE(l.name);
      EXPECT_EQ(l.macs(), cnn.layers[i].macs());
      const bool edge = i == 0 || i + 1 == adder.layers.size();
      EXPECT_EQ(l.kind, edge ? LayerSpec::Conv : LayerSpec::Adder);
      EXPECT_EQ(a.layers[i].adds, (edge ? 1 : 2) * l.macs());
      EXPECT_EQ(a.layers[i].multiplies, edge ? l.macs() : 0);
      const double per_use = edge ? 3.7 + 0.9 : bits == 32 ? 0.9 + 0.9 : 0.03 + 0.1;
      EXPECT_NEAR(a.layers[i].energy_pj, per_use * static_cast<double>(l.macs()), 1e-6 * a.layers[i].energy_pj);
      if (!edge) block_uses += l.macs();
    }
    EXPECT_EQ(a.adds, 2 * block_uses + adder.layers.front().macs() + adder.layers.back().macs());
    EXPECT_EQ(c.multiplies, cnn.macs());
    EXPECT_EQ(c.adds, cnn.macs());
  }
  // Full precision: 1.8 pJ per adder-layer use against 4.6 per multiply-accumulate.
  const double ratio = network_arithmetic(adder, 32, 32).energy_pj / network_arithmetic(cnn, 32, 32).energy_pj;
  EXPECT_GT(ratio, 1.8 / 4.6);
  EXPECT_LT(ratio, 1.8 / 4.6 + 0.02);
  EXPECT_THROW(network_arithmetic(adder, 9, 32), std::invalid_argument);
  EXPECT_THROW(network_arithmetic(adder, 4, 1), std::invalid_argument);
}

}  // namespace
}  // namespace apot

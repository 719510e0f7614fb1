#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/cli/run_apot.h"

namespace apot::test {
namespace {

// Table 1, APoT ResNet-18 4/4: 5.89 MB, 437M FixOPs.
TEST(CostCli, JsonReproducesTable1) {
  const auto j = run_apot_json("cost --arch resnet18 --bits 4 --scheme apot");
  EXPECT_NEAR(j["model_size_mb"].get<double>(), 5.89, 0.03 * 5.89);
  EXPECT_NEAR(j["fixops"].get<double>(), 437e6, 0.03 * 437e6);
  EXPECT_EQ(j["rule"], "table");
  EXPECT_EQ(j["input"], nlohmann::json::array({3, 224, 224}));
  EXPECT_EQ(j["classes"], 1000);
  EXPECT_EQ(j["parameters"], 11'689'512);
  ASSERT_EQ(j["layers"].size(), 21u);
  const auto& first = j["layers"][0];
  EXPECT_EQ(first["name"], "conv1");
  EXPECT_EQ(first["weight_bits"], 8);
  EXPECT_EQ(first["output"], nlohmann::json::array({112, 112}));
  EXPECT_EQ(j["layers"][1]["weight_bits"], 4);
  double fixops = 0;
  for (const auto& l : j["layers"]) fixops += l["fixops"].get<double>();
  EXPECT_NEAR(fixops, j["fixops"].get<double>(), 1);
}

// Table 1's uniform baselines keep the first and last layers at 32 bits: ResNet-50 2/2 is 13.8 MB, 370M.
TEST(CostCli, BaselineRowsAndRules) {
  const auto uniform = run_apot_json("cost --arch resnet50 --bits 2 --scheme uniform --first-last-bits 32");
  EXPECT_NEAR(uniform["model_size_mb"].get<double>(), 13.8, 0.03 * 13.8);
  EXPECT_NEAR(uniform["fixops"].get<double>(), 370e6, 0.03 * 370e6);
  const double table = run_apot_json("cost --arch resnet50 --bits 5")["fixops"];
  const double prose = run_apot_json("cost --arch resnet50 --bits 5 --rule prose")["fixops"];
  EXPECT_LT(prose, 0.6 * table);
  const auto mixed = run_apot_json("cost --arch resnet18 --bits 4 --act-bits 8");
  EXPECT_EQ(mixed["activation_bits"], 8);
  EXPECT_EQ(mixed["layers"][1]["activation_bits"], 8);
}

TEST(CostCli, CifarDefaultsAndOverrides) {
  const auto j = run_apot_json("cost --arch resnet20 --bits 3");
  EXPECT_EQ(j["input"], nlohmann::json::array({3, 32, 32}));
  EXPECT_EQ(j["classes"], 10);
  EXPECT_EQ(j["parameters"], 272'474);
  const auto big = run_apot_json("cost --arch resnet20 --bits 3 --input-shape 3x64x64 --classes 100");
  EXPECT_EQ(big["layers"].back()["out_channels"], 100);
  EXPECT_EQ(big["layers"][0]["output"], nlohmann::json::array({64, 64}));
}

TEST(CostCli, TableIsReadable) {
  const RunResult r = run_apot("cost --arch resnet18 --bits 5 --scheme uniform");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* expected : {"layer2.0.downsample.0", "conv 1x1/2 64->128", "linear 512->1000", "uniform 8/8",
                               "uniform 5/5", "model size: 7.22", "FixOPs: 780.8 M", "11689512 parameters"}) {
    EXPECT_NE(r.out.find(expected), std::string::npos) << expected << "\n" << r.out;
  }
}

TEST(CostCli, BadArgumentsGiveOneClearLine) {
  struct Case {
    std::string args, expected;
  };
  for (const Case& c : {Case{"--arch resnet19 --bits 4", "expected one of resnet20, resnet32"},
                        Case{"--arch resnet18 --bits 9", "--bits"},
                        Case{"--arch resnet18 --bits 4 --act-bits 1", "--act-bits"},
                        Case{"--arch resnet18 --bits 4 --first-last-bits 16", "--first-last-bits"},
                        Case{"--arch resnet18 --bits 4 --scheme foo", "--scheme"},
                        Case{"--arch resnet18 --bits 4 --rule paper", "--rule"},
                        Case{"--arch resnet18 --bits 4 --input-shape 3x224", "--input-shape: '3x224': expected CxHxW"},
                        Case{"--arch resnet18 --bits 4 --input-shape 3x0x224", "--input-shape: '3x0x224': expected CxHxW"},
                        Case{"--arch resnet18 --bits 4 --classes 0", "must be positive"},
                        Case{"--bits 4", "--arch"}}) {
    const RunResult r = run_apot("cost " + c.args);
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << c.args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << c.args;
    EXPECT_EQ(r.err.rfind("apot: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

// With --model the file says what the network is: the options that describe one are refused.
TEST(CostCli, ModelTakesNoNetworkOptions) {
  for (const char* flag : {"--rule prose", "--input-shape 1x28x28", "--classes 10", "--scheme pot", "--act-bits 4", "--bits 4"}) {
    const RunResult r = run_apot(std::string("cost --model m.apot ") + flag);
    EXPECT_EQ(r.exit_code, 1) << flag;
    EXPECT_NE(r.err.find("does not apply with --model"), std::string::npos) << flag << ": " << r.err;
  }
}

TEST(CostCli, AdderNetworkBesideItsCnn) {
  const auto j = run_apot_json("cost --arch adder-resnet20 --bits 8");
  EXPECT_EQ(j["bits"], 8);
  EXPECT_EQ(j["adder"]["arch"], "adder-resnet20");
  EXPECT_EQ(j["cnn"]["arch"], "resnet20");
  // The adder network multiplies only in its float first conv and classifier.
  const auto& layers = j["adder"]["layers"];
  ASSERT_EQ(layers.size(), 22u);  // conv1, 18 adder layers, 2 shortcuts, fc
  EXPECT_EQ(layers[0]["bits"], 32);
  EXPECT_EQ(layers[1]["kind"], "adder");
  EXPECT_EQ(layers[1]["bits"], 8);
  EXPECT_EQ(j["adder"]["multiplies"].get<int64_t>(), layers[0]["multiplies"].get<int64_t>() + layers[21]["multiplies"].get<int64_t>());
  EXPECT_LT(j["adder"]["energy_uj"].get<double>(), j["cnn"]["energy_uj"].get<double>());
  const RunResult table = run_apot("cost --arch adder-resnet20 --bits 4");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("energy adder-resnet20 / resnet20: "), std::string::npos) << table.out;
  const RunResult scheme = run_apot("cost --arch adder-resnet20 --bits 4 --scheme pot");
  EXPECT_EQ(scheme.exit_code, 1);
  EXPECT_NE(scheme.err.find("--scheme does not apply to adder-resnet20"), std::string::npos) << scheme.err;
}

}  // namespace
}  // namespace apot::test
